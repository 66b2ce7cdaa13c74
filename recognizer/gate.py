"""The gate: a tiny presence-only network that says, cheaply, where the plate network is worth running.

Four 3x3 convolutions of stride 2 ("valid" padding, no bias, batch normalisation, ReLU) bring a level down 16
times; a convolution over one window's whole feature map and a 1x1 convolution give one presence logit per
window. Run over a whole image, cell ``(i, j)`` is exactly the score of the window whose top-left corner is
``(GATE_STRIDE[1] * j, GATE_STRIDE[0] * i)``. It reads gray levels 0-255 as they are (the first batch
normalisation scales them), and costs about a twentieth of the plate network per pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognizer.engine import onnx_session
from recognizer.spec import GateSpec, ModelSpec

GATE_STRIDE = (16, 16)
"""``(rows, columns)`` pixels between the windows the gate scores."""

GateScores = Callable[[np.ndarray], np.ndarray]
"""Presence probabilities ``(rows, cols)`` of the windows of an ``(h, w)`` uint8 image, ``GATE_STRIDE`` apart."""


def gate_head_shape(model: ModelSpec) -> tuple[int, int]:
    """``(rows, cols)`` of one window's feature map after the four stride-2 convolutions."""

    def shrink(n: int) -> int:
        for _ in range(4):
            n = (n - 3) // 2 + 1
        return n

    return shrink(model.window_height), shrink(model.window_width)


def build_gate(model: ModelSpec, gate: GateSpec):  # type: ignore[no-untyped-def]
    """The fully convolutional gate network.

    Args:
        model: Window size.
        gate: Filters of its four blocks and of its window head.

    Returns:
        A Keras model taking ``(N, H, W, 1)`` gray levels 0-255 and returning ``(N, h, w, 1)`` presence logits;
        ``h = w = 1`` for one window.
    """
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 1), name="image")
    x = inputs
    for i, filters in enumerate(gate.widths):
        x = layers.Conv2D(filters, 3, strides=2, padding="valid", use_bias=False, name=f"gate{i + 1}_conv")(x)
        x = layers.BatchNormalization(momentum=0.95, name=f"gate{i + 1}_bn")(x)
        x = layers.ReLU(name=f"gate{i + 1}_relu")(x)
    x = layers.Conv2D(gate.hidden, gate_head_shape(model), activation="relu", name="gate_head")(x)
    presence = layers.Conv2D(1, 1, name="gate_presence")(x)
    return keras.Model(inputs, presence, name="gate")


def load_onnx_gate(path: Path, threads: int = 2) -> GateScores:
    """The gate's ONNX export in ONNX Runtime.

    Args:
        path: ``.onnx`` file written by ``anpr train-gate``.
        threads: Intra-op threads.

    Raises:
        FileNotFoundError: If the file is missing.
    """
    if not path.is_file():
        raise FileNotFoundError(f"gate model not found: {path} (train it with 'anpr train-gate', or set gate.onnx: null)")
    session = onnx_session(path, threads)
    name = session.get_inputs()[0].name

    def scores(image: np.ndarray) -> np.ndarray:
        [logits] = session.run(None, {name: image[None, :, :, None].astype(np.float32)})
        logits = logits.reshape(logits.shape[-3:-1])  # (1, h, w, 1), or with a leading 1 as some exports give it
        return 1.0 / (1.0 + np.exp(-logits))

    return scores
