"""The gate network: one score per window, the same over a whole image as per cropped window, in ONNX as in Keras."""

import json

import numpy as np
import pytest

from detector.scanner import crop_windows, window_grid
from recognizer.gate import build_gate, gate_head_shape, load_onnx_gate
from recognizer.training.gate_train import export_gate
from recognizer.spec import GateSpec, ModelSpec

MODEL, GATE = ModelSpec(), GateSpec()
FOUR_HALVINGS = GateSpec(blocks=[{"filters": f, "kernel": 3, "stride": 2} for f in (8, 16, 32, 32)])
"""The earlier layout: four 3x3 convolutions of stride 2."""


@pytest.fixture(scope="module", params=[GATE, FOUR_HALVINGS], ids=["default", "four_halvings"])
def random_gate(request, tmp_path_factory):
    """A gate of each layout with random weights (batch normalisation statistics included), its weights file and
    its layout."""
    import keras

    keras.utils.set_random_seed(0)
    net = build_gate(MODEL, request.param)
    for layer in net.layers:
        if "_bn" in layer.name:
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, np.full_like(gamma, 60.0), np.full_like(gamma, 900.0)])
    path = tmp_path_factory.mktemp("gate") / "gate.weights.h5"
    net.save_weights(path)
    return net, path, request.param


def test_gate_gives_one_score_per_window_and_the_same_over_a_whole_image(random_gate):
    net, _, gate = random_gate
    assert gate.stride == 16
    assert net(np.zeros((2, 64, 128, 1), np.float32)).shape == (2, 1, 1, 1)
    assert sum(int(np.prod(w.shape)) for w in net.weights) < 60_000
    image = np.random.default_rng(0).integers(0, 256, (64 + 2 * 16 + 9, 128 + 3 * 16 + 5), dtype=np.uint8)
    dense = np.asarray(net(image[None, :, :, None].astype(np.float32), training=False))[0, :, :, 0]
    grid = window_grid(image.shape, MODEL.window_shape, (gate.stride, gate.stride))
    assert dense.shape == grid.shape[:2] == (3, 4)
    windows = crop_windows(image, grid.reshape(-1, 2), MODEL.window_shape)[..., None].astype(np.float32)
    single = np.asarray(net(windows, training=False)).reshape(dense.shape)
    np.testing.assert_allclose(dense, single, rtol=1e-4, atol=1e-4)


def test_onnx_gate_equals_keras(random_gate, tmp_path):
    net, weights, gate = random_gate
    export_gate(weights, MODEL, gate, tmp_path / "gate.onnx")
    gate = load_onnx_gate(tmp_path / "gate.onnx", threads=1)
    image = np.random.default_rng(1).integers(0, 256, (150, 300), dtype=np.uint8)
    logits = np.asarray(net(image[None, :, :, None].astype(np.float32), training=False))[0, :, :, 0]
    np.testing.assert_allclose(gate(image), 1 / (1 + np.exp(-logits)), rtol=1e-4, atol=1e-5)


def test_a_layout_that_leaves_pixels_unseen_or_shrinks_a_window_to_nothing_is_refused():
    with pytest.raises(ValueError, match="stride 5 is larger than kernel 3"):
        GateSpec(blocks=[{"filters": 8, "kernel": 3, "stride": 5}])
    with pytest.raises(ValueError, match="gate.blocks: a 64x128 window is shrunk to 1 pixels"):
        gate_head_shape(MODEL, GateSpec(blocks=[{"filters": 8, "kernel": 4, "stride": 4}] * 4))


def test_missing_gate_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gate model not found"):
        load_onnx_gate(tmp_path / "none.onnx")


def test_gate_training_writes_its_best_weights_and_onnx(tmp_path):
    from recognizer.training.gate_train import train_gate
    from recognizer.spec import GateSpec, ModelSpec, RendererSpec, TrainSpec

    tiny = TrainSpec(batch_size=4, steps_per_epoch=2, epochs=1, val_windows=8, real_crops=None)
    best = train_gate(ModelSpec(), RendererSpec(), tiny, GateSpec(epochs=2), tmp_path / "run", tmp_path / "gate.onnx")
    assert best.is_file() and (tmp_path / "gate.onnx").is_file()
    assert [json.loads(line)["epoch"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()] == [1, 2]


def test_gate_training_draws_its_windows_from_a_bank_when_one_is_set(tmp_path, monkeypatch):
    from recognizer.training import gate_train, train
    from recognizer.training.bank import render_bank
    from recognizer.spec import RendererSpec, TrainSpec

    render_bank(MODEL, RendererSpec(), tmp_path / "bank", windows=16, workers=1, seed=3, shard_size=8)
    monkeypatch.setattr(train, "batch_stream", None)  # nothing rendered as training goes
    tiny = TrainSpec(batch_size=4, steps_per_epoch=2, epochs=1, val_windows=8, real_crops=None, bank=tmp_path / "bank")
    best = gate_train.train_gate(MODEL, RendererSpec(), tiny, GateSpec(epochs=1), tmp_path / "run")
    assert best.is_file()


def test_hard_negatives_are_varied_clutter_drawn_the_same_from_a_seed():
    from recognizer.training.gate_train import HARD_NEGATIVE_KINDS, hard_negatives

    windows = hard_negatives(np.random.default_rng(3), 2 * len(HARD_NEGATIVE_KINDS), MODEL.window_shape)
    assert windows.shape == (8, 64, 128) and windows.dtype == np.uint8
    np.testing.assert_array_equal(windows, hard_negatives(np.random.default_rng(3), 8, MODEL.window_shape))
    assert np.median(windows.reshape(8, -1).std(axis=1)) > 10  # patterns, not blank windows
    assert len({w.tobytes() for w in windows}) == 8


def test_hard_negatives_replace_a_share_of_each_batch_as_windows_without_a_plate():
    from recognizer.training.gate_train import with_hard_negatives

    x, y = np.full((8, 64, 128, 1), 7.0, np.float32), np.ones((8, 12), np.float32)
    [(hx, hy)] = list(with_hard_negatives(iter([(x, y)]), 0.25, MODEL.window_shape, seed=0))
    assert (hy[:2, 0] == 0).all() and (hy[2:] == 1).all() and (hy[:2, 1:] == 1).all()
    assert (hx[:2] != 7).any() and (hx[2:] == 7).all() and (x == 7).all() and (y == 1).all()
