"""The sliding-window plate scanner: pyramid levels, window scores, hits merged into candidates."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.geometry import group_overlapping
from detector.pyramid import Level, build_pyramid, pyramid_scales
from detector.spec import ScanSpec

log = logging.getLogger(__name__)



class WindowScores(Protocol):
    """What the network says about windows, with leading shape ``S``: ``(N,)`` for a batch of windows, or
    ``(h, w)`` for a whole image (cell ``(i, j)`` being the window at ``(stride[1] * j, stride[0] * i)``).

    Attributes:
        presence: ``S`` presence probabilities.
        boxes: ``S + (4,)`` plate boxes ``[x0, y0, x1, y1]`` as shares of the window's width and height.
    """

    presence: np.ndarray
    boxes: np.ndarray

    def chars_at(self, indices: np.ndarray) -> np.ndarray:
        """``(K, P, C)`` character probabilities of the windows at flat indices ``(K,)`` into ``S``."""
        ...


PredictBatch = Callable[[np.ndarray], WindowScores]
"""Scores ``(N, H, W)`` uint8 windows."""

ScoreImage = Callable[[np.ndarray], WindowScores]
"""Scores every window position of an ``(h, w)`` uint8 image at once (fully convolutional)."""


@dataclass(frozen=True)
class StageTimes:
    """Seconds the last scan spent in each stage.

    Attributes:
        pyramid: Building the pyramid.
        network: Scoring windows (fully convolutional levels and batched re-checks) and reading hits.
        merge: Merging hits into candidates.
    """

    pyramid: float
    network: float
    merge: float


@dataclass(frozen=True)
class Candidate:
    """One plate found in a frame.

    Attributes:
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        presence: Best presence probability among its windows.
        chars: ``(P, C)`` character probabilities, the geometric mean over its best windows.
        hits: Number of windows that found it.
    """

    box: tuple[float, float, float, float]
    presence: float
    chars: np.ndarray
    hits: int


@dataclass(frozen=True)
class Hits:
    """Windows whose presence passed the threshold, in frame coordinates.

    Attributes:
        windows: ``(N, 4)`` window boxes ``[x, y, w, h]`` in frame pixels.
        plates: ``(N, 4)`` plate boxes ``[x, y, w, h]`` the windows predict, in frame pixels.
        presence: ``(N,)`` presence probabilities.
        chars: ``(N, P, C)`` character probabilities.
    """

    windows: np.ndarray
    plates: np.ndarray
    presence: np.ndarray
    chars: np.ndarray

    @staticmethod
    def concatenate(parts: list["Hits"]) -> "Hits":
        """All hits of several levels as one."""
        return Hits(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("windows", "plates", "presence", "chars")))


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


def merge_hits(hits: Hits, spec: ScanSpec, top: int = 3, readers: int = 5) -> list[Candidate]:
    """Groups overlapping hits into one candidate per plate.

    Hits are grouped by the overlap of the plate boxes they predict. A candidate's box is the
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
        texts = [tuple(hits.chars[i].argmax(axis=-1)) for i in centred]
        winner = max(texts, key=texts.count)
        agree = [i for i, t in zip(centred, texts) if t == winner][:top]
        chars = np.exp(np.log(np.clip(hits.chars[agree], 1e-9, 1.0)).mean(axis=0))
        chars /= chars.sum(axis=-1, keepdims=True)
        candidates.append(Candidate(tuple(float(v) for v in box), float(hits.presence[group[0]]), chars, len(group)))
    return candidates


