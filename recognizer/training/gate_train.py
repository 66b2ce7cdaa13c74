"""Training the gate (:mod:`recognizer.gate`) on the plate network's generated windows, presence only, with a share
of each batch replaced by hard negatives: the regular clutter of real streets that passes a gate trained on plates
alone (building facades' rows of windows, radiator grilles, railings, rows of blocky shapes).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.gate import build_gate
from recognizer.spec import GateSpec, ModelSpec, RendererSpec, TrainSpec
from recognizer.training.train import train_epoch, training_batches, validation_windows, warmup_cosine
from recognizer.synth.windows import WindowBatch

log = logging.getLogger(__name__)

VALIDATION_THRESHOLDS = (0.1, 0.2, 0.5, 0.9)
"""Presence thresholds at which the gate's recall and false alarms are logged."""

HARD_NEGATIVE_SHARE = 0.25
"""Share of each training batch replaced by :func:`hard_negatives`."""

HARD_NEGATIVE_KINDS = ("facade", "grille", "railing", "blocks")
"""The kinds of regular clutter :func:`hard_negatives` draws, in equal shares."""


def _clutter(rng: np.random.Generator, kind: str, height: int, width: int) -> np.ndarray:
    """One ``(height, width)`` float32 pattern of a kind of :data:`HARD_NEGATIVE_KINDS`, gray levels 0-255."""
    base, ink = rng.uniform(40, 220), rng.choice([-1, 1]) * rng.uniform(35, 120)
    image = np.full((height, width), base, np.float32)
    if kind == "facade":  # rows of windows, some with a frame bar across
        cw, ch = rng.integers(5, 36), rng.integers(6, 36)
        gx, gy = int(cw * rng.uniform(0.3, 1.2)), int(ch * rng.uniform(0.3, 1.0))
        x0, y0 = -rng.integers(0, cw + gx), -rng.integers(0, ch + gy)
        for y in range(int(y0), height, int(ch + gy)):
            for x in range(int(x0), width, int(cw + gx)):
                image[max(0, y) : y + ch, max(0, x) : x + cw] = base + ink * rng.uniform(0.6, 1.0)
                if rng.random() < 0.5:
                    image[max(0, y) : y + ch, max(0, x + cw // 2 - 1) : x + cw // 2 + 1] = base
    elif kind == "grille":  # horizontal bars of a radiator grille or a shutter
        period = rng.integers(3, 14)
        rows = (np.arange(height) % period) < period * rng.uniform(0.3, 0.7)
        image[rows] = base + ink
    elif kind == "railing":  # vertical bars of a fence or railing, with rails across
        period = rng.integers(5, 32)
        image[:, (np.arange(width) % period) < max(1, int(period * rng.uniform(0.15, 0.5)))] = base + ink
        for y in rng.integers(0, height, rng.integers(0, 3)):
            image[y : y + rng.integers(2, 6)] = base + ink
    else:  # a row of blocky shapes, like a plate's characters but none
        size = rng.integers(10, 40)
        y = rng.integers(0, max(1, height - size))
        for x in range(int(rng.integers(0, size)), width, int(size * rng.uniform(0.7, 1.4))):
            image[y : y + size, x : x + int(size * rng.uniform(0.4, 0.8))] = base + ink
            image[y + size // 3 : y + 2 * size // 3, x + 2 : x + int(size * 0.3)] = base
    return image


def hard_negatives(rng: np.random.Generator, count: int, window_shape: tuple[int, int]) -> np.ndarray:
    """Windows of regular street clutter with no plate (:data:`HARD_NEGATIVE_KINDS`), tilted and scaled, blurred,
    with noise and uneven light, as a camera sees them.

    Args:
        rng: Random source.
        count: Windows to draw.
        window_shape: ``(height, width)``.

    Returns:
        ``(count, height, width)`` uint8 windows.
    """
    wh, ww = window_shape
    out = np.empty((count, wh, ww), np.uint8)
    for i in range(count):
        zoom = rng.uniform(1.0, 2.5)
        h, w = int(wh * zoom), int(ww * zoom)
        image = _clutter(rng, HARD_NEGATIVE_KINDS[i % len(HARD_NEGATIVE_KINDS)], h, w)
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-12, 12), 1.0)
        turn[:, :2] += rng.uniform(-0.15, 0.15, (2, 2))  # shear: a facade seen at an angle
        image = cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REFLECT)
        image = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
        ys, xs = np.mgrid[0:wh, 0:ww]
        image += rng.uniform(-40, 40) * (xs / ww - 0.5) + rng.uniform(-30, 30) * (ys / wh - 0.5)
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.8))
        image += rng.normal(0, rng.uniform(1, 10), image.shape)
        out[i] = np.clip(image, 0, 255).astype(np.uint8)
    return out


