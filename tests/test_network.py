"""The network's fully convolutional path against batched windows, and the ONNX export against Keras."""

from pathlib import Path

import numpy as np
import pytest

from detector.scanner import crop_windows, window_grid
from recognizer.engine import PlateNetwork, export_onnx, load_keras_network, load_onnx_network
from recognizer.outputs import STRIDE, WINDOW_CHANNELS, columns_per_window
from recognizer.spec import ModelSpec

MODEL = ModelSpec()  # columns every 4 pixels, a bottleneck before the window head
COARSE_COLUMNS = ModelSpec(trunk_widths=(24, 48, 80, 128), column_stride=8, window_bottleneck=None)  # the first layout


@pytest.fixture(scope="module", params=[MODEL, COARSE_COLUMNS], ids=["columns4", "columns8"])
def random_net(request, tmp_path_factory) -> tuple[Path, ModelSpec]:
    """Random weights of each network layout, and that layout."""
    import keras

    from recognizer.training.network import build_network

    keras.utils.set_random_seed(0)
    net = build_network(request.param)
    path = tmp_path_factory.mktemp("net") / "random.weights.h5"
    net(np.zeros((1, 64, 128, 1), np.float32))
    net.save_weights(path)
    return path, request.param


def test_window_network_has_one_output_cell(random_net):
    weights, model = random_net
    net = load_keras_network(weights, model)
    window, columns = net.runner(np.zeros((2, 64, 128, 1), np.float32))
    assert window.shape == (2, 1, 1, WINDOW_CHANNELS)
    assert columns.shape == (2, 1, columns_per_window(model), model.classes)
    assert columns_per_window(model) >= 2 * model.positions - 2  # room for CTC blanks between repeats
    assert 2e5 < sum(int(np.prod(w.shape)) for w in _keras_weights(weights, model)) < 5e6


def test_finer_columns_double_the_columns():
    assert columns_per_window(MODEL) == 26
    assert columns_per_window(COARSE_COLUMNS) == 12


def _keras_weights(path, model):
    from recognizer.training.network import build_network

    net = build_network(model)
    net.load_weights(path)
    return net.weights


def test_fully_convolutional_equals_batched_windows(random_net):
    weights, model = random_net
    net = load_keras_network(weights, model)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64 + 3 * STRIDE[0] + 7, 128 + 5 * STRIDE[1] + 3), dtype=np.uint8)
    dense = net.score_map(image)
    grid = window_grid(image.shape, model.window_shape, STRIDE)
    rows, cols = grid.shape[:2]
    batched = net.predict_windows(crop_windows(image, grid.reshape(-1, 2), model.window_shape))
    np.testing.assert_allclose(dense.presence[:rows, :cols].reshape(-1), batched.presence, atol=1e-4)
    np.testing.assert_allclose(dense.boxes[:rows, :cols].reshape(-1, 4), batched.boxes, atol=1e-4)
    flat = np.array([r * dense.presence.shape[1] + c for r in range(rows) for c in range(cols)])
    np.testing.assert_allclose(dense.window_columns(flat), batched.columns, atol=1e-4)
    np.testing.assert_allclose(dense.chars_at(flat), batched.chars_at(np.arange(rows * cols)), atol=1e-4)


def test_onnx_export_gives_keras_answers(random_net, tmp_path):
    weights, model = random_net
    onnx_path = tmp_path / "net.onnx"
    export_onnx(weights, model, onnx_path)
    keras_net = load_keras_network(weights, model)
    onnx_net: PlateNetwork = load_onnx_network(onnx_path, model)
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


