"""Layout of the network's outputs (no TensorFlow needed to read them)."""

from __future__ import annotations

from recognizer.spec import ModelSpec

STRIDE = (16, 8)
"""``(rows, columns)``: pixels between neighbouring windows when the network runs over a whole image."""

PRESENCE = 0
"""Window channel of the presence logit."""
BOX_CHANNELS = slice(1, 5)
"""Window channels of the plate box ``[x0, y0, x1, y1]`` as shares of the window's width and height."""
WINDOW_CHANNELS = 5
"""Channels of the window head."""


def trunk_pools(model: ModelSpec) -> tuple[tuple[int, int], ...]:
    """``(rows, columns)`` pooling of each trunk block; they multiply to ``(STRIDE[0], model.column_stride)``."""
    if model.column_stride == 4:
        return ((2, 2), (2, 2), (2, 1), (2, 1))
    return ((2, 2), (2, 2), (2, 2), (2, 1))


def column_steps(model: ModelSpec) -> int:
    """Character columns between neighbouring windows: window ``j`` of a row reads from column ``j * steps``."""
    return STRIDE[1] // model.column_stride


def head_shape(model: ModelSpec) -> tuple[int, int]:
    """``(rows, columns)`` of the trunk's feature map for one window: the column head reads its columns.

    Raises:
        ValueError: If the window is too small for the network.
    """
    h, w = model.window_height, model.window_width
    for ph, pw in trunk_pools(model):
        h, w = (h - 2) // ph, (w - 2) // pw
    if h < 1 or w < column_steps(model):
        raise ValueError(f"window {model.window_width}x{model.window_height} is too small for the network")
    return h, w


def columns_per_window(model: ModelSpec) -> int:
    """Character columns the network reads in one window."""
    return head_shape(model)[1]
