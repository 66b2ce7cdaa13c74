"""The plate network: presence and plate box per window, character scores per column.

A shared convolutional trunk feeds two heads. The window head looks at one window's whole feature map and
says whether a plate is present and where. The column head reads characters column by column (trained with
CTC), so overlapping windows share their columns and reading a window is a matter of decoding its own
``COLUMNS`` columns into at most ``positions`` characters (:func:`recognizer.decode.columns_to_slots`).

Every layer uses "valid" padding and the pooling strides multiply to ``STRIDE`` (windows) and
``model.column_stride`` (columns), so the network run over a whole image gives, at window cell ``(i, j)``,
exactly what it gives for the window whose top-left corner is ``(STRIDE[1] * j, STRIDE[0] * i)``; that window's
columns are columns ``s * j .. s * j + COLUMNS - 1`` of row ``i``, ``s`` being
:func:`recognizer.outputs.column_steps`.
"""

from __future__ import annotations

import keras
from keras import layers

from recognizer.outputs import WINDOW_CHANNELS, column_steps, head_shape, trunk_pools
from recognizer.spec import ModelSpec

_WINDOW_HIDDEN = 128
_COLUMN_HIDDEN = 192


def _conv_bn_relu(x: keras.KerasTensor, filters: int, kernel: tuple[int, int], name: str) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


INPUT_SCALE, INPUT_OFFSET = 1 / 127.5, -1.0
"""The network's first step maps gray levels 0-255 to ``level * INPUT_SCALE + INPUT_OFFSET``, -1 to 1."""


def build_network(model: ModelSpec, input_shape: tuple[int | None, int | None] = (None, None),
                  scale_input: bool = True) -> keras.Model:
    """The fully convolutional plate network.

    Args:
        model: Window size, alphabet and positions.
        input_shape: ``(height, width)`` of its input; ``None`` for any size.
        scale_input: Whether the network rescales its input itself; False for :func:`fold_input_scale`.

    Returns:
        A model taking ``(N, H, W, 1)`` gray levels (0-255) and returning two raw score maps:
        ``window`` ``(N, h, w, WINDOW_CHANNELS)`` (presence logit, then the plate box ``[x0, y0, x1, y1]`` as
        shares of the window) and ``columns`` ``(N, h, w + COLUMNS - 1, C)`` (character logits per column,
        the last class being "no character", CTC's blank; ``w + COLUMNS - 1`` is ``s * (w - 1) + COLUMNS``
        for :func:`recognizer.outputs.column_steps` ``s > 1``). For one window, ``h = w = 1``.
    """
    rows, cols = head_shape(model)
    inputs = keras.Input((*input_shape, 1), name="image")
    x = layers.Rescaling(INPUT_SCALE, offset=INPUT_OFFSET, name="scale")(inputs) if scale_input else inputs
    for i, (filters, pool) in enumerate(zip(model.trunk_widths, trunk_pools(model))):
        x = _conv_bn_relu(x, filters, (3, 3), f"block{i + 1}")
        x = layers.MaxPooling2D(pool, name=f"block{i + 1}_pool")(x)
    w = x
    if model.window_bottleneck is not None:
        w = _conv_bn_relu(w, model.window_bottleneck, (1, 1), "window_bottleneck")
    steps = column_steps(model)
    if steps > 1:
        w = layers.MaxPooling2D((1, steps), name="window_pool")(w)
    w = _conv_bn_relu(w, _WINDOW_HIDDEN, (rows, cols // steps), "window_head")
    window = layers.Conv2D(WINDOW_CHANNELS, 1, name="window")(w)
    c = _conv_bn_relu(x, _COLUMN_HIDDEN, (rows, 1), "column_head")
    columns = layers.Conv2D(model.classes, 1, name="columns")(c)
    return keras.Model(inputs, [window, columns], name="anpr")


def fold_input_scale(net: keras.Model, model: ModelSpec) -> keras.Model:
    """The same network without its input-rescaling step, folded into the first convolution.

    The first convolution has "valid" padding and no bias, so ``conv(a * x + b) = conv_a(x) + b * sum(kernel)``
    exactly: the kernel is scaled by ``a`` and the constant lands in the batch normalisation's moving mean.
    This spares the exported network two passes over every full-resolution pixel.

    Args:
        net: A network from :func:`build_network` with its trained weights.
        model: Its spec.

    Returns:
        A network giving the same outputs for the same 0-255 input.
    """
    folded = build_network(model, scale_input=False)
    for layer in folded.layers:
        weights = net.get_layer(layer.name).get_weights()
        if layer.name == "block1_conv":
            [kernel] = weights
            constant = INPUT_OFFSET * kernel.sum(axis=(0, 1, 2))
            weights = [kernel * INPUT_SCALE]
        elif layer.name == "block1_bn":
            gamma, beta, mean, variance = weights
            weights = [gamma, beta, mean - constant, variance]
        layer.set_weights(weights)
    return folded
