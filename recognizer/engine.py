"""Running the trained network: ONNX Runtime (no TensorFlow needed) or Keras, on windows or whole images."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from recognizer.decode import sigmoid, softmax
from recognizer.outputs import BOX_CHANNELS, CHAR_OFFSET, PRESENCE, output_channels
from recognizer.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    """Network outputs for windows: a batch ``(N, ...)`` or a whole-image map ``(h, w, ...)``.

    On a map, cell ``(i, j)`` is the window whose top-left corner is ``(STRIDE[1] * j, STRIDE[0] * i)``.

    Attributes:
        presence: ``(...)`` presence probabilities.
        boxes: ``(..., 4)`` plate boxes ``[x0, y0, x1, y1]`` as shares of the window's width and height.
        chars: ``(..., P, C)`` character probabilities.
    """

    presence: np.ndarray
    boxes: np.ndarray
    chars: np.ndarray


class Runner(Protocol):
    """Maps ``(N, H, W, 1)`` float32 images to ``(N, h, w, OUTPUTS)`` raw scores."""

    def __call__(self, images: np.ndarray) -> np.ndarray: ...


class PlateNetwork:
    """The trained network behind one interface for both the batched-window and fully convolutional paths.

    Args:
        runner: Callable producing raw scores.
        model: Window spec.
    """

    def __init__(self, runner: Runner, model: ModelSpec) -> None:
        self.runner = runner
        self.model = model

    def _split(self, scores: np.ndarray) -> Scores:
        m = self.model
        lead = scores.shape[:-1]
        return Scores(sigmoid(scores[..., PRESENCE]), scores[..., BOX_CHANNELS],
                      softmax(scores[..., CHAR_OFFSET:].reshape(*lead, m.positions, m.classes)))

    def predict_windows(self, windows: np.ndarray) -> Scores:
        """Scores a batch of windows.

        Args:
            windows: ``(N, H, W)`` uint8 windows of the model's window size.

        Returns:
            Scores with leading shape ``(N,)``.
        """
        if len(windows) == 0:
            return self._split(np.zeros((0, output_channels(self.model)), np.float32))
        scores = self.runner(windows[..., None].astype(np.float32))
        return self._split(scores.reshape(len(windows), output_channels(self.model)))

    def score_map(self, image: np.ndarray) -> Scores:
        """Runs the network fully convolutionally over one image.

        Args:
            image: ``(H, W)`` uint8 image, at least one window in size.

        Returns:
            Scores with leading shape ``(h, w)``, at least ``(H - window_height) // STRIDE[0] + 1`` by
            ``(W - window_width) // STRIDE[1] + 1``.
        """
        return self._split(self.runner(image[None, ..., None].astype(np.float32))[0])


def load_keras_network(weights: Path, model: ModelSpec) -> PlateNetwork:
    """The network in Keras (imports TensorFlow).

    Args:
        weights: ``.weights.h5`` file of :func:`recognizer.network.build_network`'s layers.
        model: Window spec.

    Raises:
        FileNotFoundError: If the weights file is missing.
    """
    if not weights.is_file():
        raise FileNotFoundError(f"model weights not found: {weights}")
    from recognizer.network import build_network

    net = build_network(model)
    net.load_weights(weights)
    return PlateNetwork(lambda x: np.asarray(net(x, training=False)), model)


def export_onnx(weights: Path, model: ModelSpec, out: Path) -> None:
    """Writes the ONNX form of a Keras weights file (any input size).

    Args:
        weights: ``.weights.h5`` file.
        model: Window spec.
        out: The ``.onnx`` file to write.
    """
    from recognizer.network import build_network

    net = build_network(model)
    net.load_weights(weights)
    net(np.zeros((1, *model.window_shape, 1), np.float32))
    out.parent.mkdir(parents=True, exist_ok=True)
    net.export(str(out), format="onnx", verbose=False)


def load_onnx_network(path: Path, model: ModelSpec, threads: int = 2) -> PlateNetwork:
    """The network in ONNX Runtime.

    Args:
        path: ``.onnx`` file from :func:`export_onnx`.
        model: Window spec.
        threads: Intra-op threads.

    Raises:
        FileNotFoundError: If the file is missing.
    """
    if not path.is_file():
        raise FileNotFoundError(f"ONNX model not found: {path} (export it with 'anpr export')")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return PlateNetwork(lambda x: session.run(None, {name: x})[0], model)
