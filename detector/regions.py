"""Which windows of a pyramid level to score when only parts of the frame are scanned, and the crops that do it.

A level's windows form a grid (:func:`detector.scanner.window_grid`): cell ``(i, j)`` is the window whose top-left
corner is ``(stride[1] * j, stride[0] * i)`` in level pixels. A frame rectangle selects every window that touches
it, so a plate lying anywhere inside the rectangle is seen by every window that holds any of it, as in a full scan.
The selected cells are grouped into blocks, rectangles of cells; a block's crop of the level image starts on a
multiple of the stride, so the network run fully convolutionally over the crop scores its windows exactly as it
does over the whole level.
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.geometry import join_pairs

WHOLE_LEVEL_SHARE = 0.75
"""Blocks whose crops would cover more than this share of a level's pixels give way to the whole level."""


def touched_blocks(regions: np.ndarray, scale: float, grid_shape: tuple[int, int], window_shape: tuple[int, int],
                   stride: tuple[int, int]) -> np.ndarray:
    """The cells of the windows that touch each frame rectangle, one block per rectangle.

    A rectangle that touches no window (too small, or in the strip a whole window cannot reach at the level's
    right or bottom edge) gets the nearest one, so every rectangle is scanned by at least one window.

    Args:
        regions: ``(K, 4)`` rectangles ``[x, y, w, h]`` in frame pixels.
        scale: Level pixels per frame pixel.
        grid_shape: ``(rows, cols)`` of the level's window grid.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` step between windows.

    Returns:
        ``(K, 4)`` int blocks ``[row0, col0, row1, col1]`` (end exclusive), inside the grid.
    """
    regions = np.asarray(regions, np.float64).reshape(-1, 4)
    rows, cols = grid_shape
    (wh, ww), (sy, sx) = window_shape, stride
    x0, y0 = regions[:, 0] * scale, regions[:, 1] * scale
    x1, y1 = (regions[:, 0] + regions[:, 2]) * scale, (regions[:, 1] + regions[:, 3]) * scale
    # Window j spans [sx * j, sx * j + ww): it touches [x0, x1) when sx * j < x1 and sx * j + ww > x0.
    col0 = np.floor((x0 - ww) / sx).astype(int) + 1
    col1 = np.ceil(x1 / sx).astype(int)
    row0 = np.floor((y0 - wh) / sy).astype(int) + 1
    row1 = np.ceil(y1 / sy).astype(int)
    col0, row0 = np.clip(col0, 0, cols - 1), np.clip(row0, 0, rows - 1)
    col1, row1 = np.clip(col1, col0 + 1, cols), np.clip(row1, row0 + 1, rows)
    return np.column_stack([row0, col0, row1, col1]).astype(int)