def with_hard_negatives(stream: Iterator[tuple[np.ndarray, np.ndarray]], share: float, window_shape: tuple[int, int],
                        seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches of a stream with their first ``share`` of windows replaced by :func:`hard_negatives`.

    Args:
        stream: ``(x, y)`` batches: ``(N, H, W, 1)`` float32 images and ``(N, K)`` targets, presence first.
        share: Share of each batch replaced.
        window_shape: ``(height, width)``.
        seed: Seed of the hard negatives.

    Yields:
        The batches, the replaced windows' presence 0.
    """
    rng = np.random.default_rng([seed, 7])
    for x, y in stream:
        count = int(round(share * len(x)))
        x, y = x.copy(), y.copy()
        x[:count, ..., 0] = hard_negatives(rng, count, window_shape)
        y[:count, 0] = 0.0
        yield x, y


@dataclass(frozen=True)
class GateEpochScores:
    """Validation figures of one epoch on held-back generated windows.

    Attributes:
        loss: Mean presence cross-entropy.
        recall: Share of windows with a plate scored above each of :data:`VALIDATION_THRESHOLDS`.
        false_alarms: Share of windows without one scored above each threshold.
        hard_false_alarms: Share of held-back :func:`hard_negatives` scored above each threshold.
    """

    loss: float
    recall: tuple[float, ...]
    false_alarms: tuple[float, ...]
    hard_false_alarms: tuple[float, ...]


def _probabilities(net, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The gate's logits and presence probabilities ``(N,)`` of ``(N, H, W)`` uint8 windows."""
    logits = np.asarray(net.predict(images[..., None].astype(np.float32), batch_size=256, verbose=0)).reshape(-1)
    return logits, 1.0 / (1.0 + np.exp(-logits))


def validate_gate(net, generated: WindowBatch, hard: np.ndarray) -> GateEpochScores:  # type: ignore[no-untyped-def]
    """Scores the gate on generated windows and hard negatives.

    Args:
        net: Keras gate from :func:`recognizer.gate.build_gate`.
        generated: Held-back windows, ``(N, 64, 128)`` images with presence labels ``(N,)``.
        hard: ``(M, 64, 128)`` held-back :func:`hard_negatives`.
    """
    logits, p = _probabilities(net, generated.images)
    truth = generated.presence > 0.5
    loss = float(np.mean(np.logaddexp(0.0, logits) - truth * logits))
    recall = tuple(float(np.mean(p[truth] > t)) for t in VALIDATION_THRESHOLDS)
    false_alarms = tuple(float(np.mean(p[~truth] > t)) for t in VALIDATION_THRESHOLDS)
    _, p_hard = _probabilities(net, hard)
    return GateEpochScores(loss, recall, false_alarms, tuple(float(np.mean(p_hard > t)) for t in VALIDATION_THRESHOLDS))


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
    hard = hard_negatives(np.random.default_rng([train.seed, 10**9 + 7]), train.val_windows // 4, model.window_shape)
    stream = with_hard_negatives(training_batches(model, renderer, train.model_copy(update={"ramp_epochs": 0}),
                                                  state["epoch"] * train.steps_per_epoch),
                                 HARD_NEGATIVE_SHARE, model.window_shape, train.seed + state["epoch"])
    best_path = run_dir / "best.weights.h5"
    for epoch in range(state["epoch"], gate.epochs):
        started = time.monotonic()
        losses = train_epoch(lambda x, y: net.train_on_batch(x, y[:, :1].reshape(-1, 1, 1, 1)), stream,
                             train.steps_per_epoch, f"gate epoch {epoch + 1}/{gate.epochs}")
        scores = validate_gate(net, generated, hard)
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
