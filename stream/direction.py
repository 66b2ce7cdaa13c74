"""Which way a tracked plate moved in the image, how fast, and whether it entered or left a zone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up", "approaching": "receding",
             "receding": "approaching"}
"""Each direction a zone's ``entry`` may name, and the one a vehicle leaving it moves in."""


@dataclass(frozen=True)
class Direction:
    """How a plate moved over its track.

    Attributes:
        angle: Direction of the plate centre's motion in degrees, counter-clockwise from the image's right
            (0: right, 90: up, 180: left, 270: down); None when it moved too little to tell.
        labels: ``left``/``right`` and ``up``/``down`` for the axes it moved along (the lesser one only when it is
            at least half the greater), then ``approaching``/``receding`` when the plate grew or shrank.
        velocity: ``(vx, vy)`` of the plate centre in frame pixels per second (``vy > 0``: downwards).
        growth: Relative change of the plate's width over the track (``0.2``: it grew by a fifth).
    """

    angle: float | None
    labels: tuple[str, ...]
    velocity: tuple[float, float]
    growth: float

    @property
    def speed_px_s(self) -> float:
        """Speed of the plate centre in frame pixels per second."""
        return round(float(np.hypot(*self.velocity)), 1)


def least_squares_slopes(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slopes of least-squares lines through each column of ``values`` against ``times``.

    Args:
        times: ``(N,)`` times, not all equal.
        values: ``(N, K)`` values.

    Returns:
        ``(K,)`` slopes, value units per second.
    """
    t = times - times.mean()
    return (t[:, None] * (values - values.mean(axis=0))).sum(axis=0) / float((t * t).sum())


def track_direction(boxes: np.ndarray, times: np.ndarray, min_shift: float = 0.25,
                    min_growth: float = 0.1) -> Direction:
    """The motion of a track's plate, from least-squares lines through its centres and log widths over time.

    Args:
        boxes: ``(N, 4)`` plate boxes ``[x, y, w, h]`` in frame pixels, one per read.
        times: ``(N,)`` stream times of the reads in seconds.
        min_shift: Least distance the centre must travel over the track, in plate widths, for an angle and
            sideways labels.
        min_growth: Least relative change of the plate width over the track for ``approaching``/``receding``.

    Returns:
        The direction; with fewer than two distinct times, no angle, no labels and no velocity.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    times = np.asarray(times, np.float64).reshape(-1)
    if len(boxes) < 2 or np.ptp(times) <= 0:
        return Direction(None, (), (0.0, 0.0), 0.0)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    log_widths = np.log(np.maximum(boxes[:, 2:3], 1.0))
    slopes = least_squares_slopes(times, np.hstack([centres, log_widths]))
    velocity = slopes[:2]
    growth = float(np.expm1(slopes[2] * np.ptp(times)))
    speed = float(np.hypot(*velocity))
    labels: list[str] = []
    angle = None
    if speed * np.ptp(times) >= min_shift * float(np.median(boxes[:, 2])):
        angle = round(float(np.degrees(np.arctan2(-velocity[1], velocity[0]))), 1) % 360.0
        vx, vy = velocity
        sideways = [("right" if vx > 0 else "left", abs(vx)), ("down" if vy > 0 else "up", abs(vy))]
        greatest = max(size for _, size in sideways)
        labels = [name for name, size in sorted(sideways, key=lambda item: -item[1]) if size >= greatest / 2]
    if abs(growth) >= min_growth:
        labels.append("approaching" if growth > 0 else "receding")
    return Direction(angle, tuple(labels),
                     (round(float(velocity[0]), 1), round(float(velocity[1]), 1)), round(growth, 3))


def zone_event(direction: Direction, entry: str | None) -> str | None:
    """Whether a plate entered or left a zone whose ``entry`` names the direction vehicles enter it in.

    Args:
        direction: The plate's motion (:func:`track_direction`).
        entry: The zone's ``entry`` (:class:`detector.spec.ZoneSpec`: ``left``, ``right``, ``up``, ``down``,
            ``approaching``, ``receding``), or None.

    Returns:
        ``entering`` when the plate's labels hold ``entry``, ``leaving`` when they hold its opposite, None when the
        zone names no entry or the plate did not move along it.
    """
    if entry is None:
        return None
    if entry in direction.labels:
        return "entering"
    if _OPPOSITE[entry] in direction.labels:
        return "leaving"
    return None
