"""The crop reader's network: a small CNN that reads one plate crop as character scores per column (CTC).

Five 3x3 convolution stages (batch normalisation, ReLU) pool the crop's height to 1/16 and its width to 1/4; a
convolution over the remaining rows makes each column one feature vector, a 1x5 convolution gives each column its
neighbours' context, optional residual 1x3 convolutions dilated along the columns (``ReaderSpec.context_dilations``)
widen that context to most of the plate, and a 1x1 convolution scores the classes. A ``48 x 192`` crop gives 48
columns.
"""

from __future__ import annotations

import keras
from keras import layers

from recognizer.spec import ModelSpec, ReaderSpec
from recognizer.training.network import INPUT_OFFSET, INPUT_SCALE

COLUMN_STRIDE = 4
"""Crop pixels per column the network reads."""
_POOLS = ((2, 2), (2, 2), (2, 1), (2, 1), (1, 1))
"""Pooling after each convolution stage: height halved four times, width twice."""
_CONTEXT = 5
"""Columns each column's final features see."""


def _conv_bn_relu(x: keras.KerasTensor, filters: int, kernel: tuple[int, int], name: str) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_reader(model: ModelSpec, spec: ReaderSpec) -> keras.Model:
    """The crop reader.

    Args:
        model: Alphabet (classes).
        spec: Crop size and stage widths.

    Returns:
        A model taking ``(N, height, width, 1)`` gray levels (0-255) and returning ``(N, 1, width / 4, C)`` character
        logits per column, the last class being "no character" (CTC's blank).
    """
    inputs = keras.Input((spec.height, spec.width, 1), name="crop")
    x = layers.Rescaling(INPUT_SCALE, offset=INPUT_OFFSET, name="scale")(inputs)
    for i, (filters, pool) in enumerate(zip(spec.widths, _POOLS)):
        x = _conv_bn_relu(x, filters, (3, 3), f"stage{i + 1}")
        if pool != (1, 1):
            x = layers.MaxPooling2D(pool, name=f"stage{i + 1}_pool")(x)
    rows = spec.height // 16
    x = layers.Conv2D(2 * spec.widths[-1], (rows, 1), padding="valid", use_bias=False, name="collapse_conv")(x)
    x = layers.ReLU(name="collapse_relu")(layers.BatchNormalization(momentum=0.95, name="collapse_bn")(x))
    x = _conv_bn_relu(x, 2 * spec.widths[-1], (1, _CONTEXT), "context")
    for i, dilation in enumerate(spec.context_dilations):
        # convolution, ReLU, then batch norm whose scale starts at zero: a block adds nothing until it has learnt
        # something, so weights of a reader without these blocks load into one with them unchanged in effect
        y = layers.Conv2D(2 * spec.widths[-1], (1, 3), dilation_rate=(1, dilation), padding="same", use_bias=False,
                          name=f"wide{i + 1}_conv")(x)
        y = layers.BatchNormalization(momentum=0.95, gamma_initializer="zeros", name=f"wide{i + 1}_bn")(
            layers.ReLU(name=f"wide{i + 1}_relu")(y))
        x = layers.Add(name=f"wide{i + 1}_add")([x, y])
    columns = layers.Conv2D(model.classes, 1, name="columns")(x)
    return keras.Model(inputs, columns, name="reader")
