"""Running the trained network: ONNX Runtime (no TensorFlow needed) or Keras, on windows or whole images."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from recognizer.decode import columns_to_slots, sigmoid, softmax
from recognizer.fitting import FormatFit
from recognizer.outputs import BOX_CHANNELS, PRESENCE, WINDOW_CHANNELS, column_steps, columns_per_window
from recognizer.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    """Network outputs for windows, with leading shape ``S``: ``(N,)`` for a batch of windows, or ``(h, w)``
    for a whole image, cell ``(i, j)`` being the window at ``(STRIDE[1] * j, STRIDE[0] * i)``.

    Attributes:
        presence: ``S`` presence probabilities.
        boxes: ``S + (4,)`` plate boxes ``[x0, y0, x1, y1]`` as shares of the window's width and height.
        columns: Character probabilities per column: ``(N, T, C)`` for a batch (``T`` columns per window);
            ``(h, s * (w - 1) + T, C)`` for an image, window ``(i, j)`` owning columns ``s * j .. s * j + T - 1``
            of row ``i``.
        positions: Positions ``P`` a window's reading is laid out on.
        span: ``T``, the columns one window reads.
        column_steps: ``s``, columns between neighbouring windows (:func:`recognizer.outputs.column_steps`).
        fit: The camera's plate formats, when they constrain its readings: a window whose plain reading has a
            number of characters none of them has is re-read as the likeliest alignment that fits one.
    """

    presence: np.ndarray
    boxes: np.ndarray
    columns: np.ndarray
    positions: int
    span: int
    column_steps: int
    fit: FormatFit | None = None

    def window_columns(self, indices: np.ndarray) -> np.ndarray:
        """``(K, T, C)`` column probabilities of the windows at flat indices ``(K,)`` into ``S``."""
        indices = np.asarray(indices, int).reshape(-1)
        if self.presence.ndim == 1:
            return self.columns[indices]
        row, col = np.divmod(indices, self.presence.shape[1])
        first = self.column_steps * col
        return self.columns[row[:, None], first[:, None] + np.arange(self.span)]

    def chars_at(self, indices: np.ndarray) -> np.ndarray:
        """Per-position character probabilities of some windows.

        Args:
            indices: ``(K,)`` flat indices into ``S``.

        Returns:
            ``(K, P, C)`` probabilities (:func:`recognizer.decode.columns_to_slots` of each window's columns, and
            :meth:`recognizer.fitting.FormatFit.refit` where the formats constrain).
        """
        columns = self.window_columns(indices).astype(np.float32, copy=False)
        slots = columns_to_slots(columns, self.positions)
        return slots if self.fit is None else self.fit.refit(columns, slots)


class Runner(Protocol):
    """Maps ``(N, H, W, 1)`` float32 images to the raw ``(window, columns)`` score maps of
    :func:`recognizer.training.network.build_network`."""

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class PlateNetwork:
    """The trained network behind one interface for both the batched-window and fully convolutional paths.

    Args:
        runner: Callable producing raw scores.
        model: Window spec.
        fit: Plate formats that constrain the readings (:attr:`Scores.fit`); None: plain readings.
    """

    def __init__(self, runner: Runner, model: ModelSpec, fit: FormatFit | None = None) -> None:
        self.runner = runner
        self.model = model
        self.fit = fit

    def _scores(self, window: np.ndarray, columns: np.ndarray) -> Scores:
        return Scores(sigmoid(window[..., PRESENCE]), window[..., BOX_CHANNELS], softmax(columns), self.model.positions,
                      columns_per_window(self.model), column_steps(self.model), self.fit)

    def predict_windows(self, windows: np.ndarray) -> Scores:
        """Scores a batch of windows.

        Args:
            windows: ``(N, H, W)`` uint8 windows of the model's window size.

        Returns:
            Scores with leading shape ``(N,)``.
        """
        if len(windows) == 0:
            t = columns_per_window(self.model)
            return self._scores(np.zeros((0, WINDOW_CHANNELS), np.float32), np.zeros((0, t, self.model.classes), np.float32))
        window, columns = self.runner(windows[..., None].astype(np.float32))
        return self._scores(window[:, 0, 0], columns[:, 0])

    def score_map(self, image: np.ndarray) -> Scores:
        """Runs the network fully convolutionally over one image.

        Args:
            image: ``(H, W)`` uint8 image, at least one window in size.

        Returns:
            Scores with leading shape ``(h, w)``, at least ``(H - window_height) // STRIDE[0] + 1`` by
            ``(W - window_width) // STRIDE[1] + 1``.
        """
        window, columns = self.runner(image[None, ..., None].astype(np.float32))
        return self._scores(window[0], columns[0])


def load_keras_network(weights: Path, model: ModelSpec) -> PlateNetwork:
    """The network in Keras (imports TensorFlow).

    Args:
        weights: ``.weights.h5`` file of :func:`recognizer.training.network.build_network`'s layers.
        model: Window spec.

    Raises:
        FileNotFoundError: If the weights file is missing.
    """
    if not weights.is_file():
        raise FileNotFoundError(f"model weights not found: {weights}")
    from recognizer.training.network import build_network

    net = build_network(model)
    net.load_weights(weights)
    return keras_network(net, model)


def keras_network(net, model: ModelSpec) -> PlateNetwork:  # type: ignore[no-untyped-def]
    """Wraps a Keras model from :func:`recognizer.training.network.build_network`."""

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        window, columns = net(x, training=False)
        return np.asarray(window), np.asarray(columns)

    return PlateNetwork(run, model)


def export_onnx(weights: Path, model: ModelSpec, out: Path) -> None:
    """Writes the ONNX form of a Keras weights file (any input size), its input scaling folded into the first
    convolution (:func:`recognizer.training.network.fold_input_scale`).

    Args:
        weights: ``.weights.h5`` file.
        model: Window spec.
        out: The ``.onnx`` file to write.
    """
    from recognizer.training.network import build_network, fold_input_scale

    net = build_network(model)
    net.load_weights(weights)
    net = fold_input_scale(net, model)
    net(np.zeros((1, *model.window_shape, 1), np.float32))
    out.parent.mkdir(parents=True, exist_ok=True)
    net.export(str(out), format="onnx", verbose=False)


def int8_path(onnx: Path) -> Path:
    """Where the 8-bit form of an ONNX file is kept (:mod:`recognizer.training.quantize`): ``anpr.onnx`` -> ``anpr.int8.onnx``."""
    return onnx.with_suffix(".int8.onnx")


def onnx_session(path: Path, threads: int):  # type: ignore[no-untyped-def]
    """An ONNX Runtime CPU session with ``threads`` intra-op threads, quiet.

    Quantization steps stay where the 8-bit export put them (``QDQPropagationTransformer`` off): moved back ahead
    of the max pooling after the 8-bit network's float input convolution
    (:func:`recognizer.training.quantize.float_input_convolution`), they would make that an 8-bit convolution
    again, its weights quantized anew by ONNX Runtime (``WeightBiasQuantization``: logits up to 8 off on the AVX2
    development machine), and the pooling a slow planar 8-bit one (13 ms of a 1280x176 band's 40, against 1.1 ms in
    float).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                disabled_optimizers=["QDQPropagationTransformer"])


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
    session = onnx_session(path, threads)
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        window, columns = session.run(outputs, {name: x})
        return window, columns

    return PlateNetwork(run, model)
