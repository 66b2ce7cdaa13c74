"""The gate: a tiny presence-only network that says, cheaply, where the plate network is worth running.

Strided convolutions ("valid" padding, no bias, batch normalisation, ReLU; ``gate.blocks``) bring a level down
``gate.stride`` (16) times; a convolution over one window's whole feature map and a 1x1 convolution give one
presence logit per window. Run over a whole image, cell ``(i, j)`` is exactly the score of the window whose
top-left corner is ``(stride * j, stride * i)``. It reads gray levels 0-255 as they are (the first batch
normalisation scales them), and costs a small share of the plate network per pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognizer.engine import onnx_session
from recognizer.spec import GateSpec, ModelSpec

GateScores = Callable[[np.ndarray], np.ndarray]
"""Presence probabilities ``(rows, cols)`` of the windows of an ``(h, w)`` uint8 image, ``gate.stride`` apart."""


def gate_head_shape(model: ModelSpec, gate: GateSpec) -> tuple[int, int]:
    """``(rows, cols)`` of one window's feature map after the gate's blocks.

    Raises:
        ValueError: If the blocks shrink a window to nothing.
    """

    def shrink(n: int) -> int:
        for block in gate.blocks:
            if n < block.kernel:
                raise ValueError(f"gate.blocks: a {model.window_height}x{model.window_width} window is shrunk to "
                                 f"{n} pixels, less than a {block.kernel}-pixel kernel")
            n = (n - block.kernel) // block.stride + 1
        return n

    return shrink(model.window_height), shrink(model.window_width)


def build_gate(model: ModelSpec, gate: GateSpec):  # type: ignore[no-untyped-def]
    """The fully convolutional gate network.

    Args:
        model: Window size.
        gate: Its blocks and the filters of its window head.

    Returns:
        A Keras model taking ``(N, H, W, 1)`` gray levels 0-255 and returning ``(N, h, w, 1)`` presence logits;
        ``h = w = 1`` for one window.
    """
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 1), name="image")
    x = inputs
    for i, block in enumerate(gate.blocks):
        x = layers.Conv2D(block.filters, block.kernel, strides=block.stride, padding="valid", use_bias=False,
                          name=f"gate{i + 1}_conv")(x)
        x = layers.BatchNormalization(momentum=0.95, name=f"gate{i + 1}_bn")(x)
        x = layers.ReLU(name=f"gate{i + 1}_relu")(x)
    x = layers.Conv2D(gate.hidden, gate_head_shape(model, gate), activation="relu", name="gate_head")(x)
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
