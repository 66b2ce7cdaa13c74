"""Labelled real photos (validation only): manifests and plate crops as network windows."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.fill import pad_flat
from detector.voting import plurality
from recognizer.decode import FormatCheck, decode
from recognizer.engine import PlateNetwork
from recognizer.spec import ModelSpec

CROP_PLATE_WIDTHS = (0.62, 0.66, 0.7, 0.74, 0.78)
"""Plate widths, as shares of the window width, at which a plate crop is tried."""


@dataclass(frozen=True)
class LabelledPlate:
    """One row of a ``manifest.csv``.

    Attributes:
        path: Image file.
        text: Plate text, uppercase ``[A-Z0-9]``.
        box: ``(x, y, w, h)`` of the plate in pixels, or None when unknown (crop sets).
    """

    path: Path
    text: str
    box: tuple[int, int, int, int] | None


def load_manifest(manifest: Path) -> list[LabelledPlate]:
    """Reads a manifest with columns ``file,plate_text,x,y,w,h,...``.

    Args:
        manifest: The CSV file; image paths are relative to its folder.

    Returns:
        One entry per plate, in file order.

    Raises:
        FileNotFoundError: If the manifest does not exist.
        ValueError: If a required column is missing.
    """
    if not manifest.is_file():
        raise FileNotFoundError(f"manifest not found: {manifest}")
    rows = []
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "plate_text"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{manifest}: missing columns {sorted(missing)}")
        for row in reader:
            box = None
            if all(row.get(k) for k in ("x", "y", "w", "h")):
                box = (int(float(row["x"])), int(float(row["y"])), int(float(row["w"])), int(float(row["h"])))
            rows.append(LabelledPlate(manifest.parent / row["file"], row["plate_text"].strip().upper(), box))
    return rows


@dataclass(frozen=True)
class Placement:
    """Where one window of :func:`plate_in_windows` lies on its crop.

    Attributes:
        scale: Window pixels per crop pixel.
        left: Column of the window's left edge in the crop resized by ``scale`` (negative: in the fill around it).
        top: Row of the window's top edge in that resized crop.
    """

    scale: float
    left: int
    top: int

    def crop_box(self, box: np.ndarray, window_shape: tuple[int, int]) -> tuple[float, float, float, float]:
        """A box in the window, ``(4,)`` ``[x0, y0, x1, y1]`` as shares of its width and height, as ``(x, y, w, h)``
        in the crop's pixels."""
        wh, ww = window_shape
        x0, y0, x1, y1 = (float(v) for v in box)
        return ((x0 * ww + self.left) / self.scale, (y0 * wh + self.top) / self.scale, (x1 - x0) * ww / self.scale,
                (y1 - y0) * wh / self.scale)


