"""Training on generated windows, rendered as it goes or from a bank: checkpoints every epoch, resumable, validated
each epoch."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.decode import decode, o0_equal
from recognizer.engine import keras_network
from recognizer.outputs import BOX_CHANNELS, WINDOW_CHANNELS, columns_per_window
from recognizer.realdata import load_manifest, read_crops
from recognizer.spec import ModelSpec, RendererSpec, TrainSpec
from recognizer.synth.windows import WindowBatch, WindowGenerator
from recognizer.training.bank import Bank

log = logging.getLogger(__name__)

_worker_generator: WindowGenerator | None = None


@dataclass(frozen=True)
class EpochScores:
    """Validation figures of one epoch.

    Attributes:
        presence_accuracy: Share of generated windows whose presence is classified right.
        generated_exact: Share of generated plates read exactly.
        real_exact: Share of real crops read exactly (None without a crop manifest).
        real_exact_o0: The same with O and 0 (and I and 1) taken as equal.
    """

    presence_accuracy: float
    generated_exact: float
    real_exact: float | None
    real_exact_o0: float | None


def _init_worker(model: ModelSpec, renderer: RendererSpec, seed: int) -> None:
    global _worker_generator
    cv2.setNumThreads(1)
    _worker_generator = WindowGenerator(model, renderer, seed)


def _render_batch(args: tuple[int, int, int, float]) -> WindowBatch:
    seed, index, size, difficulty = args
    assert _worker_generator is not None
    _worker_generator.difficulty = difficulty
    return _worker_generator.batch(np.random.default_rng([seed, index]), size)


def difficulty_at(step: int, spec: TrainSpec) -> float:
    """Curriculum: camera degradation rises linearly from 0.2 to 1 over ``spec.ramp_epochs`` epochs."""
    ramp = spec.ramp_epochs * spec.steps_per_epoch
    return 1.0 if ramp == 0 else min(1.0, 0.2 + 0.8 * step / ramp)


def to_targets(batch: WindowBatch) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs and loss targets of a batch.

    Returns:
        ``(N, H, W, 1)`` float32 images and ``(N, 5 + P)`` float32 targets: presence, the plate box as shares
        of the window, then the class per position (-1 where there is no plate; "no character" pads).
    """
    x = batch.images[..., None].astype(np.float32)
    y = np.concatenate([batch.presence[:, None], batch.boxes, batch.chars.astype(np.float32)], axis=1)
    return x, y


