"""The sliding-window plate scanner: pyramid levels, window scores, hits merged into candidates."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

import cv2
import numpy as np

from detector.fill import pad_flat
from detector.geometry import group_overlapping, inside_larger, local_maxima
from detector.pyramid import build_level, halving_sources, pyramid_scales
from detector.regions import (band_blocks, block_pixels, gate_blocks, gate_crop, intersect_blocks, level_blocks,
                              merge_blocks)
from detector.spec import ScanSpec
from detector.types import (BuiltLevel, Candidate, GateImage, Hits, Level, LevelHits, LevelScan, PredictBatch,
                            ReadBoxes, ScoreImage, SettleReadings, StageTimes, WindowScores)
from detector.voting import geometric_mean, plurality, read_lengths, surer, texts

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def gate_in_bands(gate: GateImage, image: np.ndarray, window_shape: tuple[int, int], gate_stride: tuple[int, int],
                  max_pixels: int) -> np.ndarray:
    """The gate's scores of an image, taken in bands of rows of at most ``max_pixels`` pixels (at least one row of
    windows each, overlapping by a window less a stride) so that its memory stays bounded: the same scores as one
    call over the whole image.

    Args:
        gate: The gate network.
        image: ``(h, w)`` uint8 image, at least one window in size.
        window_shape: ``(height, width)`` of a window.
        gate_stride: ``(rows, columns)`` pixels between the gate's windows.
        max_pixels: Most pixels in one band.

    Returns:
        ``(rows, cols)`` presence probabilities of the windows wholly inside the image's rows,
        ``rows = (h - height) // gate_stride[0] + 1``.
    """
    (h, w), wh, gy = image.shape, window_shape[0], gate_stride[0]
    rows = (h - wh) // gy + 1
    per_band = max(1, (max_pixels // max(w, 1) - wh) // gy + 1)
    if per_band >= rows:
        return gate(image)[:rows]
    starts = range(0, rows, per_band)
    return np.concatenate([gate(image[r * gy : (min(r + per_band, rows) - 1) * gy + wh])[: min(per_band, rows - r)]
                           for r in starts])


def plate_boxes(windows: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Plate boxes in frame pixels from window boxes and predicted ``[x0, y0, x1, y1]`` shares.

    Args:
        windows: ``(N, 4)`` window boxes ``[x, y, w, h]``.
        shares: ``(N, 4)`` predicted plate corners as shares of the window (clipped to ``[0, 1]``).

    Returns:
        ``(N, 4)`` plate boxes ``[x, y, w, h]``.
    """
    shares = np.clip(shares, 0.0, 1.0)
    x0 = windows[:, 0] + shares[:, 0] * windows[:, 2]
    y0 = windows[:, 1] + shares[:, 1] * windows[:, 3]
    x1 = windows[:, 0] + np.maximum(shares[:, 2], shares[:, 0]) * windows[:, 2]
    y1 = windows[:, 1] + np.maximum(shares[:, 3], shares[:, 1]) * windows[:, 3]
    return np.column_stack([x0, y0, x1 - x0, y1 - y0])


