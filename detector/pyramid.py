"""Scale pyramids sized to the plates a camera can show."""

from __future__ import annotations

import cv2
import numpy as np

from detector.spec import ScanSpec
from detector.types import Level


def pyramid_scales(spec: ScanSpec, window_width: int) -> list[float]:
    """Scales at which plates from ``min_plate_width`` to ``max_plate_width`` fill the window as trained.

    Args:
        spec: Plate widths and levels per octave.
        window_width: Window width in pixels.

    Returns:
        Scales, largest (small plates) first.
    """
    target = spec.plate_width_in_window * window_width
    largest, smallest = target / spec.min_plate_width, target / spec.max_plate_width
    steps = int(np.floor(np.log2(largest / smallest) * spec.scales_per_octave + 1e-9))
    return [largest * 2 ** (-i / spec.scales_per_octave) for i in range(steps + 1)]


AREA_BELOW = 0.7
"""Levels smaller than this share of the frame are made by area averaging, as the training windows were shrunk
(no aliasing); larger ones by bilinear interpolation."""


def halving_sources(scales: list[float]) -> list[int | None]:
    """For each scale, the index of the scale exactly twice it that its level is made from by halving, or None.

    Halving (2x2 area averaging) is several times faster than area-resizing the frame by a fraction, and gives
    nearly the same pixels. Only area-averaged levels (below :data:`AREA_BELOW`) are made so; the rest come from the
    frame.

    Args:
        scales: Scales from :func:`pyramid_scales`, largest first.

    Returns:
        One entry per scale; a source always comes before the level it makes.
    """
    return [next((j for j in range(i) if abs(scales[j] - 2 * scale) <= 1e-9 * scale), None) if scale < AREA_BELOW
            else None for i, scale in enumerate(scales)]


def build_level(gray: np.ndarray, scale: float, window_shape: tuple[int, int], above: np.ndarray | None = None
                ) -> Level | None:
    """Resizes a frame to one scale.

    Args:
        gray: ``(H, W)`` uint8 frame.
        scale: Level pixels per frame pixel.
        window_shape: ``(height, width)`` of a window.
        above: The level at twice ``scale`` (:func:`halving_sources`), halved instead of resizing the frame; its
            odd last row or column is left out.

    Returns:
        The level, or None where it would be smaller than one window.
    """
    w, h = round(gray.shape[1] * scale), round(gray.shape[0] * scale)
    if above is not None:
        h, w = above.shape[0] // 2, above.shape[1] // 2
    if h < window_shape[0] or w < window_shape[1]:
        return None
    if above is not None:
        return Level(scale, cv2.resize(above[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA))
    if (w, h) == (gray.shape[1], gray.shape[0]):
        return Level(scale, gray)
    # area averaging keeps strong reductions free of aliasing, as in the training windows
    return Level(scale, cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if scale < AREA_BELOW else cv2.INTER_LINEAR))


def build_pyramid(gray: np.ndarray, scales: list[float], window_shape: tuple[int, int]) -> list[Level]:
    """Resizes a frame to each scale, leaving out levels smaller than one window.

    Args:
        gray: ``(H, W)`` uint8 frame.
        scales: Scales from :func:`pyramid_scales`.
        window_shape: ``(height, width)`` of a window.

    Returns:
        The levels, each made as the scanner makes it (:func:`halving_sources`).
    """
    built: list[Level | None] = []
    for scale, source in zip(scales, halving_sources(scales)):
        if source is None:
            built.append(build_level(gray, scale, window_shape))
        else:
            above = built[source]
            built.append(None if above is None else build_level(gray, scale, window_shape, above.image))
    return [level for level in built if level is not None]