def window_placements(shape: tuple[int, int], model: ModelSpec, shares: tuple[float, ...] = CROP_PLATE_WIDTHS,
                      shifts: tuple[float, ...] = (0.0,), plate_share: float = 0.85) -> list[Placement]:
    """Where :func:`plate_in_windows` places each window on a crop of this ``(h, w)`` shape, share by share."""
    wh, ww = model.window_shape
    placements = []
    for share in shares:
        scale = share * ww / (plate_share * shape[1])
        w, h = max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale))
        left = (w + 2 * ww) // 2 - ww // 2 - ww
        placements += [Placement(scale, left, (h + 2 * wh) // 2 - wh // 2 + round(shift * wh) - wh) for shift in shifts]
    return placements


def plate_in_windows(gray: np.ndarray, model: ModelSpec, shares: tuple[float, ...] = CROP_PLATE_WIDTHS,
                     shifts: tuple[float, ...] = (0.0,), plate_share: float = 0.85) -> np.ndarray:
    """Places a plate crop in windows at each plate width and vertical offset, as the scanner re-reads a candidate
    (:func:`detector.scanner.centred_windows`).

    Args:
        gray: ``(h, w)`` uint8 crop whose plate spans about ``plate_share`` of its width.
        model: Window size.
        shares: ``S`` plate widths as shares of the window width.
        shifts: ``V`` vertical offsets of each window's centre from the crop's, as shares of the window height.
        plate_share: Share of the crop's width the plate takes.

    Returns:
        ``(S * V, H, W)`` uint8 windows, share by share, the crop centred on a flat fill (:func:`pad_flat`)
        (:func:`window_placements` says where).
    """
    wh, ww = model.window_shape
    placements = window_placements(gray.shape[:2], model, shares, shifts, plate_share)
    out = np.empty((len(placements), wh, ww), np.uint8)
    for i, place in enumerate(placements):
        if i % len(shifts) == 0:
            w, h = max(1, round(gray.shape[1] * place.scale)), max(1, round(gray.shape[0] * place.scale))
            resized = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if place.scale < 1 else cv2.INTER_LINEAR)
            canvas = pad_flat(resized, wh, wh, ww, ww)
        out[i] = canvas[place.top + wh : place.top + 2 * wh, place.left + ww : place.left + 2 * ww]
    return out


@dataclass(frozen=True)
class CropReading:
    """What the windows of one plate crop read, voted.

    Attributes:
        text: The text with the largest total presence among the windows (ties: the first).
        confidence: Probability of that text in the most present window that read it.
        presence: Largest presence among the windows that read it.
        chars: ``(P, C)`` character probabilities of that window.
        box: ``(x, y, w, h)`` of the plate in the crop's pixels, as that window's box head places it.
        plate_format: Name of the configured format the text fits, or None.
    """

    text: str
    confidence: float
    presence: float
    chars: np.ndarray
    box: tuple[float, float, float, float]
    plate_format: str | None = None


def read_crops(network: PlateNetwork, grays: list[np.ndarray], model: ModelSpec, check: FormatCheck = FormatCheck(),
               shares: tuple[float, ...] = CROP_PLATE_WIDTHS, shifts: tuple[float, ...] = (0.0,),
               batch_size: int = 256) -> list[str]:
    """The texts of :func:`crop_readings`: one per crop."""
    return [r.text for r in crop_readings(network, grays, model, check, shares, shifts, batch_size)]


def crop_readings(network: PlateNetwork, grays: list[np.ndarray], model: ModelSpec,
                  check: FormatCheck = FormatCheck(), shares: tuple[float, ...] = CROP_PLATE_WIDTHS,
                  shifts: tuple[float, ...] = (0.0,), batch_size: int = 256) -> list[CropReading]:
    """Reads plate crops with the window network alone, its windows scored in large batches: the windows of
    :func:`plate_in_windows` vote, weighted by presence.

    Args:
        network: The plate network.
        grays: ``(h, w)`` uint8 crops.
        model: Window spec and alphabet.
        check: Plate formats that may constrain each window's reading.
        shares: Plate widths of the windows, as shares of the window width.
        shifts: Vertical offsets of the windows, as shares of the window height.
        batch_size: Windows per network call.

    Returns:
        One reading per crop.
    """
    if not grays:
        return []
    per_crop = len(shares) * len(shifts)
    step = max(per_crop, batch_size - batch_size % per_crop)
    windows = np.concatenate([plate_in_windows(g, model, shares, shifts) for g in grays])
    placements = [window_placements(g.shape[:2], model, shares, shifts) for g in grays]
    readings = []
    for start in range(0, len(windows), step):
        scores = network.predict_windows(windows[start : start + step])
        chars = scores.chars_at(np.arange(len(scores.presence)))
        decoded = [decode(c, model, check) for c in chars]
        for first in range(0, len(decoded), per_crop):
            crop = slice(first, first + per_crop)
            presence = scores.presence[crop]
            text = vote_text([d.text for d in decoded[crop]], presence)
            best = max((i for i in range(first, first + len(presence)) if decoded[i].text == text),
                       key=lambda i: scores.presence[i])
            place = placements[(start + first) // per_crop][best - first]
            box = place.crop_box(scores.boxes[best], model.window_shape)
            readings.append(CropReading(text, decoded[best].confidence, float(scores.presence[best]), chars[best], box,
                                        decoded[best].plate_format))
    return readings


def vote_text(texts: list[str], weights: np.ndarray) -> str:
    """The text with the largest total weight (ties: the first), e.g. reads of one plate at several scales."""
    return texts[int(plurality(np.array(texts), weights).argmax())]


def load_clip_truth(truth: Path) -> list[str]:
    """The plates of a labelled real clip: the ``plate_text`` column of its ``truth.csv`` (one row per plate,
    ``file,plate_text,seen_at_seconds,note``).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it has no ``plate_text`` column.
    """
    if not truth.is_file():
        raise FileNotFoundError(f"truth not found: {truth}")
    with truth.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if "plate_text" not in (reader.fieldnames or []):
            raise ValueError(f"{truth}: missing column plate_text")
        return [row["plate_text"].strip().upper() for row in reader]
