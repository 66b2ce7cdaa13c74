"""What the detector's stages hand each other: networks' scores, pyramid levels, hits, candidates, stage times.

The data flow of one frame: the frame becomes pyramid :class:`Level` s; the networks score a level's windows
(:class:`WindowScores`); the windows above the presence threshold are the level's :class:`LevelHits` (level
pixels), then :class:`Hits` (frame pixels); the hits of all levels merge into one :class:`Candidate` per plate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Protocol, TypeVar

import numpy as np


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

ReadBoxes = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Reads plates at their boxes in a frame: ``(H, W)`` uint8 frame and ``(K, 4)`` boxes ``[x, y, w, h]`` in frame pixels
to ``(K, P, C)`` per-position character probabilities (a dedicated reader of plate crops)."""

SettleReadings = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Settles two readers' readings of the same plates: ``(K, P, C)`` the re-read windows' and ``(K, P, C)`` the box
reader's per-position probabilities to ``(K, P, C)`` the plates' final readings (:func:`detector.voting.surer`)."""

GateImage = Callable[[np.ndarray], np.ndarray]
"""A cheap first look: ``(rows, cols)`` presence probabilities of the windows of an ``(h, w)`` uint8 image, on a
grid coarser than the scanner's (cell ``(i, j)`` being the window at ``(gate_stride[1] * j, gate_stride[0] * i)``)."""


@dataclass(frozen=True)
class Level:
    """One pyramid level.

    Attributes:
        scale: Level pixels per frame pixel.
        image: ``(h, w)`` uint8 resized frame.
    """

    scale: float
    image: np.ndarray


@dataclass
class BuiltLevel:
    """A pyramid level's image, published by the worker that builds it to the workers of the levels halved from it.

    Attributes:
        done: Set once ``image`` is final.
        image: ``(h, w)`` uint8 level, or None where it is smaller than a window.
    """

    done: threading.Event = field(default_factory=threading.Event)
    image: np.ndarray | None = None


B = TypeVar("B", bound="WindowBatch")


class WindowBatch:
    """Parallel arrays with one row per window (a dataclass's fields), ``presence`` among them."""

    presence: np.ndarray

    def __len__(self) -> int:
        return len(self.presence)

    @classmethod
    def concatenate(cls: type[B], parts: list[B]) -> B:
        """The rows of several batches as one, in order."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class LevelHits(WindowBatch):
    """Windows of one pyramid level whose presence passed the threshold, in level pixels.

    Attributes:
        corners: ``(N, 2)`` int ``(x, y)`` top-left corners of the windows.
        presence: ``(N,)`` presence probabilities.
        boxes: ``(N, 4)`` plate boxes ``[x0, y0, x1, y1]`` as shares of the window's width and height.
        chars: ``(N, P, C)`` character probabilities.
    """

    corners: np.ndarray
    presence: np.ndarray
    boxes: np.ndarray
    chars: np.ndarray

    @staticmethod
    def none() -> "LevelHits":
        """No hits, where no window was scored (the characters' shape unknown: ``(0, 0, 0)``)."""
        return LevelHits(np.zeros((0, 2), int), np.zeros(0), np.zeros((0, 4)), np.zeros((0, 0, 0)))


@dataclass(frozen=True)
class Hits(WindowBatch):
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


@dataclass(frozen=True)
class Candidate:
    """One plate found in a frame.

    Attributes:
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        presence: Best presence probability among its windows.
        chars: ``(P, C)`` character probabilities, the geometric mean over its best windows.
        hits: Number of windows that found it.
        zone: Name of the camera's zone its centre lies in (:mod:`detector.zones`); None when there are no zones.
    """

    box: tuple[float, float, float, float]
    presence: float
    chars: np.ndarray
    hits: int
    zone: str | None = None


@dataclass(frozen=True)
class StageTimes:
    """Seconds the last scan spent in each stage; with several workers, the pyramid, gate and network stages are
    summed over the levels that the workers scanned at once, so together they can exceed the scan's wall time.

    Attributes:
        pyramid: Building the pyramid.
        network: Scoring windows (fully convolutional levels and batched re-checks) and reading hits.
        merge: Merging hits into candidates.
        motion: Finding the moving parts of the frame (0 where the whole frame is scanned).
        gate: The gate network's first look at every level (0 without a gate).
    """

    pyramid: float
    network: float
    merge: float
    motion: float = 0.0
    gate: float = 0.0


@dataclass(frozen=True)
class LevelScan:
    """What scanning one pyramid level gave.

    Attributes:
        hits: The level's hits; None where it is smaller than a window or the gate passed nothing.
        pyramid: Seconds spent resizing the frame to the level.
        gate: Seconds in the gate network.
        network: Seconds in the plate network and reading its hits.
    """

    hits: Hits | None
    pyramid: float
    gate: float
    network: float
