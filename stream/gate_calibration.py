"""What a gate's thresholds keep and pass on real footage: the figures ``scan.gate_threshold`` and
``scan.stream_gate_threshold`` are chosen from (``anpr calibrate-gate``).

For each labelled photo set with plate boxes: the share of its plates that some window holding the plate, as a
scan would see it, scores above each threshold (a plate below in every such window is lost to the plate network).
For each clip: the share of all gate windows, over every pyramid level of every ``scan.full_scan_every``-th frame,
that score above it (what the plate network is then run near).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.pyramid import build_level, build_pyramid, pyramid_scales
from detector.spec import ScanSpec
from detector.types import GateImage
from recognizer.realdata import load_manifest
from stream.bench import clip_of
from stream.stills import labelled_sets

THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998)
"""Thresholds the tables show."""

SCALE_SPREAD = 2 ** (1 / 8)
"""A plate is looked at its own scale and this factor either side: a pyramid of four levels an octave has one
within an eighth of an octave of any plate."""

@dataclass(frozen=True)
class GateCalibration:
    """One set's figures.

    Attributes:
        name: The set's folder name.
        kind: ``plates`` (a photo set: shares of its labelled plates kept) or ``windows`` (a clip: shares of
            its gate windows passed).
        items: Plates, or windows.
        shares: One share per threshold of :data:`THRESHOLDS`.
    """

    name: str
    kind: str
    items: int
    shares: tuple[float, ...]


def plate_score(gate: GateImage, gray: np.ndarray, box: tuple[int, int, int, int], window_shape: tuple[int, int],
                stride: int, plate_width_in_window: float) -> float:
    """The gate's best score of a window that holds a plate wholly, with the plate about ``plate_width_in_window``
    of its width, as the pyramid levels nearest the plate's width show it.

    Args:
        gate: The gate.
        gray: ``(H, W)`` uint8 photo.
        box: ``(x, y, w, h)`` of the plate, photo pixels.
        window_shape: ``(height, width)`` of a window.
        stride: Pixels between the gate's windows.
        plate_width_in_window: Share of the window's width a level's scale gives a plate.

    Returns:
        The highest score, 0 where no window at those scales holds the plate.
    """
    x, y, w, h = box
    (wh, ww), best = window_shape, 0.0
    for factor in (1 / SCALE_SPREAD, 1.0, SCALE_SPREAD):
        scale = plate_width_in_window * ww / max(w, 1) * factor
        margin_x, margin_y = 1.5 * ww / scale, 1.5 * wh / scale  # room for every window that can hold the plate
        x0, y0 = int(max(0, x - margin_x)), int(max(0, y - margin_y))
        x1, y1 = int(min(gray.shape[1], x + w + margin_x)), int(min(gray.shape[0], y + h + margin_y))
        level = build_level(gray[y0:y1, x0:x1], scale, window_shape)
        if level is None:
            continue
        scores = gate(level.image)
        rows, cols = np.mgrid[: scores.shape[0], : scores.shape[1]] * stride
        px, py, pw, ph = (x - x0) * scale, (y - y0) * scale, w * scale, h * scale
        holds = (cols <= px) & (px + pw <= cols + ww) & (rows <= py) & (py + ph <= rows + wh)
        if holds.any():
            best = max(best, float(scores[holds].max()))
    return best


def _gray(path: Path) -> np.ndarray:
    """``(H, W)`` uint8 photo.

    Raises:
        FileNotFoundError: If it cannot be read.
    """
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return gray


def above(scores: np.ndarray, thresholds: tuple[float, ...] = THRESHOLDS) -> tuple[float, ...]:
    """Share of ``(N,)`` scores above each threshold (0 for none)."""
    scores = np.asarray(scores, np.float64).reshape(-1)
    return tuple(float(np.mean(scores > t)) if len(scores) else 0.0 for t in thresholds)


def calibrate(path: Path, gate: GateImage, stride: int, scan: ScanSpec, window_shape: tuple[int, int]
              ) -> Iterator[GateCalibration]:
    """The figures of every labelled set at a path (:func:`~stream.stills.labelled_sets`), one set at a time;
    photo sets without plate boxes (crops) are left out.

    Args:
        path: A ``manifest.csv``, a set's folder or a folder of sets.
        gate: The gate.
        stride: Pixels between its windows.
        scan: A stream's scan settings: its plate widths make a clip's pyramid, ``full_scan_every`` the frames
            sampled.
        window_shape: ``(height, width)`` of a window.
    """
    for folder in labelled_sets(path):
        if (folder / "manifest.csv").is_file():
            plates = [row for row in load_manifest(folder / "manifest.csv") if row.box is not None]
            if not plates:
                continue
            scores = [plate_score(gate, _gray(row.path), row.box, window_shape, stride, scan.plate_width_in_window)
                      for row in plates]
            yield GateCalibration(folder.name, "plates", len(plates), above(np.array(scores)))
            continue
        scales = pyramid_scales(scan, window_shape[1])
        capture, windows, index = cv2.VideoCapture(str(clip_of(folder).video)), [], 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                if index % scan.full_scan_every == 0:
                    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                    windows += [gate(level.image).reshape(-1) for level in build_pyramid(gray, scales, window_shape)]
                index += 1
        finally:
            capture.release()
        passed = np.concatenate(windows) if windows else np.zeros(0)
        yield GateCalibration(folder.name, "windows", len(passed), above(passed))