def test_int8_export_keeps_float_input_and_output_convolutions_and_close_scores(random_net, tmp_path):
    import onnx

    from recognizer.engine import int8_path
    from recognizer.training.quantize import output_convolutions, quantize_int8
    from recognizer.spec import RendererSpec

    weights, model = random_net
    onnx_path = tmp_path / "net.onnx"
    export_onnx(weights, model, onnx_path)
    quantize_int8(onnx_path, model, RendererSpec(), int8_path(onnx_path))
    graph = onnx.load(str(int8_path(onnx_path))).graph
    producer = {out: node for node in graph.node for out in node.output}
    heads = output_convolutions(graph)
    assert len(heads) == 2
    floats = {next(node.name for node in graph.node if node.op_type == "Conv"), *heads}  # the input's, the heads
    assert len(floats) == 3
    for node in graph.node:
        if node.op_type == "Conv":
            weight_source = producer.get(node.input[1])  # None: a float initializer
            quantized = weight_source is not None and weight_source.op_type == "DequantizeLinear"
            assert quantized == (node.name not in floats), node.name
    image = np.random.default_rng(2).integers(0, 256, (150, 300), dtype=np.uint8)
    a = load_onnx_network(onnx_path, model).score_map(image)
    b = load_onnx_network(int8_path(onnx_path), model).score_map(image)
    assert a.columns.shape == b.columns.shape and a.presence.shape == b.presence.shape
    np.testing.assert_allclose(a.presence, b.presence, atol=0.05)
    assert (a.columns.argmax(-1) == b.columns.argmax(-1)).mean() > 0.9


def test_the_int8_input_convolution_made_float_scores_as_in_8_bits(random_net, tmp_path, monkeypatch):
    import onnx

    import recognizer.training.quantize as quantize
    from recognizer.spec import RendererSpec

    weights, model = random_net
    export_onnx(weights, model, tmp_path / "net.onnx")
    monkeypatch.setattr(quantize, "float_input_convolution", lambda model: None)
    quantize.quantize_int8(tmp_path / "net.onnx", model, RendererSpec(), tmp_path / "eight_bits.onnx")
    transformed = onnx.load(str(tmp_path / "eight_bits.onnx"))
    monkeypatch.undo()
    quantize.float_input_convolution(transformed)
    onnx.save(transformed, str(tmp_path / "float_input.onnx"))
    first = next(node for node in transformed.graph.node if node.op_type == "Conv")
    assert {tensor.name for tensor in transformed.graph.initializer} >= set(first.input[1:])  # float weights and bias
    image = np.random.default_rng(3).integers(0, 256, (150, 300), dtype=np.uint8)
    a = load_onnx_network(tmp_path / "eight_bits.onnx", model).score_map(image)
    b = load_onnx_network(tmp_path / "float_input.onnx", model).score_map(image)
    # the same up to a rounding tie now and then in the first layer's 8-bit output (float sums of the same products)
    np.testing.assert_allclose(a.presence, b.presence, atol=1e-3)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=3e-3)
    np.testing.assert_allclose(a.columns, b.columns, atol=1e-3)
    assert (a.columns.argmax(-1) == b.columns.argmax(-1)).all()
    with pytest.raises(ValueError, match="max pooling"):
        quantize.float_input_convolution(transformed)  # already float: its output is no longer quantized before pooling


def test_shipped_int8_network_reads_as_the_float_one_on_this_cpu():
    """The 8-bit engine (the default) on generated windows: the same presence decisions as the float network and
    nearly as many plates read. Quantized weights of a full 8 bits overflow ONNX Runtime's 16-bit sums on x86 CPUs
    without VNNI (AVX2 only) and halve the reads there; the export keeps them to 7 bits."""
    from recognizer.decode import decode
    from recognizer.engine import int8_path
    from recognizer.spec import RendererSpec
    from recognizer.synth.windows import WindowGenerator
    from stream.config import load_config, resolve

    config = load_config()
    batch = WindowGenerator(config.model, RendererSpec(), 3).batch(np.random.default_rng(3), 256)
    onnx_path = resolve(config.recognizer.onnx)
    shipped = [load_onnx_network(path, config.model).predict_windows(batch.images)
               for path in (onnx_path, int8_path(onnx_path))]
    plates = np.flatnonzero(batch.presence > 0.5)
    right = [sum(decode(slots, config.model).text == batch.texts[k] for slots, k in zip(s.chars_at(plates), plates))
             for s in shipped]
    float_scores, int8_scores = shipped
    assert ((float_scores.presence > 0.5) == (int8_scores.presence > 0.5)).mean() > 0.97
    assert right[1] >= 0.85 * right[0] > 0, right
