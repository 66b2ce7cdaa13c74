"""The network's fully convolutional path against batched windows, and the ONNX export against Keras."""

from pathlib import Path

import numpy as np
import pytest

from detector.scanner import crop_windows, window_grid
from recognizer.engine import PlateNetwork, export_onnx, load_keras_network, load_onnx_network
from recognizer.outputs import STRIDE, WINDOW_CHANNELS, columns_per_window
from recognizer.spec import ModelSpec

MODEL = ModelSpec()


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> Path:
    import keras

    from recognizer.network import build_network

    keras.utils.set_random_seed(0)
    net = build_network(MODEL)
    path = tmp_path_factory.mktemp("net") / "random.weights.h5"
    net(np.zeros((1, 64, 128, 1), np.float32))
    net.save_weights(path)
    return path


def test_window_network_has_one_output_cell(random_weights):
    net = load_keras_network(random_weights, MODEL)
    window, columns = net.runner(np.zeros((2, 64, 128, 1), np.float32))
    assert window.shape == (2, 1, 1, WINDOW_CHANNELS)
    assert columns.shape == (2, 1, columns_per_window(MODEL), MODEL.classes)
    assert columns_per_window(MODEL) >= 2 * MODEL.positions - 2  # room for CTC blanks between repeats
    assert 2e5 < sum(int(np.prod(w.shape)) for w in _keras_weights(random_weights)) < 5e6


def _keras_weights(path):
    from recognizer.network import build_network

    net = build_network(MODEL)
    net.load_weights(path)
    return net.weights


def test_fully_convolutional_equals_batched_windows(random_weights):
    net = load_keras_network(random_weights, MODEL)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64 + 3 * STRIDE[0] + 7, 128 + 5 * STRIDE[1] + 3), dtype=np.uint8)
    dense = net.score_map(image)
    grid = window_grid(image.shape, MODEL.window_shape, STRIDE)
    rows, cols = grid.shape[:2]
    batched = net.predict_windows(crop_windows(image, grid.reshape(-1, 2), MODEL.window_shape))
    np.testing.assert_allclose(dense.presence[:rows, :cols].reshape(-1), batched.presence, atol=1e-4)
    np.testing.assert_allclose(dense.boxes[:rows, :cols].reshape(-1, 4), batched.boxes, atol=1e-4)
    for index in range(rows * cols):
        r, c = divmod(index, cols)
        np.testing.assert_allclose(dense.window_columns(r * dense.presence.shape[1] + c), batched.columns[index], atol=1e-4)
    flat = np.array([r * dense.presence.shape[1] + c for r in range(rows) for c in range(cols)])
    np.testing.assert_allclose(dense.chars_at(flat), batched.chars_at(np.arange(rows * cols)), atol=1e-4)


def test_onnx_export_gives_keras_answers(random_weights, tmp_path):
    onnx_path = tmp_path / "net.onnx"
    export_onnx(random_weights, MODEL, onnx_path)
    keras_net = load_keras_network(random_weights, MODEL)
    onnx_net: PlateNetwork = load_onnx_network(onnx_path, MODEL)
    image = np.random.default_rng(1).integers(0, 256, (150, 300), dtype=np.uint8)
    a, b = keras_net.score_map(image), onnx_net.score_map(image)
    np.testing.assert_allclose(a.presence, b.presence, atol=1e-4)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
    np.testing.assert_allclose(a.columns, b.columns, atol=1e-4)


def test_missing_weights_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_onnx_network(tmp_path / "none.onnx", MODEL)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_keras_network(tmp_path / "none.weights.h5", MODEL)
