"""Training: checkpoints every epoch, resumes a run folder, a further phase starts from given weights, and the weights
of several runs average into one network."""

import json
from pathlib import Path

import numpy as np
import pytest

from recognizer.spec import ModelSpec, RendererSpec, TrainSpec
from recognizer.training.train import train


def conv_kernels(weights: Path) -> list[np.ndarray]:
    from recognizer.training.network import build_network

    model = ModelSpec()
    net = build_network(model, model.window_shape)
    net.load_weights(weights)
    return [layer.get_weights()[0] for layer in net.layers if layer.__class__.__name__ == "Conv2D"]


def test_training_resumes_and_a_further_phase_starts_from_weights(tmp_path: Path):
    tiny = TrainSpec(batch_size=4, steps_per_epoch=2, epochs=1, val_windows=8, real_crops=None)
    run = tmp_path / "run"
    first = train(ModelSpec(), RendererSpec(), tiny, run)
    assert json.loads((run / "state.json").read_text())["epoch"] == 1
    epoch_one = conv_kernels(first)
    last = train(ModelSpec(), RendererSpec(), tiny.model_copy(update={"epochs": 2, "keep": "last"}), run)  # resumes
    assert [json.loads(line)["epoch"] for line in (run / "log.jsonl").read_text().splitlines()] == [1, 2]
    assert last == run / "last.weights.h5"
    assert any(not np.allclose(a, b) for a, b in zip(conv_kernels(last), epoch_one))  # epoch 2's, not epoch 1's

    frozen = tiny.model_copy(update={"init_weights": first, "learning_rate": 1e-12, "seed": 2})
    phase = train(ModelSpec(), RendererSpec(), frozen, tmp_path / "phase")
    for started, after in zip(conv_kernels(first), conv_kernels(phase), strict=True):
        np.testing.assert_allclose(after, started, atol=1e-6)  # it began from those weights and barely moved


def test_averaged_weights_are_the_mean_of_every_weight_and_export_beside_their_file(tmp_path: Path):
    import keras

    from recognizer.training.network import build_network
    from stream.cli import main

    model = ModelSpec()
    sources = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        net = build_network(model, model.window_shape)
        # Batch normalisation's moving statistics are averaged too: give them distinct values.
        net.set_weights([w + np.float32(seed) for w in net.get_weights()])
        sources.append(tmp_path / f"seed{seed}.weights.h5")
        net.save_weights(sources[-1])
    weights = []
    for source in sources:
        net.load_weights(source)
        weights.append(net.get_weights())

    out = tmp_path / "soup" / "anpr.weights.h5"
    assert main(["average", *map(str, sources), "--out", str(out)]) == 0
    net.load_weights(out)
    for mean, a, b in zip(net.get_weights(), *weights, strict=True):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6, atol=1e-6)
    assert (tmp_path / "soup" / "anpr.onnx").is_file() and (tmp_path / "soup" / "anpr.int8.onnx").is_file()

    with_missing = [str(sources[0]), str(tmp_path / "none.weights.h5"), "--out", str(tmp_path / "x.weights.h5")]
    assert main(["average", *with_missing]) == 2


def test_crop_reader_weights_average_with_reader(tmp_path: Path):
    import keras

    from recognizer.spec import ReaderSpec
    from recognizer.training.reader_network import build_reader
    from stream.cli import main

    spec = ReaderSpec()
    sources, weights = [], []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        net = build_reader(spec.crop_model(ModelSpec()), spec)
        net.set_weights([w + np.float32(seed) for w in net.get_weights()])
        weights.append(net.get_weights())
        sources.append(tmp_path / f"reader{seed}.weights.h5")
        net.save_weights(sources[-1])
    out = tmp_path / "soup" / "reader.weights.h5"
    assert main(["average", "--reader", *map(str, sources), "--out", str(out)]) == 0
    net.load_weights(out)
    for mean, a, b in zip(net.get_weights(), *weights, strict=True):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6, atol=1e-6)
    assert (tmp_path / "soup" / "reader.onnx").is_file()


def test_training_on_a_bank_stops_after_the_epoch_past_max_minutes(tmp_path: Path):
    from recognizer.training.bank import render_bank

    model = ModelSpec()
    render_bank(model, RendererSpec(), tmp_path / "bank", windows=24, workers=1, seed=5, shard_size=12)
    spec = TrainSpec(batch_size=4, steps_per_epoch=2, epochs=3, val_windows=8, real_crops=None, bank=tmp_path / "bank",
                     max_minutes=1e-6)
    out = tmp_path / "out" / "anpr.weights.h5"
    kept = train(model, RendererSpec(), spec, tmp_path / "run", out)
    assert [json.loads(line)["epoch"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()] == [1]
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epoch"] == 1
    assert out.read_bytes() == kept.read_bytes()


# Run under KERAS_BACKEND=jax with TensorFlow, tf2onnx, ONNX Runtime and pyzmq unimportable, as on a GPU machine.
JAX_SIDE = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"tensorflow", "tf2onnx", "onnxruntime", "zmq"}:
            raise ModuleNotFoundError(f"blocked: {name}", name=name)

sys.meta_path.insert(0, Block())
import keras
import numpy as np
import pytest
import recognizer.gate, recognizer.synth.crops, recognizer.training.bank, recognizer.training.train, stream.cli
from recognizer.spec import ModelSpec
from recognizer.training.network import build_network

assert keras.backend.backend() == "jax"
keras.utils.set_random_seed(3)
model = ModelSpec(positions=9)
net = build_network(model)
rng = np.random.default_rng(3)
net.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) ** 2 for w in net.get_weights()])
net.save_weights(sys.argv[1])
x = rng.uniform(0, 255, (2, 64, 160, 1)).astype(np.float32)
window, columns = net(x, training=False)
np.savez(sys.argv[2], x=x, window=np.asarray(window), columns=np.asarray(columns))
"""


def test_the_training_path_runs_under_jax_without_tensorflow_and_its_weights_load_under_tensorflow(tmp_path: Path):
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    weights, outputs = tmp_path / "jax.weights.h5", tmp_path / "jax_outputs.npz"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", JAX_SIDE, str(weights), str(outputs)], env=env, check=True, timeout=120)

    from recognizer.training.network import build_network

    net = build_network(ModelSpec(positions=9))
    net.load_weights(weights)
    jax_side = np.load(outputs)
    window, columns = (np.asarray(o) for o in net(jax_side["x"], training=False))
    assert np.abs(jax_side["columns"]).max() > 0.1
    np.testing.assert_allclose(window, jax_side["window"], atol=1e-4)
    np.testing.assert_allclose(columns, jax_side["columns"], atol=1e-4)
