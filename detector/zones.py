"""Zones: the named polygons of a camera's frame where plates are read, and the parts of the frame scanned for them.

A plate belongs to the first zone its box's centre lies in; a plate in no zone is not read. So that nothing
outside the zones is scanned, while every plate whose centre lies in one is scanned as a whole-frame scan would,
each zone's bounding box is grown by half the widest plate's width sideways and half the height of the window that
frames it up and down (:func:`scan_areas`), and every rectangle the scanner would score is cut to those areas
(:func:`restrict_regions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from detector.geometry import clip_boxes, merge_boxes

if TYPE_CHECKING:
    from detector.spec import ZoneSpec


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula).

    Args:
        polygon: ``(V, 2)`` vertices ``[x, y]`` in order, either way round.
    """
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def to_pixels(polygon: np.ndarray, units: str, shape: tuple[int, int]) -> np.ndarray:
    """A polygon in frame pixels.

    Args:
        polygon: ``(V, 2)`` vertices ``[x, y]``.
        units: ``pixels``, or ``shares`` of the frame's width and height.
        shape: ``(H, W)`` of the frame.

    Returns:
        ``(V, 2)`` float vertices in frame pixels.
    """
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    return p * np.array([shape[1], shape[0]], np.float64) if units == "shares" else p


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points lie inside a polygon (even-odd rule: a ray to the right crosses its edges an odd number of
    times).

    Args:
        points: ``(N, 2)`` points ``[x, y]``.
        polygon: ``(V, 2)`` vertices, ``V >= 3``.

    Returns:
        ``(N,)`` bool; a point on a left or top edge counts as inside, on a right or bottom edge as outside.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
    a = np.asarray(polygon, np.float64).reshape(1, -1, 2)
    b = np.roll(a, -1, axis=1)
    spans = (a[..., 1] <= pts[..., 1]) != (b[..., 1] <= pts[..., 1])  # (N, V): the edge spans the point's row
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = a[..., 0] + (pts[..., 1] - a[..., 1]) * (b[..., 0] - a[..., 0]) / (b[..., 1] - a[..., 1])
    return (spans & (pts[..., 0] < cross_x)).sum(axis=1) % 2 == 1


def polygon_box(polygon: np.ndarray) -> np.ndarray:
    """``(4,)`` bounding box ``[x, y, w, h]`` of a ``(V, 2)`` polygon."""
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    low, high = p.min(axis=0), p.max(axis=0)
    return np.concatenate([low, high - low])


def zone_of(boxes: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """The zone each box's centre lies in.

    Args:
        boxes: ``(N, 4)`` boxes ``[x, y, w, h]``.
        polygons: ``Z`` polygons ``(V, 2)``, in the boxes' pixels.

    Returns:
        ``(N,)`` int: index of the first polygon holding the box's centre, -1 for none.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    found = np.full(len(boxes), -1)
    for index in reversed(range(len(polygons))):  # the first zone wins where zones overlap
        found[points_in_polygon(centres, polygons[index])] = index
    return found


def scan_areas(polygons: Sequence[np.ndarray], pad: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    """The rectangles to scan so that every plate whose centre lies in a polygon is seen whole.

    Args:
        polygons: ``Z`` polygons ``(V, 2)`` in frame pixels.
        pad: ``(px, py)``: half the widest plate's width, half the tallest plate's height, frame pixels.
        shape: ``(H, W)`` of the frame.

    Returns:
        ``(K, 4)`` rectangles ``[x, y, w, h]``: the polygons' bounding boxes grown by ``pad``, cut to the frame,
        overlapping ones merged.
    """
    boxes = np.array([polygon_box(p) for p in polygons], np.float64).reshape(-1, 4)
    grow = np.array([-pad[0], -pad[1], 2 * pad[0], 2 * pad[1]], np.float64)
    return merge_boxes(clip_boxes(boxes + grow, shape))


def restrict_regions(regions: np.ndarray | None, areas: np.ndarray) -> np.ndarray:
    """Rectangles cut to the parts that lie inside areas.

    Args:
        regions: ``(K, 4)`` rectangles ``[x, y, w, h]``; None: the whole frame.
        areas: ``(Z, 4)`` rectangles.

    Returns:
        ``(M, 4)``: each non-empty intersection of a region with an area, overlapping ones merged; ``areas``
        itself when ``regions`` is None.
    """
    areas = np.asarray(areas, np.float64).reshape(-1, 4)
    if regions is None:
        return areas
    r = np.asarray(regions, np.float64).reshape(-1, 1, 4)
    a = areas.reshape(1, -1, 4)
    x0, y0 = np.maximum(r[..., 0], a[..., 0]), np.maximum(r[..., 1], a[..., 1])
    x1 = np.minimum(r[..., 0] + r[..., 2], a[..., 0] + a[..., 2])
    y1 = np.minimum(r[..., 1] + r[..., 3], a[..., 1] + a[..., 3])
    keep = (x1 > x0) & (y1 > y0)
    return merge_boxes(np.column_stack([x0[keep], y0[keep], (x1 - x0)[keep], (y1 - y0)[keep]]))


@dataclass(frozen=True)
class FrameZones:
    """A camera's zones laid on frames of one size.

    Attributes:
        names: ``Z`` zone names.
        polygons: ``Z`` polygons ``(V, 2)`` in frame pixels.
        areas: ``(K, 4)`` rectangles ``[x, y, w, h]`` to scan (:func:`scan_areas`).
    """

    names: tuple[str, ...]
    polygons: tuple[np.ndarray, ...]
    areas: np.ndarray

    @staticmethod
    def build(zones: Sequence["ZoneSpec"], shape: tuple[int, int], pad: tuple[float, float]) -> "FrameZones":
        """The zones on frames of ``shape`` ``(H, W)``, scanned ``pad`` ``(px, py)`` around (:func:`scan_areas`)."""
        polygons = tuple(to_pixels(np.array(z.points), z.units, shape) for z in zones)
        return FrameZones(tuple(z.name for z in zones), polygons, scan_areas(polygons, pad, shape))

    def locate(self, boxes: np.ndarray) -> list[str | None]:
        """The name of the zone each ``(N, 4)`` box's centre lies in (None: in none)."""
        return [self.names[i] if i >= 0 else None for i in zone_of(boxes, self.polygons)]
