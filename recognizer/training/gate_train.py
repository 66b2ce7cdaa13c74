"""Training the gate (:mod:`recognizer.gate`) on the plate network's generated windows, presence only."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.gate import build_gate
from recognizer.spec import GateSpec, ModelSpec, RendererSpec, TrainSpec
from recognizer.training.train import batch_stream, train_epoch, validation_windows, warmup_cosine
from recognizer.synth.windows import WindowBatch

log = logging.getLogger(__name__)

VALIDATION_THRESHOLDS = (0.1, 0.2, 0.5)
"""Presence thresholds at which the gate's recall and false alarms are logged."""


@dataclass(frozen=True)
class GateEpochScores:
    """Validation figures of one epoch on held-back generated windows.

    Attributes:
        loss: Mean presence cross-entropy.
        recall: Share of windows with a plate scored above each of :data:`VALIDATION_THRESHOLDS`.
        false_alarms: Share of windows without one scored above each threshold.
    """

    loss: float
    recall: tuple[float, ...]
    false_alarms: tuple[float, ...]


def validate_gate(net, generated: WindowBatch) -> GateEpochScores:  # type: ignore[no-untyped-def]
    """Scores the gate on generated windows.

    Args:
        net: Keras gate from :func:`recognizer.gate.build_gate`.
        generated: Held-back windows, ``(N, 64, 128)`` images with presence labels ``(N,)``.
    """
    logits = np.asarray(net.predict(generated.images[..., None].astype(np.float32), batch_size=256, verbose=0)).reshape(-1)
    p = 1.0 / (1.0 + np.exp(-logits))
    truth = generated.presence > 0.5
    loss = float(np.mean(np.logaddexp(0.0, logits) - truth * logits))
    recall = tuple(float(np.mean(p[truth] > t)) for t in VALIDATION_THRESHOLDS)
    false_alarms = tuple(float(np.mean(p[~truth] > t)) for t in VALIDATION_THRESHOLDS)
    return GateEpochScores(loss, recall, false_alarms)


def train_gate(model: ModelSpec, renderer: RendererSpec, train: TrainSpec, gate: GateSpec, run_dir: Path,
               onnx_out: Path | None = None) -> Path:
    """Trains (or resumes training of) the gate.

    The run folder holds ``checkpoint.keras`` (weights and optimizer, every epoch), ``state.json``, ``log.jsonl``
    (one line of validation figures per epoch) and ``best.weights.h5`` (lowest validation loss). Running the same
    command again resumes after the last finished epoch.

    Args:
        model: Window spec.
        renderer: Renderer spec (the same windows as the plate network's training).
        train: Batch size, steps per epoch, seed, workers and validation windows.
        gate: The gate's layout, epochs and learning rate.
        run_dir: Folder of the run.
        onnx_out: Where to write the best weights' ONNX form when training ends.

    Returns:
        Path of the best weights.
    """
    import keras

    run_dir.mkdir(parents=True, exist_ok=True)
    state_path, checkpoint = run_dir / "state.json", run_dir / "checkpoint.keras"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"epoch": 0, "best": None, "seconds": 0.0}
    keras.utils.set_random_seed(train.seed)
    if checkpoint.is_file() and state["epoch"] > 0:
        net = keras.models.load_model(checkpoint)
        log.info("resuming after epoch %d from %s", state["epoch"], checkpoint)
    else:
        net = build_gate(model, gate)
        schedule = warmup_cosine(gate.learning_rate, gate.epochs, train.steps_per_epoch)
        net.compile(optimizer=keras.optimizers.Adam(schedule),
                    loss=keras.losses.BinaryCrossentropy(from_logits=True))
    generated = validation_windows(model, renderer, train)
    stream = batch_stream(model, renderer, train.model_copy(update={"ramp_epochs": 0}),
                          state["epoch"] * train.steps_per_epoch)
    best_path = run_dir / "best.weights.h5"
    for epoch in range(state["epoch"], gate.epochs):
        started = time.monotonic()
        losses = train_epoch(lambda x, y: net.train_on_batch(x, y[:, :1].reshape(-1, 1, 1, 1)), stream,
                             train.steps_per_epoch, f"gate epoch {epoch + 1}/{gate.epochs}")
        scores = validate_gate(net, generated)
        state["seconds"] += time.monotonic() - started
        state["epoch"] = epoch + 1
        if state["best"] is None or scores.loss <= state["best"]:
            state["best"] = scores.loss
            net.save_weights(best_path)
        net.save(checkpoint)
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "hours": state["seconds"] / 3600,
                  "thresholds": VALIDATION_THRESHOLDS, **scores.__dict__}
        with (run_dir / "log.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        state_path.write_text(json.dumps(state))
        log.info("gate epoch %d: %s", epoch + 1, record)
    if onnx_out is not None:
        export_gate(best_path, model, gate, onnx_out)
    return best_path


def export_gate(weights: Path, model: ModelSpec, gate: GateSpec, out: Path) -> None:
    """Writes the ONNX form (any input size) of gate weights.

    Args:
        weights: ``.weights.h5`` of a gate of this layout.
        model: Window spec.
        gate: The gate's layout.
        out: The ``.onnx`` file to write.
    """
    net = build_gate(model, gate)
    net.load_weights(weights)
    net(np.zeros((1, *model.window_shape, 1), np.float32))
    out.parent.mkdir(parents=True, exist_ok=True)
    net.export(str(out), format="onnx", verbose=False)