class Scanner:
    """Finds plate candidates in grayscale frames.

    Args:
        spec: Pyramid and merge settings.
        window_shape: ``(height, width)`` of the network's window.
        stride: ``(rows, columns)`` window step on each level (the network's output stride on the dense path).
        predict_batch: Scores batches of windows.
        score_image: Scores a whole level at once (fully convolutional); batched windows are used without it.
    """

    def __init__(self, spec: ScanSpec, window_shape: tuple[int, int], stride: tuple[int, int], predict_batch: PredictBatch,
                 score_image: ScoreImage | None = None) -> None:
        self.spec = spec
        self.window_shape = window_shape
        self.stride = stride
        self.predict_batch = predict_batch
        self.score_image = score_image
        self.scales = pyramid_scales(spec, window_shape[1])
        self.timings = StageTimes(0.0, 0.0, 0.0)

    def _predict_hits(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Scores windows in batches of ``batch_size`` and reads those above the presence threshold.

        Returns:
            Indices of the hits ``(K,)``, their presence ``(K,)``, boxes ``(K, 4)`` and characters ``(K, P, C)``.
        """
        size = self.spec.batch_size
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(windows), size):
            scores = self.predict_batch(windows[start : start + size])
            keep = np.flatnonzero(scores.presence > self.spec.presence_threshold)
            found.append((keep + start, scores.presence[keep], scores.boxes[keep], scores.chars_at(keep)))
        if not found:
            return np.zeros(0, int), np.zeros(0), np.zeros((0, 4)), np.zeros((0, 0, 0))
        return tuple(np.concatenate([f[i] for f in found]) for i in range(4))  # type: ignore[return-value]

    def level_hits(self, level: Level) -> Hits:
        """Scores every window of one level and keeps those above the presence threshold.

        Args:
            level: A pyramid level.

        Returns:
            The level's hits in frame coordinates.
        """
        grid = window_grid(level.image.shape, self.window_shape, self.stride)
        rows, cols = grid.shape[:2]
        if self.score_image is not None:
            scores = self.score_image(level.image)
            presence = scores.presence[:rows, :cols]
            i, j = np.nonzero(presence > self.spec.presence_threshold)
            flat = i * scores.presence.shape[1] + j
            corners, presence, boxes = grid[i, j], presence[i, j], scores.boxes[i, j]
            chars = scores.chars_at(flat)
        else:
            flat_grid = grid.reshape(-1, 2)
            keep, presence, boxes, chars = self._predict_hits(crop_windows(level.image, flat_grid, self.window_shape))
            corners = flat_grid[keep]
        if self.spec.refine and len(corners):
            corners, presence, boxes, chars = self._refine(level, corners, presence, boxes, chars)
        wh, ww = self.window_shape
        windows = np.column_stack([corners / level.scale, np.tile([ww / level.scale, wh / level.scale], (len(corners), 1))])
        windows = windows.reshape(-1, 4)
        return Hits(windows, plate_boxes(windows, boxes.reshape(-1, 4)), presence, chars)

    def _refine(self, level: Level, corners: np.ndarray, presence: np.ndarray, boxes: np.ndarray,
                chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Adds batched windows half a stride around each hit, so a plate between grid cells is read centred."""
        hy, hx = self.stride[0] // 2, self.stride[1] // 2
        h, w = level.image.shape
        wh, ww = self.window_shape
        offsets = np.array([[dx, dy] for dx in (-hx, 0, hx) for dy in (-hy, 0, hy) if dx or dy])
        extra = (corners[:, None, :] + offsets[None]).reshape(-1, 2)
        inside = (extra[:, 0] >= 0) & (extra[:, 1] >= 0) & (extra[:, 0] + ww <= w) & (extra[:, 1] + wh <= h)
        extra = np.unique(extra[inside], axis=0)
        if not len(extra):
            return corners, presence, boxes, chars
        keep, p, b, c = self._predict_hits(crop_windows(level.image, extra, self.window_shape))
        if not len(keep):
            return corners, presence, boxes, chars
        return (np.concatenate([corners, extra[keep]]), np.concatenate([presence, p]),
                np.concatenate([boxes, b]), np.concatenate([chars, c]))

    def scan(self, gray: np.ndarray) -> list[Candidate]:
        """Finds the plates in a frame.

        Args:
            gray: ``(H, W)`` uint8 frame.

        Returns:
            Candidates, most confident first.
        """
        started = time.monotonic()
        levels = build_pyramid(gray, self.scales, self.window_shape)
        pyramid_done = time.monotonic()
        hits = [self.level_hits(level) for level in levels]
        network_done = time.monotonic()
        candidates = merge_hits(Hits.concatenate(hits), self.spec) if hits else []
        self.timings = StageTimes(pyramid_done - started, network_done - pyramid_done, time.monotonic() - network_done)
        return candidates
