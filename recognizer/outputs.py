"""Layout of the network's outputs (no TensorFlow needed to read them)."""

from __future__ import annotations

from recognizer.spec import ModelSpec

STRIDE = (16, 8)
"""``(rows, columns)``: pixels between neighbouring windows, and between character columns, when the
network runs over a whole image. Columns are twice as fine as rows: reading needs the horizontal detail."""

TRUNK_POOLS = ((2, 2), (2, 2), (2, 2), (2, 1))
"""``(rows, columns)`` pooling of each trunk block; they multiply to ``STRIDE``."""

PRESENCE = 0
"""Window channel of the presence logit."""
BOX_CHANNELS = slice(1, 5)
"""Window channels of the plate box ``[x0, y0, x1, y1]`` as shares of the window's width and height."""
WINDOW_CHANNELS = 5
"""Channels of the window head."""


def head_shape(model: ModelSpec) -> tuple[int, int]:
    """``(rows, columns)`` of the trunk's feature map for one window; the window head's kernel.

    Raises:
        ValueError: If the window is too small for the trunk.
    """
    h, w = model.window_height, model.window_width
    for ph, pw in TRUNK_POOLS:
        h, w = (h - 2) // ph, (w - 2) // pw
    if h < 1 or w < 1:
        raise ValueError(f"window {model.window_width}x{model.window_height} is too small for the network")
    return h, w


def columns_per_window(model: ModelSpec) -> int:
    """Character columns the network reads in one window."""
    return head_shape(model)[1]
