"""Scanning only where plates can be: the whole frame now and then, between those only what moves or is tracked."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from detector.geometry import clip_boxes, merge_boxes
from detector.motion import MotionDetector
from detector.scanner import Candidate, Scanner, StageTimes
from detector.spec import ScanSpec

log = logging.getLogger(__name__)


def track_regions(boxes: np.ndarray, margin: float) -> np.ndarray:
    """Track boxes grown by ``margin`` plate widths on every side: where their plates can be in the next frame.

    Args:
        boxes: ``(K, 4)`` plate boxes ``[x, y, w, h]`` in frame pixels.
        margin: Plate widths added on each side.

    Returns:
        ``(K, 4)`` rectangles ``[x, y, w, h]``.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    pad = margin * boxes[:, 2:3]
    return np.column_stack([boxes[:, :2] - pad, boxes[:, 2:] + 2 * pad])


class FocusedScanner:
    """Decides, frame by frame, what a :class:`~detector.scanner.Scanner` looks at.

    Frame 0 and every ``spec.full_scan_every``-th frame after it are scanned whole (new plates that do not move
    are found there); the others only in the windows touching what moved since the previous frame and the live
    tracks' boxes, grown by ``spec.track_margin``. With ``full_scan_every == 1`` every frame is scanned whole and
    no motion is computed: the plain scanner's behaviour.

    Args:
        scanner: The scanner.
        spec: Full-scan period, motion and track settings.

    Attributes:
        timings: Stage times of the last frame, motion included.
        regions: ``(K, 4)`` frame rectangles the last frame was scanned in; None when it was scanned whole.
    """

    def __init__(self, scanner: Scanner, spec: ScanSpec) -> None:
        self.scanner = scanner
        self.spec = spec
        self.motion = MotionDetector(spec.motion_threshold, spec.motion_downscale, spec.motion_margin)
        self.timings = StageTimes(0.0, 0.0, 0.0)
        self.regions: np.ndarray | None = None
        self._frame = 0

    def scan(self, gray: np.ndarray, track_boxes: np.ndarray) -> list[Candidate]:
        """Finds the plates in the next frame of the stream.

        Args:
            gray: ``(H, W)`` uint8 frame.
            track_boxes: ``(K, 4)`` last boxes ``[x, y, w, h]`` of the live tracks, in frame pixels.

        Returns:
            Candidates, most confident first.
        """
        full = self._frame % self.spec.full_scan_every == 0
        self._frame += 1
        started = time.monotonic()
        if self.spec.full_scan_every == 1:
            self.regions = None
            candidates = self.scanner.scan(gray)
            self.timings = self.scanner.timings
            return candidates
        moved = self.motion.update(gray)
        if full:
            self.regions = None
        else:
            wanted = np.concatenate([moved, track_regions(track_boxes, self.spec.track_margin)])
            self.regions = merge_boxes(clip_boxes(wanted, gray.shape[:2]))
        motion_done = time.monotonic()
        candidates = self.scanner.scan(gray, self.regions)
        self.timings = replace(self.scanner.timings, motion=motion_done - started)
        if self.regions is not None and log.isEnabledFor(logging.DEBUG):
            log.debug("scanned %d regions, %.0f%% of the frame", len(self.regions),
                      100 * float((self.regions[:, 2] * self.regions[:, 3]).sum()) / (gray.shape[0] * gray.shape[1]))
        return candidates
