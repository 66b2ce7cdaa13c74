"""Pure box arithmetic over NumPy arrays. Boxes are ``[x, y, w, h]`` rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` intersection areas of ``(N, 4)`` and ``(M, 4)`` float boxes."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    return np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair of boxes.

    Args:
        a: ``(N, 4)`` boxes.
        b: ``(M, 4)`` boxes.

    Returns:
        ``(N, M)`` overlaps in ``[0, 1]``.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    inter = _intersections(a, b)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def contained_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of each box's area that lies inside each other box.

    Args:
        a: ``(N, 4)`` boxes.
        b: ``(M, 4)`` boxes.

    Returns:
        ``(N, M)`` shares of ``a[i]``'s area inside ``b[j]``, in ``[0, 1]``.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    inter = _intersections(a, b)
    area = (a[:, 2] * a[:, 3])[:, None]
    return np.where(area > 0, inter / np.maximum(area, 1e-12), 0.0)


def inside_larger(boxes: np.ndarray, share: float, lengths: np.ndarray | None = None,
                  hosts: np.ndarray | None = None, max_height: float | None = None) -> np.ndarray:
    """Which boxes lie mostly inside a larger box of the same set (a plate read in part, beside the whole).

    Args:
        boxes: ``(N, 4)`` boxes.
        share: Least share of a box's area inside a larger box for it to count as inside.
        lengths: ``(N,)`` characters read in each box, if known: a part of a plate shows fewer characters than the
            whole, so a box counts as inside only a larger one that reads more (a plate inside a bumper or sign that
            a coarse level took for a plate, and read as a few stray characters, is kept).
        hosts: ``(N,)`` booleans, which boxes may hold others; None: every box.
        max_height: A box counts as inside only a larger one at least ``1 / max_height`` times as tall; None: any.

    Returns:
        ``(N,)`` booleans.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    area = boxes[:, 2] * boxes[:, 3]
    inside = (contained_share(boxes, boxes) >= share) & (area[None, :] > area[:, None])
    if max_height is not None:
        inside &= boxes[:, 3][:, None] <= max_height * boxes[:, 3][None, :]
    if lengths is not None:
        inside &= np.asarray(lengths)[None, :] > np.asarray(lengths)[:, None]
    if hosts is not None:
        inside &= np.asarray(hosts, bool)[None, :]
    return inside.any(axis=1)


def group_overlapping(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Greedy grouping: the best remaining box takes every remaining box that overlaps it enough.

    Args:
        boxes: ``(N, 4)`` boxes.
        scores: ``(N,)`` scores; higher seeds first.
        threshold: Least IoU with the seed to join its group.

    Returns:
        Index arrays, one per group, each starting with its seed; groups ordered by seed score.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    overlaps = iou(boxes, boxes)
    taken = np.zeros(len(order), bool)
    groups = []
    for seed in order:
        if taken[seed]:
            continue
        members = order[(~taken[order]) & (overlaps[seed, order] >= threshold)]
        taken[members] = True
        groups.append(members)
    return groups


def centre_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between the centres of every pair of boxes.

    Args:
        a: ``(N, 4)`` boxes.
        b: ``(M, 4)`` boxes.

    Returns:
        ``(N, M)`` distances in pixels.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ca = a[:, :2] + a[:, 2:] / 2
    cb = b[:, :2] + b[:, 2:] / 2
    return np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=-1)


def clip_boxes(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boxes cut to an image, leaving out those with nothing inside it.

    Args:
        boxes: ``(N, 4)`` boxes.
        shape: ``(H, W)`` of the image.

    Returns:
        ``(M, 4)`` boxes inside ``[0, W] x [0, H]``, each with positive width and height.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x0 = np.clip(boxes[:, 0], 0, shape[1])
    y0 = np.clip(boxes[:, 1], 0, shape[0])
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, shape[1])
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, shape[0])
    keep = (x1 > x0) & (y1 > y0)
    return np.column_stack([x0, y0, x1 - x0, y1 - y0])[keep]