def block_pixels(blocks: np.ndarray, window_shape: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """The level pixels each block's windows cover.

    Args:
        blocks: ``(K, 4)`` blocks ``[row0, col0, row1, col1]``.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` step between windows.

    Returns:
        ``(K, 4)`` int crops ``[y0, x0, y1, x1]`` (end exclusive); ``y0`` and ``x0`` are multiples of the stride.
    """
    blocks = np.asarray(blocks, int).reshape(-1, 4)
    (wh, ww), (sy, sx) = window_shape, stride
    return np.column_stack([blocks[:, 0] * sy, blocks[:, 1] * sx, (blocks[:, 2] - 1) * sy + wh,
                            (blocks[:, 3] - 1) * sx + ww])


def _area(block: np.ndarray, window_shape: tuple[int, int], stride: tuple[int, int]) -> int:
    """Level pixels one block's windows cover (:func:`block_pixels` of one block, in plain integers: merging
    calls this for every pair of blocks)."""
    (wh, ww), (sy, sx) = window_shape, stride
    row0, col0, row1, col1 = (int(v) for v in block)
    return ((row1 - row0 - 1) * sy + wh) * ((col1 - col0 - 1) * sx + ww)


def merge_blocks(blocks: np.ndarray, window_shape: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Joins blocks into their bounding block wherever its crop is no larger than their two crops together
    (overlapping blocks, and close ones whose window margins would be scored twice), until none can be joined.

    Args:
        blocks: ``(K, 4)`` blocks ``[row0, col0, row1, col1]``.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` step between windows.

    Returns:
        ``(M, 4)`` blocks, ``M <= K``, covering every cell of the input.
    """

    def bounding(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        both = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])
        fits = _area(both, window_shape, stride) <= _area(a, window_shape, stride) + _area(b, window_shape, stride)
        return both if fits else None

    return np.array(join_pairs(list(np.asarray(blocks, int).reshape(-1, 4)), bounding), int).reshape(-1, 4)


def level_blocks(regions: np.ndarray, scale: float, level_shape: tuple[int, int], window_shape: tuple[int, int],
                 stride: tuple[int, int]) -> np.ndarray | None:
    """The blocks to score on one level for some frame rectangles.

    Args:
        regions: ``(K, 4)`` rectangles ``[x, y, w, h]`` in frame pixels, ``K >= 1``.
        scale: Level pixels per frame pixel.
        level_shape: ``(h, w)`` of the level image, at least one window.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` step between windows.

    Returns:
        ``(M, 4)`` blocks ``[row0, col0, row1, col1]``, or None where their crops would cover more than
        :data:`WHOLE_LEVEL_SHARE` of the level (score the whole level instead).
    """
    grid_shape = ((level_shape[0] - window_shape[0]) // stride[0] + 1, (level_shape[1] - window_shape[1]) // stride[1] + 1)
    blocks = merge_blocks(touched_blocks(regions, scale, grid_shape, window_shape, stride), window_shape, stride)
    crops = block_pixels(blocks, window_shape, stride)
    covered = int(((crops[:, 2] - crops[:, 0]) * (crops[:, 3] - crops[:, 1])).sum())
    return None if covered > WHOLE_LEVEL_SHARE * level_shape[0] * level_shape[1] else blocks


def band_blocks(blocks: np.ndarray, window_shape: tuple[int, int], stride: tuple[int, int], max_pixels: int) -> np.ndarray:
    """Splits each block into bands of its rows whose crops hold at most ``max_pixels`` level pixels (at least one
    row of windows each), so that scoring a large level or block never needs the memory of all of it at once.

    Args:
        blocks: ``(K, 4)`` blocks ``[row0, col0, row1, col1]``; ``[[0, 0, rows, cols]]`` is a whole level.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` step between windows.
        max_pixels: Most level pixels in one band's crop.

    Returns:
        ``(M, 4)`` blocks ``[row, col0, row + n, col1]`` covering the same cells, block by block, top to bottom.
    """
    (wh, ww), (sy, sx) = window_shape, stride
    bands = []
    for r0, c0, r1, c1 in np.asarray(blocks, int).reshape(-1, 4):
        width = (c1 - c0 - 1) * sx + ww
        per_band = max(1, (max_pixels // width - wh) // sy + 1)
        bands += [[start, c0, min(start + per_band, r1), c1] for start in range(r0, r1, per_band)]
    return np.array(bands, int).reshape(-1, 4)


def gate_crop(blocks: np.ndarray, level_shape: tuple[int, int], window_shape: tuple[int, int],
              stride: tuple[int, int], gate_stride: tuple[int, int]) -> np.ndarray:
    """The level pixels the gate must see to pass or reject every window near some blocks, as a whole-level gate
    would: the blocks' bounding crop grown by one gate stride, its corner on the gate's grid.

    Args:
        blocks: ``(K, 4)`` blocks ``[row0, col0, row1, col1]`` of the scanner's grid, ``K >= 1``.
        level_shape: ``(h, w)`` of the level image.
        window_shape: ``(height, width)`` of a window.
        stride: ``(rows, columns)`` of the scanner's grid.
        gate_stride: ``(rows, columns)`` pixels between the gate's windows.

    Returns:
        ``[y0, x0, y1, x1]`` int crop (end exclusive); ``y0`` and ``x0`` are multiples of the gate stride.
    """
    pixels = block_pixels(blocks, window_shape, stride)
    (gy, gx), (h, w) = gate_stride, level_shape
    y0, x0 = max(0, (pixels[:, 0].min() - gy) // gy * gy), max(0, (pixels[:, 1].min() - gx) // gx * gx)
    return np.array([y0, x0, min(h, pixels[:, 2].max() + gy), min(w, pixels[:, 3].max() + gx)])


def gate_blocks(gate: np.ndarray, threshold: float, gate_stride: tuple[int, int], grid_shape: tuple[int, int],
                stride: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The blocks of a level's window grid around the windows a gate network passes.

    The gate scores windows ``gate_stride`` apart, more coarsely than the scanner's grid; each window it passes
    selects the scanner's windows whose corners lie within one gate stride of its own, among which one sees the
    plate it glimpsed as the plate network was trained to (half a stride lost about one plate in a hundred more).

    Args:
        gate: ``(rows, cols)`` gate presence probabilities; cell ``(i, j)`` is the window at
            ``(origin[1] + gate_stride[1] * j, origin[0] + gate_stride[0] * i)``.
        threshold: Probability above which the gate passes a window.
        gate_stride: ``(rows, columns)`` pixels between the gate's windows.
        grid_shape: ``(rows, cols)`` of the scanner's window grid on the level.
        stride: ``(rows, columns)`` of the scanner's grid.
        origin: ``(y, x)`` level pixel of the gate's first window (a crop's corner).

    Returns:
        ``(M, 4)`` int blocks ``[row0, col0, row1, col1]``: the bounding blocks of the connected groups of selected
        cells; ``M = 0`` if the gate passes nothing.
    """
    i, j = np.nonzero(gate > threshold)
    if not len(i):
        return np.zeros((0, 4), int)
    (gy, gx), (sy, sx) = gate_stride, stride
    y, x = origin[0] + i * gy, origin[1] + j * gx
    rows, cols = grid_shape
    row0 = np.clip(np.ceil((y - gy) / sy).astype(int), 0, rows - 1)
    row1 = np.clip(np.floor((y + gy) / sy).astype(int) + 1, 1, rows)
    col0 = np.clip(np.ceil((x - gx) / sx).astype(int), 0, cols - 1)
    col1 = np.clip(np.floor((x + gx) / sx).astype(int) + 1, 1, cols)
    chosen = np.zeros(grid_shape, np.uint8)
    for r0, c0, r1, c1 in zip(row0, col0, row1, col1):
        chosen[r0:r1, c0:c1] = 1
    count, _, stats, _ = cv2.connectedComponentsWithStats(chosen, connectivity=8)
    left, top, width, height = stats[1:count, 0], stats[1:count, 1], stats[1:count, 2], stats[1:count, 3]
    return np.column_stack([top, left, top + height, left + width]).astype(int)


def intersect_blocks(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The non-empty intersections of every block of ``a`` with every block of ``b``.

    Args:
        a: ``(K, 4)`` blocks ``[row0, col0, row1, col1]``.
        b: ``(M, 4)`` blocks.

    Returns:
        ``(L, 4)`` blocks, ``L <= K * M``.
    """
    a, b = np.asarray(a, int).reshape(-1, 1, 4), np.asarray(b, int).reshape(1, -1, 4)
    both = np.concatenate([np.maximum(a[..., :2], b[..., :2]), np.minimum(a[..., 2:], b[..., 2:])], axis=-1).reshape(-1, 4)
    return both[(both[:, 2] > both[:, 0]) & (both[:, 3] > both[:, 1])]