def window_grid(shape: tuple[int, int], window_shape: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Top-left corners of the windows that fit in an image, ``stride`` ``(rows, columns)`` pixels apart.

    Args:
        shape: ``(h, w)`` of the image.
        window_shape: ``(height, width)`` of a window.
        stride: Step between windows.

    Returns:
        ``(rows, cols, 2)`` int array of ``(x, y)`` corners; cell ``(i, j)`` is ``(stride[1] * j, stride[0] * i)``.
    """
    rows = (shape[0] - window_shape[0]) // stride[0] + 1
    cols = (shape[1] - window_shape[1]) // stride[1] + 1
    ys, xs = np.mgrid[0:rows, 0:cols]
    return np.stack([xs * stride[1], ys * stride[0]], axis=-1)


def crop_windows(image: np.ndarray, corners: np.ndarray, window_shape: tuple[int, int]) -> np.ndarray:
    """Cuts windows out of an image.

    Args:
        image: ``(h, w)`` uint8 image.
        corners: ``(N, 2)`` ``(x, y)`` top-left corners; windows must lie inside the image.
        window_shape: ``(height, width)``.

    Returns:
        ``(N, height, width)`` uint8 windows.
    """
    wh, ww = window_shape
    return np.stack([image[y : y + wh, x : x + ww] for x, y in corners]) if len(corners) else np.zeros((0, wh, ww), np.uint8)


def centred_windows(gray: np.ndarray, boxes: np.ndarray, shares: tuple[float, ...],
                    window_shape: tuple[int, int], shifts: tuple[float, ...] = (0.0,)) -> np.ndarray:
    """Windows centred on plate boxes, scaled so that each plate spans each given share of the window's width.

    Args:
        gray: ``(H, W)`` uint8 frame.
        boxes: ``(K, 4)`` plate boxes ``[x, y, w, h]`` in frame pixels.
        shares: ``S`` plate widths as shares of the window width.
        window_shape: ``(height, width)`` of a window.
        shifts: ``V`` vertical offsets of each window's centre from the plate's, as shares of the window height
            (positive: the window lower).

    Returns:
        ``(K * S * V, height, width)`` uint8 windows, candidate by candidate, then share by share; beyond the frame's
        edges a flat fill (:func:`detector.fill.pad_flat`).
    """
    wh, ww = window_shape
    out = np.empty((len(boxes) * len(shares) * len(shifts), wh, ww), np.uint8)
    i = 0
    for x, y, w, h in np.asarray(boxes, np.float64).reshape(-1, 4):
        for share in shares:
            scale = share * ww / max(w, 1.0)
            half_w, half_h = ww / scale / 2, wh / scale / 2
            x0, x1 = int(np.floor(x + w / 2 - half_w)), int(np.ceil(x + w / 2 + half_w))
            for shift in shifts:
                cy = y + h / 2 + shift * wh / scale
                y0, y1 = int(np.floor(cy - half_h)), int(np.ceil(cy + half_h))
                pads = (max(0, -y0), max(0, y1 - gray.shape[0]), max(0, -x0), max(0, x1 - gray.shape[1]))
                crop = gray[max(0, y0) : y1, max(0, x0) : x1]
                if any(pads):
                    crop = pad_flat(crop, *pads)
                out[i] = cv2.resize(crop, (ww, wh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                i += 1
    return out


def merge_hits(hits: Hits, spec: ScanSpec, top: int = 3, readers: int = 5) -> list[Candidate]:
    """Groups overlapping hits into one candidate per plate.

    Hits are grouped by the overlap of the plate boxes they predict; a group whose box lies mostly inside a
    larger group's (``spec.merge_contained``) that reads more characters is a read of part of that plate and is
    dropped. A candidate's box is the
    presence-weighted mean of its ``top`` most present hits' plate boxes. Its reading comes from the
    ``readers`` hits whose plate sits nearest the middle of their window (characters near a window's edge
    are read worst): the reading most of them agree on, as the geometric mean of the probabilities of
    (at most ``top`` of) those that agree.

    Args:
        hits: Windows above the presence threshold.
        spec: Merge overlap and least hits.
        top: Hits per group that make the box, and most hits averaged for the reading.
        readers: Best-centred hits per group that vote on the reading.

    Returns:
        Candidates, most confident first.
    """
    candidates = []
    off_centre = np.abs((hits.plates[:, 0] + hits.plates[:, 2] / 2) - (hits.windows[:, 0] + hits.windows[:, 2] / 2))
    off_centre = off_centre / np.maximum(hits.windows[:, 2], 1e-9)
    for group in group_overlapping(hits.plates, hits.presence, spec.merge_iou):
        if len(group) < spec.min_hits:
            continue
        best = group[:top]
        weights = hits.presence[best] / hits.presence[best].sum()
        box = weights @ hits.plates[best]
        centred = group[np.argsort(off_centre[group], kind="stable")][:readers]
        agree = centred[plurality(texts(hits.chars[centred]), np.ones(len(centred)))][:top]
        candidates.append(Candidate(tuple(float(v) for v in box), float(hits.presence[group[0]]),
                                    geometric_mean(hits.chars[agree]), len(group)))
    if not candidates:
        return []
    lengths = read_lengths(np.stack([c.chars for c in candidates]))
    partial = inside_larger(np.array([c.box for c in candidates]), spec.merge_contained, lengths)
    return [c for c, part in zip(candidates, partial) if not part]


class Scanner:
    """Finds plate candidates in grayscale frames.

    Args:
        spec: Pyramid and merge settings.
        window_shape: ``(height, width)`` of the network's window.
        stride: ``(rows, columns)`` window step on each level (the network's output stride on the dense path).
        predict_batch: Scores batches of windows.
        score_image: Scores a whole level at once (fully convolutional); batched windows are used without it.
        gate: A cheap network run over every level first; only the windows near those it passes
            (``spec.gate_threshold``) are scored by the plate network. None: no gate.
        gate_stride: ``(rows, columns)`` pixels between the gate's windows.
        workers: Pyramid levels built and scored at once, each on a thread of its own (the networks' calls release
            the interpreter); 1: one after another on the caller's thread.
        read_batch: Scores the windows centred on each candidate that make its final reading
            (``spec.reread_widths``): where a camera's plate formats constrain its readings, the network fitted to
            them. None: ``predict_batch``.
        read_boxes: Reads each candidate from its plate box in the frame (a crop reader at the plate's own
            resolution). With windows re-read too (``spec.reread_widths``), ``settle`` makes the candidate's
            reading of the two; without, its reading alone. None: windows alone.
        settle: The final reading of the re-read windows' and the box reader's (default: the surer of the two,
            :func:`detector.voting.surer`).
    """

    def __init__(self, spec: ScanSpec, window_shape: tuple[int, int], stride: tuple[int, int], predict_batch: PredictBatch,
                 score_image: ScoreImage | None = None, gate: GateImage | None = None,
                 gate_stride: tuple[int, int] = (16, 16), workers: int = 1,
                 read_batch: PredictBatch | None = None, read_boxes: ReadBoxes | None = None,
                 settle: SettleReadings = surer) -> None:
        self.spec = spec
        self.window_shape = window_shape
        self.stride = stride
        self.predict_batch = predict_batch
        self.read_batch = predict_batch if read_batch is None else read_batch
        self.read_boxes = read_boxes
        self.settle = settle
        self.score_image = score_image
        self.gate = gate
        self.gate_stride = gate_stride
        self.scales = pyramid_scales(spec, window_shape[1])
        self._sources = halving_sources(self.scales)
        self.timings = StageTimes(0.0, 0.0, 0.0)
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="scan-level") if workers > 1 else None

    def close(self) -> None:
        """Stops and joins the worker threads (a scanner with one worker has none)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _map(self, work: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
        """``work`` of each job, in the jobs' order, on the worker threads where there are several."""
        if self._pool is None or len(jobs) < 2:
            return [work(job) for job in jobs]
        return list(self._pool.map(work, jobs))

    def __enter__(self) -> "Scanner":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _predict_hits(self, image: np.ndarray, corners: np.ndarray) -> LevelHits:
        """Scores windows of a level in batches of ``batch_size`` and keeps those above the presence threshold.

        Args:
            image: ``(h, w)`` uint8 level image.
            corners: ``(N, 2)`` ``(x, y)`` top-left corners of windows inside it.

        Returns:
            The hits among them, in the order of ``corners``.
        """
        windows = crop_windows(image, corners, self.window_shape)
        size = self.spec.batch_size
        found = []
        for start in range(0, len(windows), size):
            scores = self.predict_batch(windows[start : start + size])
            keep = np.flatnonzero(scores.presence > self.spec.presence_threshold)
            found.append(LevelHits(corners[keep + start], scores.presence[keep], scores.boxes[keep],
                                   scores.chars_at(keep)))
        return LevelHits.concatenate(found) if found else LevelHits.none()

    def level_hits(self, level: Level, regions: np.ndarray | None = None,
                   gate_threshold: float | None = None) -> tuple[Hits | None, float]:
        """Scores the windows of one level and keeps those above the presence threshold.

        Args:
            level: A pyramid level.
            regions: ``(K, 4)`` frame rectangles ``[x, y, w, h]``, ``K >= 1``: score only the windows that touch
                them (:mod:`detector.regions`), each exactly as a whole-level scan would. None: every window.
            gate_threshold: The gate's threshold in place of ``spec.gate_threshold``.

        Returns:
            The level's hits in frame coordinates, in the order a whole-level scan lists them (None when the gate
            passes none of the windows to score), and the seconds the gate took.
        """
        grid = window_grid(level.image.shape, self.window_shape, self.stride)
        rows, cols = grid.shape[:2]
        blocks = None if regions is None else level_blocks(regions, level.scale, level.image.shape, self.window_shape,
                                                           self.stride)
        gate_seconds = 0.0
        if self.gate is not None:
            started = time.monotonic()
            y0, x0, y1, x1 = (0, 0, *level.image.shape) if blocks is None else gate_crop(
                blocks, level.image.shape, self.window_shape, self.stride, self.gate_stride)
            scores = gate_in_bands(self.gate, level.image[y0:y1, x0:x1], self.window_shape, self.gate_stride,
                                   self.spec.max_level_pixels)
            threshold = self.spec.gate_threshold if gate_threshold is None else gate_threshold
            passed = gate_blocks(scores, threshold, self.gate_stride,
                                 (rows, cols), self.stride, (y0, x0))
            gate_seconds = time.monotonic() - started
            if blocks is not None:
                passed = merge_blocks(intersect_blocks(blocks, passed), self.window_shape, self.stride)
            if not len(passed):
                return None, gate_seconds
            blocks = passed
        if blocks is None and level.image.size > self.spec.max_level_pixels:
            blocks = np.array([[0, 0, rows, cols]])
        if blocks is not None:
            blocks = band_blocks(blocks, self.window_shape, self.stride, self.spec.max_level_pixels)
        if self.score_image is not None and blocks is None:
            found = self._image_hits(self.score_image, level.image, grid)
        elif self.score_image is not None:
            found = self._block_hits(self.score_image, level.image, grid, blocks)
        else:
            corners = grid.reshape(-1, 2)
            if blocks is not None:
                chosen = np.zeros((rows, cols), bool)
                for r0, c0, r1, c1 in blocks:
                    chosen[r0:r1, c0:c1] = True
                corners = corners[chosen.ravel()]
            found = self._predict_hits(level.image, corners)
        if self.spec.refine and len(found):
            found = self._refine(level, found)
        wh, ww = self.window_shape
        windows = np.column_stack([found.corners / level.scale,
                                   np.tile([ww / level.scale, wh / level.scale], (len(found), 1))]).reshape(-1, 4)
        return Hits(windows, plate_boxes(windows, found.boxes.reshape(-1, 4)), found.presence, found.chars), gate_seconds

    def _image_hits(self, score_image: ScoreImage, image: np.ndarray, grid: np.ndarray) -> LevelHits:
        """Scores a whole level fully convolutionally and reads the hits among its windows.

        Args:
            score_image: The fully convolutional network.
            image: ``(h, w)`` uint8 level image.
            grid: ``(rows, cols, 2)`` the level's window corners (:func:`window_grid`).

        Returns:
            The hits, in row-major order.
        """
        scores = score_image(image)
        presence = scores.presence[: grid.shape[0], : grid.shape[1]]
        i, j = np.nonzero(presence > self.spec.presence_threshold)
        return LevelHits(grid[i, j], presence[i, j], scores.boxes[i, j],
                         scores.chars_at(i * scores.presence.shape[1] + j))

    def _block_hits(self, score_image: ScoreImage, image: np.ndarray, grid: np.ndarray,
                    blocks: np.ndarray) -> LevelHits:
        """Scores stride-aligned crops of a level fully convolutionally and reads the hits among their windows.

        Args:
            score_image: The fully convolutional network.
            image: ``(h, w)`` uint8 level image.
            grid: ``(rows, cols, 2)`` the level's window corners (:func:`window_grid`).
            blocks: ``(M, 4)`` blocks ``[row0, col0, row1, col1]`` of grid cells, ``M >= 1``.

        Returns:
            The hits, in row-major order of their grid cells.
        """
        grid_shape = grid.shape[:2]
        presence = np.zeros(grid_shape)
        boxes = np.zeros((*grid_shape, 4))
        owner = np.full(grid_shape, -1)
        scored: list[WindowScores] = []
        crops = block_pixels(blocks, self.window_shape, self.stride)
        for k, ((r0, c0, r1, c1), (y0, x0, y1, x1)) in enumerate(zip(blocks, crops)):
            scores = score_image(image[y0:y1, x0:x1])
            presence[r0:r1, c0:c1] = scores.presence[: r1 - r0, : c1 - c0]
            boxes[r0:r1, c0:c1] = scores.boxes[: r1 - r0, : c1 - c0]
            owner[r0:r1, c0:c1] = k
            scored.append(scores)
        i, j = np.nonzero(presence > self.spec.presence_threshold)
        by = owner[i, j]
        none = scored[0].chars_at(np.zeros(0, int))  # (0, P, C)
        chars = np.empty((len(i), *none.shape[1:]), none.dtype)
        for k in np.unique(by):
            mine = by == k
            r0, c0 = blocks[k, :2]
            chars[mine] = scored[k].chars_at((i[mine] - r0) * scored[k].presence.shape[1] + (j[mine] - c0))
        return LevelHits(grid[i, j], presence[i, j], boxes[i, j], chars)

    def _refine(self, level: Level, found: LevelHits) -> LevelHits:
        """Adds batched windows half a stride around each hit that scores highest among its neighbours, so a plate
        between grid cells is read centred."""
        hy, hx = self.stride[0] // 2, self.stride[1] // 2
        h, w = level.image.shape
        wh, ww = self.window_shape
        offsets = np.array([[dx, dy] for dx in (-hx, 0, hx) for dy in (-hy, 0, hy) if dx or dy])
        peaks = found.corners[local_maxima(found.corners, found.presence, self.stride)]
        extra = (peaks[:, None, :] + offsets[None]).reshape(-1, 2)
        inside = (extra[:, 0] >= 0) & (extra[:, 1] >= 0) & (extra[:, 0] + ww <= w) & (extra[:, 1] + wh <= h)
        extra = np.unique(extra[inside], axis=0)
        if not len(extra):
            return found
        return LevelHits.concatenate([found, self._predict_hits(level.image, extra)])

    def _reread(self, gray: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        """Reads each candidate again from windows centred on its plate box at ``spec.reread_widths``.

        The scan's windows see a plate off-centre or at a pyramid level's scale; windows made for it read it as the
        network was trained to. Their readings vote, weighted by presence, and the candidate's characters become
        the geometric mean of those that agree with the winner. A candidate none of whose windows sees a plate
        keeps the scan's reading.
        """
        windows = centred_windows(gray, np.array([c.box for c in candidates]), self.spec.reread_widths, self.window_shape,
                                  self.spec.reread_shifts)
        per = len(self.spec.reread_widths) * len(self.spec.reread_shifts)
        size = min(self.spec.batch_size, -(-len(windows) // self.workers))  # a batch for each worker where they fit

        def score(start: int) -> tuple[np.ndarray, np.ndarray]:
            scores = self.read_batch(windows[start : start + size])
            return scores.presence, scores.chars_at(np.arange(len(scores.presence)))

        parts = self._map(score, range(0, len(windows), size))
        presence_all, chars_all = np.concatenate([p for p, _ in parts]), np.concatenate([c for _, c in parts])
        reread = []
        for k, candidate in enumerate(candidates):
            p, c = presence_all[k * per : (k + 1) * per], chars_all[k * per : (k + 1) * per]
            voted = candidate if p.max() <= 0 else replace(candidate, chars=geometric_mean(c[plurality(texts(c), p)]))
            reread.append(voted)
        return reread

    def _scan_level(self, gray: np.ndarray, index: int, regions: np.ndarray | None, scanned: bool,
                    built: dict[int, BuiltLevel], gate_threshold: float | None) -> LevelScan:
        """Builds one pyramid level, from the frame or halved from its source level once that is built
        (:func:`halving_sources`), publishes it to the levels halved from it, and scores it (:meth:`level_hits`)
        if ``scanned``, timing both."""
        started = time.monotonic()
        level = None
        try:
            source = self._sources[index]
            if source is None:
                level = build_level(gray, self.scales[index], self.window_shape)
            else:
                built[source].done.wait()
                if built[source].image is not None:
                    level = build_level(gray, self.scales[index], self.window_shape, built[source].image)
        finally:
            built[index].image = None if level is None else level.image
            built[index].done.set()
        finished = time.monotonic()
        if level is None or not scanned:
            return LevelScan(None, finished - started, 0.0, 0.0)
        hits, gate_seconds = self.level_hits(level, regions, gate_threshold)
        return LevelScan(hits, finished - started, gate_seconds, time.monotonic() - finished - gate_seconds)

    def scan(self, gray: np.ndarray, regions: np.ndarray | Sequence[np.ndarray | None] | None = None,
             gate_threshold: float | None = None) -> list[Candidate]:
        """Finds the plates in a frame, or in parts of it.

        Args:
            gray: ``(H, W)`` uint8 frame.
            regions: ``(K, 4)`` rectangles ``[x, y, w, h]`` in frame pixels: score only the windows, on each level,
                that touch one of them. A plate inside a rectangle gets the candidate a whole-frame scan gives
                it. ``K = 0``: nothing is scanned. None: the whole frame. Or one such entry per level of
                :attr:`scales` (None: that level whole; ``K = 0``: that level is not scanned, and built only where a
                level scanned is halved from it).
            gate_threshold: The gate's threshold for this frame in place of ``spec.gate_threshold``.

        Returns:
            Candidates, most confident first.
        """
        per_level = list(regions) if isinstance(regions, (list, tuple)) else [regions] * len(self.scales)
        if len(per_level) != len(self.scales):
            raise ValueError(f"{len(per_level)} regions for {len(self.scales)} pyramid levels")
        wanted = [r is None or len(r) > 0 for r in per_level]
        needed = list(wanted)  # the wanted levels and those they are halved from
        for index in reversed(range(len(needed))):
            if needed[index] and self._sources[index] is not None:
                needed[self._sources[index]] = True
        jobs = [index for index in range(len(needed)) if needed[index]]
        if not jobs:
            self.timings = StageTimes(0.0, 0.0, 0.0)
            return []
        # The jobs start in level order, so a level's source has started building before the level waits for it.
        built = {index: BuiltLevel() for index in jobs}
        scans = self._map(lambda index: self._scan_level(gray, index, per_level[index], wanted[index], built,
                                                           gate_threshold), jobs)
        network_done = time.monotonic()
        hits = [level.hits for level in scans if level.hits is not None]
        candidates = merge_hits(Hits.concatenate(hits), self.spec) if hits else []
        merge_done = time.monotonic()
        if candidates and self.spec.reread_widths:
            candidates = self._reread(gray, candidates)
        if candidates and self.read_boxes is not None:
            chars = self.read_boxes(gray, np.array([c.box for c in candidates]))
            if self.spec.reread_widths:
                chars = self.settle(np.stack([c.chars for c in candidates]), chars)
            candidates = [replace(c, chars=read) for c, read in zip(candidates, chars)]
        self.timings = StageTimes(sum(level.pyramid for level in scans),
                                  sum(level.network for level in scans) + time.monotonic() - merge_done,
                                  merge_done - network_done, gate=sum(level.gate for level in scans))
        return candidates