def batch_stream(model: ModelSpec, renderer: RendererSpec, train: TrainSpec, first_step: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless generated training batches, rendered by ``train.workers`` processes.

    Args:
        model: Window spec.
        renderer: Renderer spec.
        train: Batch size, seed and workers.
        first_step: Index of the first batch (a resumed run continues the sequence).

    Yields:
        ``(x, y)`` as :func:`to_targets` gives them.
    """
    context = mp.get_context("spawn")
    with context.Pool(train.workers, _init_worker, (model, renderer, train.seed)) as pool:
        step = first_step
        while True:
            tasks = [(train.seed, i, train.batch_size, difficulty_at(i, train)) for i in range(step, step + 256)]
            for batch in pool.imap(_render_batch, tasks):
                yield to_targets(batch)
            step += 256


def training_batches(model: ModelSpec, renderer: RendererSpec, spec: TrainSpec,
                     first_step: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches a run trains on: from ``spec.bank`` when set, else rendered as they are needed
    (:func:`batch_stream`).

    Args:
        model: Window spec.
        renderer: Renderer spec.
        spec: Training spec.
        first_step: Index of the first batch (a resumed run continues the sequence).

    Returns:
        An endless iterator of ``(x, y)`` as :func:`to_targets` gives them.
    """
    if spec.bank is None:
        return batch_stream(model, renderer, spec, first_step)
    return Bank(spec.bank, model).batches(spec.batch_size, spec.seed, first_step, threads=min(4, spec.workers))


def validation_windows(model: ModelSpec, renderer: RendererSpec, spec: TrainSpec) -> WindowBatch:
    """The held-back generated windows every epoch is validated on, rendered from seeds training never uses.

    Returns:
        ``spec.val_windows`` windows, images ``(N, 64, 128)`` with their labels.
    """
    return WindowGenerator(model, renderer, seed=spec.seed + 1_000_003).batch(
        np.random.default_rng([spec.seed, 10**9]), spec.val_windows)


def make_plate_loss(model: ModelSpec):  # type: ignore[no-untyped-def]
    """The training loss for a model spec.

    Returns:
        ``plate_loss(y_true, y_pred)``: presence cross-entropy, plus, where a plate is present, box error and
        the CTC loss of the window's columns. ``y_true`` is ``(N, 5 + P)`` from :func:`to_targets`; ``y_pred``
        is ``(N, 5 + T * C)``, the window head's 5 scores then ``T`` columns of ``C`` logits; the result is ``(N,)``.
    """
    columns_n, classes, blank = columns_per_window(model), model.classes, model.classes - 1

    def plate_loss(y_true, y_pred):  # type: ignore[no-untyped-def]
        from keras import ops

        presence_true = y_true[:, 0]
        presence_loss = ops.binary_crossentropy(y_true[:, :1], y_pred[:, :1], from_logits=True)[:, 0]
        box_error = ops.abs(y_true[:, BOX_CHANNELS] - y_pred[:, BOX_CHANNELS])
        box_loss = ops.sum(ops.where(box_error < 0.05, 10 * box_error**2, box_error - 0.025), axis=-1) * 10
        labels = ops.cast(y_true[:, WINDOW_CHANNELS:], "int32")
        columns = ops.reshape(y_pred[:, WINDOW_CHANNELS:], (-1, columns_n, classes))
        label_length = ops.sum(ops.cast((labels >= 0) & (labels != blank), "int32"), axis=-1)
        ctc = ops.ctc_loss(ops.where(labels >= 0, labels, blank), columns, label_length,
                           ops.full((ops.shape(columns)[0],), columns_n, "int32"), mask_index=blank)
        return presence_loss + presence_true * (box_loss + ctc)

    return plate_loss


def validate(net, model: ModelSpec, generated: WindowBatch, real_crops: Path | None) -> EpochScores:  # type: ignore[no-untyped-def]
    """Scores a network on held-back generated windows and on real plate crops.

    Args:
        net: Keras window network.
        model: Window spec.
        generated: Held-back generated windows.
        real_crops: Manifest of real crops, or None.

    Returns:
        The epoch's scores.
    """
    network = keras_network(net, model)
    presence, reads = [], []
    for start in range(0, len(generated.images), 256):
        scores = network.predict_windows(generated.images[start : start + 256])
        presence.append(scores.presence)
        reads += [decode(c, model).text for c in scores.chars_at(np.arange(len(scores.presence)))]
    presence_accuracy = float(np.mean((np.concatenate(presence) > 0.5) == (generated.presence > 0.5)))
    positives = np.flatnonzero(generated.presence > 0.5)
    generated_exact = float(np.mean([reads[i] == generated.texts[i] for i in positives])) if len(positives) else 0.0
    real_exact = real_o0 = None
    if real_crops is not None and real_crops.is_file():
        rows = load_manifest(real_crops)
        texts = read_crops(network, [cv2.imread(str(r.path), cv2.IMREAD_GRAYSCALE) for r in rows], model)
        real_exact = float(np.mean([t == r.text for t, r in zip(texts, rows)]))
        real_o0 = float(np.mean([o0_equal(t, r.text) for t, r in zip(texts, rows)]))
    return EpochScores(presence_accuracy, generated_exact, real_exact, real_o0)


def training_model(net):  # type: ignore[no-untyped-def]
    """The window network's two outputs flattened into one ``(N, 5 + T * C)`` output for the loss."""
    import keras

    window, columns = net.output
    flat = [keras.layers.Flatten(name="flat_window")(window), keras.layers.Flatten(name="flat_columns")(columns)]
    outputs = keras.layers.Concatenate(name="train_scores")(flat)
    return keras.Model(net.input, outputs, name="anpr_train")


def window_network(trainer, model: ModelSpec):  # type: ignore[no-untyped-def]
    """A window network (:func:`recognizer.training.network.build_network`) holding the trainer's current weights."""
    from recognizer.training.network import build_network

    net = build_network(model, model.window_shape)
    copy_weights(trainer, net)
    return net


def copy_weights(source, target) -> None:  # type: ignore[no-untyped-def]
    """Gives each layer of ``source`` that has weights to the layer of ``target`` of the same name.

    Args:
        source: A Keras model whose weighted layers' names ``target`` also has (a trainer wrapping ``target``'s
            layers, or a reader without context blocks).
        target: The model whose layers are set.
    """
    for layer in source.layers:
        if layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())


