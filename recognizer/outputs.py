"""Layout of the network's output channels (no TensorFlow needed to read them)."""

from __future__ import annotations

from recognizer.spec import ModelSpec

STRIDE = (16, 8)
"""``(rows, columns)``: pixels between neighbouring windows when the network runs over a whole image.

Columns are twice as fine as rows: the last pooling keeps the horizontal resolution that reading needs."""

PRESENCE = 0
"""Channel of the presence logit."""
BOX_CHANNELS = slice(1, 5)
"""Channels of the plate box ``[x0, y0, x1, y1]`` as shares of the window's width and height."""
CHAR_OFFSET = 5
"""First character channel; ``P`` groups of ``C`` logits follow."""


def output_channels(model: ModelSpec) -> int:
    """Channels per output cell: presence, 4 box coordinates, ``P * C`` character scores."""
    return CHAR_OFFSET + model.positions * model.classes