def join_pairs(items: list[np.ndarray], join: Callable[[np.ndarray, np.ndarray], np.ndarray | None]) -> list[np.ndarray]:
    """Replaces two items by what ``join`` makes of them, as long as it joins some pair.

    Args:
        items: Rows, e.g. boxes.
        join: The joined row of two rows, or None when they stay apart.

    Returns:
        The rows no pair of which ``join`` joins.
    """
    out = list(items)
    joined = True
    while joined:
        joined = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                both = join(out[i], out[j])
                if both is not None:
                    out[i] = both
                    del out[j]
                    joined = True
                    break
            if joined:
                break
    return out


def merge_boxes(boxes: np.ndarray, gap: float = 0.0) -> np.ndarray:
    """Replaces boxes that overlap, or lie closer than ``gap``, by their bounding box, until none do.

    Each round joins every group of boxes linked by such pairs into its bounding box (all pairs at once, so that a
    frame's hundreds of moving areas cost a few array operations, not a pair at a time); the rounds end when no two
    boxes are near.

    Args:
        boxes: ``(N, 4)`` boxes.
        gap: Largest distance, along both axes, between two boxes that are still merged.

    Returns:
        ``(M, 4)`` boxes, ``M <= N``, no two of them closer than ``gap``; their union covers the input's.
    """
    rows = np.asarray(boxes, np.float64).reshape(-1, 4)
    while len(rows) > 1:
        x0, y0 = rows[:, 0], rows[:, 1]
        x1, y1 = x0 + rows[:, 2], y0 + rows[:, 3]
        near = ((x0[:, None] <= x1[None, :] + gap) & (x0[None, :] <= x1[:, None] + gap)
                & (y0[:, None] <= y1[None, :] + gap) & (y0[None, :] <= y1[:, None] + gap))
        groups = linked_groups(near)
        if groups.max() == len(rows) - 1:
            break
        count = groups.max() + 1
        lo_x, lo_y = np.full(count, np.inf), np.full(count, np.inf)
        hi_x, hi_y = np.full(count, -np.inf), np.full(count, -np.inf)
        np.minimum.at(lo_x, groups, x0)
        np.minimum.at(lo_y, groups, y0)
        np.maximum.at(hi_x, groups, x1)
        np.maximum.at(hi_y, groups, y1)
        rows = np.column_stack([lo_x, lo_y, hi_x - lo_x, hi_y - lo_y])
    return rows


def linked_groups(linked: np.ndarray) -> np.ndarray:
    """The connected groups of a symmetric link matrix.

    Args:
        linked: ``(N, N)`` bool, True where two items are linked (the diagonal True).

    Returns:
        ``(N,)`` group of each item, ``0 .. G - 1`` in the order of each group's first item.
    """
    labels = np.arange(len(linked))
    while True:
        spread = np.where(linked, labels[None, :], len(linked)).min(axis=1)
        if np.array_equal(spread, labels):
            break
        labels = spread[spread]  # jumping along the smallest labels halves the rounds
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def local_maxima(corners: np.ndarray, scores: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """Which grid points score highest among their neighbours (those at most one grid step away each way).

    Args:
        corners: ``(K, 2)`` grid points ``[x, y]``.
        scores: ``(K,)`` their scores.
        step: ``(rows, columns)`` grid step in pixels.

    Returns:
        ``(K,)`` bool; ties keep the first point listed.
    """
    corners, scores = np.asarray(corners).reshape(-1, 2), np.asarray(scores, float)
    near = (np.abs(corners[:, None, 0] - corners[None, :, 0]) <= step[1]) & (
        np.abs(corners[:, None, 1] - corners[None, :, 1]) <= step[0])
    order = np.arange(len(scores))
    beats = (scores[None, :] > scores[:, None]) | ((scores[None, :] == scores[:, None]) & (order[None, :] < order[:, None]))
    return ~(near & beats).any(axis=1)
