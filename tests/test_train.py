"""Training: checkpoints every epoch, resumes a run folder, and a further phase starts from given weights."""

import json
from pathlib import Path

import numpy as np

from recognizer.spec import ModelSpec, RendererSpec, TrainSpec
from recognizer.train import train


def conv_kernels(weights: Path) -> list[np.ndarray]:
    from recognizer.network import build_network

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
