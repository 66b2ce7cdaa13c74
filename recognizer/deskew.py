"""Levelling a turned plate, and standing its characters upright, before the crop reader reads it.

A plate photographed at an angle, or on a camera that is not level, lies turned in the frame: its box (axis-aligned)
holds it with room above and below, and the reader sees slanted characters (a ``T`` read as ``7``). The plate's
roll is measured from its long straight edges (its borders, the rows of characters), and the crop is cut along it.
A plate seen from the side is sheared as well as turned (its long edges slope, its characters' upright strokes do
not, or less): the slant left in a crop is measured from those strokes (:func:`plate_slant`) and cut away too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

EDGE_WIDTH = 256
"""Width in pixels the region around a box is resized to before its edges are looked for."""
MIN_EDGE_SHARE = 0.4
"""Shortest straight edge that counts, as a share of that width."""
SLANT_STEP = 0.025
"""Resolution of a measured slant (pixels across per pixel down)."""
STROKE_SHARE = 0.2
"""Share of a crop's pixels, those of the strongest gradient, whose edges measure its slant."""


@dataclass(frozen=True)
class Pose:
    """How a plate lies in its crop.

    Attributes:
        roll: Degrees it is turned (:func:`plate_roll`); 0: cut as its box lies.
        slant: Shear that stands its characters upright, in the frame (once turned level): pixels across per pixel
            down about the plate's middle row.
    """

    roll: float = 0.0
    slant: float = 0.0