def warmup_cosine(peak: float, epochs: int, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    """The learning-rate schedule of a run: one epoch of warm-up from a tenth of ``peak``, then cosine decay to 2%
    of it (Keras ``CosineDecay`` over ``epochs * steps_per_epoch`` steps)."""
    import keras

    return keras.optimizers.schedules.CosineDecay(peak / 10, epochs * steps_per_epoch, warmup_target=peak,
                                                  warmup_steps=steps_per_epoch, alpha=0.02)


def train_epoch(step: Callable[[np.ndarray, np.ndarray], float], stream: Iterator[tuple[np.ndarray, np.ndarray]],
                steps: int, desc: str) -> list[float]:
    """One epoch: ``steps`` training steps on batches from ``stream``, behind a progress bar showing the loss.

    Args:
        step: Trains on one batch of images and targets and returns its loss.
        stream: Batches from :func:`batch_stream`.
        steps: Steps in the epoch.
        desc: Progress bar label.

    Returns:
        The ``steps`` losses.
    """
    from tqdm import tqdm

    losses: list[float] = []
    with tqdm(range(steps), desc=desc, mininterval=30) as bar:
        for _ in bar:
            losses.append(float(step(*next(stream))))
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", refresh=False)
    return losses


def train(model: ModelSpec, renderer: RendererSpec, spec: TrainSpec, run_dir: Path, weights_out: Path | None = None) -> Path:
    """Trains (or resumes training of) the plate network.

    Batches come from ``spec.bank`` when it is set, else they are rendered as training goes. The run folder holds
    ``checkpoint.keras`` (weights and optimizer, written every epoch), ``state.json`` (epochs done, best score),
    ``log.jsonl`` (one line of scores per epoch, with its seconds), ``best.weights.h5`` (the window network's
    weights at the best real-crop score, or the latest without real crops) and ``last.weights.h5`` (the last
    epoch's). Running the same command again resumes after the last finished epoch. With ``spec.max_minutes`` the run stops after the first epoch that ends past that wall time. Imports nothing of
    TensorFlow: it runs under any Keras backend (``KERAS_BACKEND=jax`` on a GPU machine without TensorFlow).

    Args:
        model: Window spec.
        renderer: Renderer spec.
        spec: Training spec.
        run_dir: Folder of the run.
        weights_out: Where to copy the kept weights (``spec.keep``: best or last) when training ends.

    Returns:
        Path of the kept weights in the run folder.
    """
    import keras

    from recognizer.training.network import build_network

    run_started = time.monotonic()
    state, checkpoint = load_run_state(run_dir), run_dir / "checkpoint.keras"
    keras.utils.set_random_seed(spec.seed)
    if checkpoint.is_file() and state["epoch"] > 0:
        trainer = keras.models.load_model(checkpoint, custom_objects={"plate_loss": make_plate_loss(model)})
        log.info("resuming after epoch %d from %s", state["epoch"], checkpoint)
    else:
        net = build_network(model, model.window_shape)
        if spec.init_weights is not None:
            net.load_weights(spec.init_weights)
            log.info("starting from %s", spec.init_weights)
        trainer = training_model(net)
        schedule = warmup_cosine(spec.learning_rate, spec.epochs, spec.steps_per_epoch)
        trainer.compile(optimizer=keras.optimizers.Adam(schedule), loss=make_plate_loss(model))
    generated = validation_windows(model, renderer, spec)
    with contextlib.closing(training_batches(model, renderer, spec, state["epoch"] * spec.steps_per_epoch)) as stream:
        return run_epochs(trainer, stream, spec, run_dir, state, run_started, "epoch",
                          lambda: window_network(trainer, model),
                          lambda net: validate(net, model, generated, spec.real_crops), weights_out)


def load_run_state(run_dir: Path) -> dict:
    """The ``state.json`` of a run folder (made if missing): epochs done, best score, seconds trained."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {"epoch": 0, "best": -1.0, "seconds": 0.0}


def run_epochs(trainer, stream: Iterator[tuple[np.ndarray, np.ndarray]], spec: TrainSpec, run_dir: Path,  # type: ignore[no-untyped-def]
               state: dict, run_started: float, label: str, current_net: Callable[[], object],
               validate_net: Callable[[object], object], weights_out: Path | None) -> Path:
    """The epochs of a training run, from the first one not done, with their bookkeeping: after each, the network's
    weights as ``last.weights.h5`` (and ``best.weights.h5`` at the best score: real crops' where scored, else
    generated), ``checkpoint.keras``, a line of ``log.jsonl`` and ``state.json``; a stop after the epoch that ends
    past ``spec.max_minutes``; at the end the kept weights (``spec.keep``) copied to ``weights_out``.

    Args:
        trainer: Compiled Keras model trained batch by batch.
        stream: Training batches ``(x, y)``.
        spec: Epochs, steps, time limit and which weights to keep.
        run_dir: Folder of the run.
        state: The run's state (:func:`load_run_state`), updated in place.
        run_started: ``time.monotonic()`` when the run started.
        label: Name of an epoch in the progress bar and log, e.g. ``"epoch"``.
        current_net: Gives the network to save, holding the trainer's current weights.
        validate_net: Scores that network; the result has ``real_exact`` (None without real crops) and
            ``generated_exact`` and is logged field by field.
        weights_out: Where to copy the kept weights, or None.

    Returns:
        Path of the kept weights in the run folder.
    """
    best_path, last_path = run_dir / "best.weights.h5", run_dir / "last.weights.h5"
    for epoch in range(state["epoch"], spec.epochs):
        started = time.monotonic()
        losses = train_epoch(trainer.train_on_batch, stream, spec.steps_per_epoch, f"{label} {epoch + 1}/{spec.epochs}")
        net = current_net()
        scores = validate_net(net)
        state["seconds"] += time.monotonic() - started
        state["epoch"] = epoch + 1
        score = scores.real_exact if scores.real_exact is not None else scores.generated_exact
        if score >= state["best"]:
            state["best"] = score
            net.save_weights(best_path)
        net.save_weights(last_path)
        trainer.save(run_dir / "checkpoint.keras")
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "hours": state["seconds"] / 3600,
                  "epoch_seconds": time.monotonic() - started, **scores.__dict__}
        with (run_dir / "log.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        (run_dir / "state.json").write_text(json.dumps(state))
        log.info("%s %d: %s", label, epoch + 1, record)
        past_time = spec.max_minutes is not None and time.monotonic() - run_started > 60 * spec.max_minutes
        if past_time and epoch + 1 < spec.epochs:
            log.info("stopping after %s %d: past max_minutes (%.1f)", label, epoch + 1, spec.max_minutes)
            break
    kept = best_path if spec.keep == "best" else last_path
    if weights_out is not None:
        weights_out.parent.mkdir(parents=True, exist_ok=True)
        weights_out.write_bytes(kept.read_bytes())
    return kept
