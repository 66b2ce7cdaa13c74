"""The plate network: presence and plate box per window, character scores per column.

A shared convolutional trunk feeds two heads. The window head looks at one window's whole feature map and
says whether a plate is present and where. The column head reads characters column by column (trained with
CTC), so overlapping windows share their columns and reading a window is a matter of decoding its own
``COLUMNS`` columns into at most ``positions`` characters (:func:`recognizer.decode.columns_to_slots`).

Every layer uses "valid" padding and the pooling strides multiply to ``STRIDE``, so the network run over a
whole image gives, at window cell ``(i, j)``, exactly what it gives for the window whose top-left corner is
``(STRIDE[1] * j, STRIDE[0] * i)``; that window's columns are columns ``j .. j + COLUMNS - 1`` of row ``i``.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from recognizer.outputs import STRIDE, TRUNK_POOLS, WINDOW_CHANNELS, head_shape
from recognizer.spec import ModelSpec

_WIDTHS = (24, 48, 80, 128)
_WINDOW_HIDDEN = 128
_COLUMN_HIDDEN = 192
assert tuple(math.prod(p[i] for p in TRUNK_POOLS) for i in (0, 1)) == STRIDE, "pooling strides make the output stride"


def _conv_bn_relu(x: keras.KerasTensor, filters: int, kernel: tuple[int, int], name: str) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_network(model: ModelSpec, input_shape: tuple[int | None, int | None] = (None, None)) -> keras.Model:
    """The fully convolutional plate network.

    Args:
        model: Window size, alphabet and positions.
        input_shape: ``(height, width)`` of its input; ``None`` for any size.

    Returns:
        A model taking ``(N, H, W, 1)`` gray levels (0-255) and returning two raw score maps:
        ``window`` ``(N, h, w, WINDOW_CHANNELS)`` (presence logit, then the plate box ``[x0, y0, x1, y1]`` as
        shares of the window) and ``columns`` ``(N, h, w + COLUMNS - 1, C)`` (character logits per column,
        the last class being "no character", CTC's blank). For one window, ``h = w = 1``.
    """
    rows, cols = head_shape(model)
    inputs = keras.Input((*input_shape, 1), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    for i, (filters, pool) in enumerate(zip(_WIDTHS, TRUNK_POOLS)):
        x = _conv_bn_relu(x, filters, (3, 3), f"block{i + 1}")
        x = layers.MaxPooling2D(pool, name=f"block{i + 1}_pool")(x)
    w = _conv_bn_relu(x, _WINDOW_HIDDEN, (rows, cols), "window_head")
    window = layers.Conv2D(WINDOW_CHANNELS, 1, name="window")(w)
    c = _conv_bn_relu(x, _COLUMN_HIDDEN, (rows, 1), "column_head")
    columns = layers.Conv2D(model.classes, 1, name="columns")(c)
    return keras.Model(inputs, [window, columns], name="anpr")
