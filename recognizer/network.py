"""The plate network: one window in, presence and per-position character scores out.

Every layer uses "valid" padding and the pooling strides multiply to ``STRIDE``, so the same network run
over a whole image gives, at output cell ``(i, j)``, exactly what it gives for the window whose top-left
corner is ``(STRIDE[1] * j, STRIDE[0] * i)``.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from recognizer.outputs import STRIDE, output_channels
from recognizer.spec import ModelSpec

_WIDTHS = (24, 48, 80, 128)
_POOLS = ((2, 2), (2, 2), (2, 2), (2, 1))
_HIDDEN = 384
assert tuple(math.prod(p[i] for p in _POOLS) for i in (0, 1)) == STRIDE, "pooling strides make the output stride"


def _conv_block(x: keras.KerasTensor, filters: int, pool: tuple[int, int], name: str) -> keras.KerasTensor:
    x = layers.Conv2D(filters, 3, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.MaxPooling2D(pool, name=f"{name}_pool")(x)


def head_kernel(model: ModelSpec) -> tuple[int, int]:
    """``(rows, cols)`` of the feature map one window leaves for the head."""
    h, w = model.window_height, model.window_width
    for ph, pw in _POOLS:
        h, w = (h - 2) // ph, (w - 2) // pw
    if h < 1 or w < 1:
        raise ValueError(f"window {model.window_width}x{model.window_height} is too small for the network")
    return h, w


def build_network(model: ModelSpec, input_shape: tuple[int | None, int | None] = (None, None)) -> keras.Model:
    """The fully convolutional plate network.

    Args:
        model: Window size, alphabet and positions.
        input_shape: ``(height, width)`` of its input; ``None`` for any size.

    Returns:
        A model taking ``(N, H, W, 1)`` uint8-valued floats (0-255) and returning ``(N, H', W', OUTPUTS)``
        raw scores (see :func:`output_channels`): channel 0 is the presence logit, channels 1-4 the plate box
        ``[x0, y0, x1, y1]`` as shares of the window, then ``P`` groups of ``C`` character logits. For a
        ``window_height x window_width`` input ``H' = W' = 1``.
    """
    inputs = keras.Input((*input_shape, 1), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    for i, (filters, pool) in enumerate(zip(_WIDTHS, _POOLS)):
        x = _conv_block(x, filters, pool, f"block{i + 1}")
    x = layers.Conv2D(_HIDDEN, head_kernel(model), padding="valid", use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.Dropout(0.2, name="head_dropout")(x)
    outputs = layers.Conv2D(output_channels(model), 1, name="scores")(x)
    return keras.Model(inputs, outputs, name="anpr")

