"""Scanning only where plates can be: the whole frame now and then, between those only what moves or is tracked."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from detector.geometry import clip_boxes, merge_boxes
from detector.motion import MotionDetector
from detector.scanner import Scanner
from detector.spec import ScanSpec, ZoneSpec
from detector.types import Candidate, StageTimes
from detector.zones import FrameZones, restrict_regions

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


def track_levels(widths: np.ndarray, scales: list[float], target: float, octaves: float | None) -> np.ndarray:
    """The pyramid levels on which each live track's plate can be found again: those whose scale brings its width
    within ``octaves`` of the width a plate is scanned at, and always the nearest one.

    Args:
        widths: ``(T,)`` plate widths of the tracks' last boxes, frame pixels.
        scales: ``(L,)`` level scales (level pixels per frame pixel).
        target: Plate width in level pixels that a level aims at (``plate_width_in_window`` x window width).
        octaves: Largest ``|log2(width x scale / target)|`` of a level kept; None: every level.

    Returns:
        ``(T, L)`` bool.
    """
    widths = np.maximum(np.asarray(widths, np.float64).reshape(-1, 1), 1.0)
    distance = np.abs(np.log2(widths * np.asarray(scales, np.float64).reshape(1, -1) / target))
    if octaves is None:
        return np.ones(distance.shape, bool)
    return (distance <= octaves) | (distance == distance.min(axis=1, keepdims=True))


def level_regions(moved: np.ndarray, track_boxes: np.ndarray, scales: list[float], frame: int, spec: ScanSpec,
                  window_width: int, shape: tuple[int, int]) -> list[np.ndarray | None]:
    """What to scan on each pyramid level of a frame of a stream.

    Every ``spec.full_scan_every``-th level is scanned whole, the levels taking turns frame by frame, so that
    each is scanned whole once every ``full_scan_every`` frames (a plate that does not move is found within that
    many) at a steady cost per frame. On the other levels: the moving areas on every ``spec.motion_level_step``-th
    level, again taking turns, so that each level sees them every that many frames; and each live track's box,
    grown by ``spec.track_margin`` plate widths, on the levels near its plate's width (:func:`track_levels`).

    Args:
        moved: ``(M, 4)`` moving rectangles ``[x, y, w, h]``, frame pixels.
        track_boxes: ``(T, 4)`` plate boxes ``[x, y, w, h]`` where the live tracks are expected.
        scales: ``(L,)`` level scales, as the scanner's.
        frame: Index of the frame in the stream (whose turn it is).
        spec: Motion step, track margin and level range, plate width in the window.
        window_width: Window width in pixels.
        shape: ``(H, W)`` of the frame.

    Returns:
        ``L`` entries: None where the level is scanned whole, else ``(K_l, 4)`` frame rectangles, merged and cut
        to the frame (``K_l = 0``: nothing on that level).
    """
    track_boxes = np.asarray(track_boxes, np.float64).reshape(-1, 4)
    tracks = track_regions(track_boxes, spec.track_margin)
    near = track_levels(track_boxes[:, 2], scales, spec.plate_width_in_window * window_width, spec.track_octaves)
    step, every = spec.motion_level_step, spec.full_scan_every
    per_level: list[np.ndarray | None] = []
    for k in range(len(scales)):
        if k % every == frame % every:
            per_level.append(None)
            continue
        wanted = np.concatenate([tracks[near[:, k]], moved if k % step == frame % step else moved[:0]])
        per_level.append(merge_boxes(clip_boxes(wanted, shape)))
    return per_level


class FocusedScanner:
    """Decides, frame by frame, what a :class:`~detector.scanner.Scanner` looks at.

    Frame 0 is scanned whole. After it, on each frame every ``spec.full_scan_every``-th pyramid level is scanned
    whole, the levels taking turns, so that a plate that does not move is found within ``full_scan_every`` frames
    at a steady cost per frame (a live camera waits for no spike); the other levels only in the windows touching
    what moved since the previous frame, on the levels whose turn it is, and the live tracks' boxes, grown by
    ``spec.track_margin``, on the levels near their plate's width (:func:`level_regions`); the gate passes windows
    above ``spec.stream_gate_threshold``. With ``full_scan_every == 1`` every frame is scanned whole, at
    ``spec.gate_threshold``, and no motion is computed: the plain scanner's behaviour.

    With zones, "whole" means the zones' scan areas (:class:`~detector.zones.FrameZones`), every rectangle scanned
    is cut to them, and only the candidates whose centre lies in a zone are returned, named by it.

    Args:
        scanner: The scanner.
        spec: Full-scan period, motion and track settings.
        zones: The camera's zones; none: the whole frame.

    Attributes:
        timings: Stage times of the last frame, motion included.
        regions: ``(K, 4)`` frame rectangles the last frame was scanned in, on one level or more; None when it was
            scanned whole.
    """

    def __init__(self, scanner: Scanner, spec: ScanSpec, zones: Sequence[ZoneSpec] = ()) -> None:
        self.scanner = scanner
        self.spec = spec
        self.zones = tuple(zones)
        self._laid: FrameZones | None = None
        self._laid_shape: tuple[int, int] | None = None
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
        frame = self._frame
        self._frame += 1
        started = time.monotonic()
        zones = self.frame_zones(gray.shape[:2])
        if self.spec.full_scan_every == 1:
            self.regions = None if zones is None else zones.areas
            candidates = self.scanner.scan(gray, self.regions)
            self.timings = self.scanner.timings
            return in_zones(candidates, zones)
        moved = self.motion.update(gray)
        per_level = None
        if frame == 0:
            self.regions = None
        else:
            wanted = np.concatenate([moved, track_regions(track_boxes, self.spec.track_margin)])
            self.regions = merge_boxes(clip_boxes(wanted, gray.shape[:2]))
            per_level = level_regions(moved, track_boxes, self.scanner.scales, frame, self.spec,
                                      self.scanner.window_shape[1], gray.shape[:2])
        if zones is not None:
            per_level = [restrict_regions(r, zones.areas) for r in per_level or [None] * len(self.scanner.scales)]
            self.regions = restrict_regions(self.regions, zones.areas)
        motion_done = time.monotonic()
        candidates = self.scanner.scan(gray, per_level, self.spec.stream_gate_threshold)
        self.timings = replace(self.scanner.timings, motion=motion_done - started)
        if self.regions is not None and log.isEnabledFor(logging.DEBUG):
            log.debug("scanned %d regions, %.0f%% of the frame", len(self.regions),
                      100 * float((self.regions[:, 2] * self.regions[:, 3]).sum()) / (gray.shape[0] * gray.shape[1]))
        return in_zones(candidates, zones)

    def frame_zones(self, shape: tuple[int, int]) -> FrameZones | None:
        """The zones laid on frames of ``shape`` ``(H, W)``, scanned half the widest plate's width sideways and half
        the height of the window that frames it up and down around (None: no zones)."""
        if not self.zones:
            return None
        if self._laid is None or self._laid_shape != shape:
            wh, ww = self.scanner.window_shape
            widest = self.spec.max_plate_width
            pad = (widest / 2, widest / self.spec.plate_width_in_window * wh / ww / 2)
            self._laid, self._laid_shape = FrameZones.build(self.zones, shape, pad), shape
        return self._laid


def in_zones(candidates: list[Candidate], zones: FrameZones | None) -> list[Candidate]:
    """The candidates whose centre lies in a zone, each named by its zone (all of them when there are no zones)."""
    if zones is None or not candidates:
        return candidates
    names = zones.locate(np.array([c.box for c in candidates]))
    return [replace(c, zone=name) for c, name in zip(candidates, names) if name is not None]
