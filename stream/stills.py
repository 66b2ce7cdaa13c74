"""Reading plates in still images, and scoring reads against labelled manifests (``anpr read``, ``anpr eval``)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from detector.geometry import iou
from detector.scanner import Scanner
from recognizer.decode import FormatCheck, decode, o0_equal
from recognizer.engine import PlateNetwork
from recognizer.realdata import load_manifest, read_crop
from recognizer.spec import ModelSpec

log = logging.getLogger(__name__)

FOUND_IOU = 0.4
"""Least overlap between a read's box and the labelled box for the plate to count as found."""


@dataclass(frozen=True)
class StillPlate:
    """A plate read in a still image.

    Attributes:
        text: Plate text.
        confidence: Probability of the text.
        presence: Presence probability.
        box: ``(x, y, w, h)`` in pixels.
    """

    text: str
    confidence: float
    presence: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class EvalReport:
    """Scores of reads against a manifest.

    Attributes:
        plates: Labelled plates scored.
        exact: Share read exactly.
        exact_o0: Share read exactly with O/0 and I/1 taken as equal.
        found: Share found (a read box overlapping the label by ``FOUND_IOU``; None for crop sets).
        ms_per_image: Median milliseconds per image.
    """

    plates: int
    exact: float
    exact_o0: float
    found: float | None
    ms_per_image: float


def read_image(scanner: Scanner, gray: np.ndarray, model: ModelSpec, check: FormatCheck) -> list[StillPlate]:
    """All plates found in one grayscale image, most confident first (readings shorter than ``check.min_length``
    left out).

    Args:
        scanner: The plate scanner.
        gray: ``(H, W)`` uint8 image.
        model: Alphabet.
        check: Plate formats to flag reads with, and whether they constrain the reading.
    """
    plates = []
    for candidate in scanner.scan(gray):
        reading = decode(candidate.chars, model, check)
        if len(reading.text) < check.min_length:
            continue
        plates.append(StillPlate(reading.text, reading.confidence, candidate.presence, candidate.box))
    return plates


def evaluate(manifest: Path, scanner: Scanner, network: PlateNetwork, model: ModelSpec,
             check: FormatCheck, lengths: tuple[int, int] | None = None, limit: int | None = None) -> EvalReport:
    """Scores reads against a labelled manifest.

    Sets with plate boxes are scored end to end (find, then read the plate found at the label's box); crop
    sets without boxes are scored with the reader alone, from the windows the scanner re-reads a candidate from
    (``scan.reread_widths`` and ``scan.reread_shifts``).

    Args:
        manifest: A ``manifest.csv``.
        scanner: Scanner for end-to-end sets.
        network: Network for crop sets.
        model: Alphabet and window.
        check: Plate formats to flag (and perhaps constrain) reads with.
        lengths: Only plates whose text length is in this inclusive range.
        limit: Only the first ``limit`` images.
    """
    rows = [r for r in load_manifest(manifest) if lengths is None or lengths[0] <= len(r.text) <= lengths[1]]
    by_file: dict[Path, list] = defaultdict(list)
    for row in rows:
        by_file[row.path].append(row)
    files = list(by_file)[:limit] if limit else list(by_file)
    exact = o0 = found = total = 0
    times = []
    with_boxes = any(r.box is not None for r in rows)
    for path in tqdm(files, desc=manifest.parent.name, mininterval=2):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            log.warning("skipping unreadable image %s", path)
            continue
        started = time.monotonic()
        if with_boxes:
            plates = read_image(scanner, gray, model, check)
        else:
            text = read_crop(network, gray, model, check, scanner.spec.reread_widths, scanner.spec.reread_shifts)
        times.append((time.monotonic() - started) * 1000)
        for row in by_file[path]:
            total += 1
            if with_boxes:
                if row.box is None or not plates:
                    continue
                overlaps = iou(np.array([row.box], np.float64), np.array([p.box for p in plates]))[0]
                if overlaps.max() < FOUND_IOU:
                    continue
                found += 1
                text = plates[int(np.argmax(overlaps))].text
            exact += text == row.text
            o0 += o0_equal(text, row.text)
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    return EvalReport(total, share(exact), share(o0), share(found) if with_boxes else None,
                      float(np.median(times)) if times else 0.0)