def plate_roll(gray: np.ndarray, box: tuple[float, float, float, float], max_degrees: float) -> float:
    """How far a plate is turned: the length-weighted median angle of the long straight edges around its box.

    Args:
        gray: ``(H, W)`` uint8 frame.
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        max_degrees: Edges turned further than this are not the plate's.

    Returns:
        Degrees, positive where the plate's edges fall to the right (clockwise as seen); 0 where no long straight
        edge is found.
    """
    x, y, w, h = box
    x0, x1 = int(max(0, x - 0.05 * w)), int(min(gray.shape[1], x + 1.05 * w))
    y0, y1 = int(max(0, y - 0.05 * h)), int(min(gray.shape[0], y + 1.05 * h))
    region = gray[y0:y1, x0:x1]
    if region.shape[0] < 4 or region.shape[1] < 16:
        return 0.0
    scale = EDGE_WIDTH / region.shape[1]
    small = cv2.resize(region, (EDGE_WIDTH, max(8, round(region.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(cv2.GaussianBlur(small, (3, 3), 0), 50, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=40, minLineLength=round(MIN_EDGE_SHARE * EDGE_WIDTH),
                            maxLineGap=8)
    if lines is None:
        return 0.0
    x_a, y_a, x_b, y_b = lines.reshape(-1, 4).astype(np.float64).T
    angles = (np.degrees(np.arctan2(y_b - y_a, x_b - x_a)) + 90.0) % 180.0 - 90.0
    lengths = np.hypot(x_b - x_a, y_b - y_a)
    near = np.abs(angles) <= max_degrees
    if not near.any():
        return 0.0
    order = np.argsort(angles[near])
    angles, lengths = angles[near][order], lengths[near][order]
    return float(angles[np.searchsorted(np.cumsum(lengths), lengths.sum() / 2)])


def unturned_size(width: float, height: float, degrees: float) -> tuple[float, float]:
    """The size of a rectangle turned by ``degrees`` whose axis-aligned box is ``width`` x ``height``.

    A rectangle ``W`` x ``H`` turned by ``a`` has the box ``W cos a + H sin a`` by ``W sin a + H cos a``; this
    solves that for ``W`` and ``H``. Where the box is too flat for the angle (no such rectangle, or one under a
    fifth as high as wide), the height is a fifth of the width, and the width at least ``width cos a``.

    Args:
        width: Box width.
        height: Box height.
        degrees: Turn, under 45 degrees either way.

    Returns:
        ``(W, H)``.
    """
    a = math.radians(abs(degrees))
    c, s, c2 = math.cos(a), math.sin(a), math.cos(2 * a)
    w, h = (width * c - height * s) / c2, (height * c - width * s) / c2
    if w <= 0 or h < 0.2 * w:
        w = max(w, width * c)
        h = max(h, 0.2 * w)
    return w, h


def plate_slant(crop: np.ndarray, max_slant: float) -> float:
    """The shear that stands a crop's characters upright.

    Every edge pixel among the crop's strongest gradients leans by ``-gy / gx`` (pixels across per pixel down; 0 for
    an upright stroke). The gradient-weighted histogram of those leans, smoothed, peaks at the lean of the plate's
    upright strokes, which outnumber its diagonal ones (those of ``7``, ``Z``, ``A``) in every plate typeface.

    Args:
        crop: ``(h, w)`` uint8 crop of a plate, cut level.
        max_slant: Leans beyond this either way are not counted.

    Returns:
        The shear to apply (pixels across per pixel down, the opposite of the measured lean); 0 where the crop has
        too few edges.
    """
    image = crop.astype(np.float32)
    gx, gy = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    strong = (magnitude >= np.quantile(magnitude, 1.0 - STROKE_SHARE)) & (np.abs(gx) > 1e-3)
    lean = -gy[strong] / gx[strong]
    near = np.abs(lean) <= max_slant
    if near.sum() < 20:
        return 0.0
    steps = int(round(max_slant / SLANT_STEP))
    reach = (steps + 0.5) * SLANT_STEP
    hist, _ = np.histogram(lean[near], bins=2 * steps + 1, range=(-reach, reach), weights=magnitude[strong][near])
    hist = np.convolve(hist, [1.0, 2.0, 3.0, 2.0, 1.0], mode="same")
    return -float((int(hist.argmax()) - steps) * SLANT_STEP)


def level_cut(gray: np.ndarray, box: tuple[float, float, float, float], degrees: float, margin_x: float,
              margin_y: float, height: int, width: int, slant: float = 0.0,
              widen: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The plate in ``box`` turned level by ``degrees`` about the box's centre and sheared by ``slant``, with the
    margins, resized.

    Args:
        gray: ``(H, W)`` uint8 frame.
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        degrees: The plate's roll (:func:`plate_roll`).
        margin_x: Share of the plate's width added on each side.
        margin_y: Share of its height added above and below.
        height: Crop height.
        width: Crop width.
        slant: Shear about the plate's middle row once turned level, frame pixels across per pixel down
            (:class:`Pose`).
        widen: Shares of the plate's width added to the cut on its left and on its right, beyond ``margin_x``.

    Returns:
        ``(height, width)`` uint8 crop (the neighbourhood's median gray beyond the frame).
    """
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    plate_w, plate_h = unturned_size(w, h, degrees)
    cut_w, cut_h = plate_w * (1 + 2 * margin_x + sum(widen)), plate_h * (1 + 2 * margin_y)
    shift = plate_w * (widen[1] - widen[0]) / 2  # of the cut's centre along the levelled plate, frame pixels
    sx, sy = width / cut_w, height / cut_h
    # Shrink the neighbourhood by area first where the crop is much smaller, so that the turn never aliases.
    reach = 0.75 * max(cut_w, w, h) + 2
    x0, y0 = int(max(0, cx - reach)), int(max(0, cy - reach))
    x1, y1 = int(min(gray.shape[1], cx + reach)), int(min(gray.shape[0], cy + reach))
    part = gray[y0:y1, x0:x1]
    shrink = min(1.0, 1.5 * max(sx, sy))
    if shrink < 1.0:
        size = (max(2, round(part.shape[1] * shrink)), max(2, round(part.shape[0] * shrink)))
        part = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
    kx, ky = part.shape[1] / max(1, x1 - x0), part.shape[0] / max(1, y1 - y0)
    px, py = (cx - x0) * kx, (cy - y0) * ky
    turn = np.vstack([cv2.getRotationMatrix2D((px, py), degrees, 1.0), [0.0, 0.0, 1.0]])
    fx, fy = sx / kx, sy / ky
    fit = np.array([[fx, slant * fx, width / 2 - fx * (px + shift * kx) - slant * fx * py],
                    [0.0, fy, height / 2 - fy * py]])
    return cv2.warpAffine(part, fit @ turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=float(np.median(part)))
