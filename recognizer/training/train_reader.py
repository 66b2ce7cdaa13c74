"""Training the crop reader (:mod:`recognizer.training.reader_network`) on a bank of generated plate crops: CTC over
its columns, checkpoints every epoch, resumable, validated each epoch on held-back crops and on real plates.

The bank is rendered once by ``anpr render-bank --kind crops`` (:func:`recognizer.training.bank.render_bank` with
:class:`recognizer.synth.crops.CropGenerator`) and served by :class:`recognizer.training.bank.Bank`, reshuffled and
augmented every pass. Nothing here imports TensorFlow: training runs under any Keras backend (``KERAS_BACKEND=jax`` on a
GPU machine); the ONNX export (:func:`export_reader`) needs TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.decode import columns_to_slots, decode, o0_equal, softmax
from recognizer.outputs import WINDOW_CHANNELS
from recognizer.reader import cut_crop, fit_crop
from recognizer.realdata import LabelledPlate, load_manifest
from recognizer.spec import ModelSpec, ReaderSpec, RendererSpec, TrainSpec
from recognizer.synth.crops import CropGenerator
from recognizer.synth.windows import WindowBatch
from recognizer.training.bank import Bank
from recognizer.training.reader_network import COLUMN_STRIDE, build_reader
from recognizer.training.train import copy_weights, load_run_state, run_epochs, warmup_cosine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderScores:
    """Validation figures of one epoch.

    Attributes:
        generated_exact: Share of held-back generated crops read exactly.
        real_exact: Share of the real plates read exactly (None without a manifest).
        real_exact_o0: The same with O and 0 (and I and 1) taken as equal.
    """

    generated_exact: float
    real_exact: float | None
    real_exact_o0: float | None


def make_reader_loss(crop_model: ModelSpec):  # type: ignore[no-untyped-def]
    """The CTC loss of the crop reader.

    Returns:
        ``reader_loss(y_true, y_pred)``: ``y_true`` is ``(N, 5 + P)`` as :meth:`recognizer.training.bank.Bank.batch`
        gives it (presence, box, then the class per position, "no character" padding), ``y_pred`` ``(N, T * C)`` the
        flattened column logits; the result is ``(N,)``.
    """
    columns_n, classes, blank = crop_model.window_width // COLUMN_STRIDE, crop_model.classes, crop_model.classes - 1

    def reader_loss(y_true, y_pred):  # type: ignore[no-untyped-def]
        from keras import ops

        labels = ops.cast(y_true[:, WINDOW_CHANNELS:], "int32")
        columns = ops.reshape(y_pred, (-1, columns_n, classes))
        label_length = ops.sum(ops.cast((labels >= 0) & (labels != blank), "int32"), axis=-1)
        return ops.ctc_loss(ops.where(labels >= 0, labels, blank), columns, label_length,
                            ops.full((ops.shape(columns)[0],), columns_n, "int32"), mask_index=blank)

    return reader_loss


def real_inputs(rows: list[LabelledPlate], spec: ReaderSpec) -> np.ndarray:
    """The reader's inputs for labelled real plates: the true box cut as the scanner's would be, or a crop set's
    whole image.

    Args:
        rows: Manifest rows (:func:`recognizer.realdata.load_manifest`).
        spec: Reader settings.

    Returns:
        ``(N, height, width)`` uint8 crops.

    Raises:
        FileNotFoundError: If an image cannot be read.
    """
    crops = np.empty((len(rows), spec.height, spec.width), np.uint8)
    for i, row in enumerate(rows):
        gray = cv2.imread(str(row.path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise FileNotFoundError(f"cannot read image {row.path}")
        crops[i] = fit_crop(gray, spec.height, spec.width) if row.box is None else cut_crop(gray, row.box, spec)
    return crops


def read_texts(net, crop_model: ModelSpec, crops: np.ndarray, batch_size: int = 256) -> list[str]:  # type: ignore[no-untyped-def]
    """Texts a Keras reader reads from ``(N, height, width)`` uint8 crops (best path, no format check)."""
    texts = []
    for start in range(0, len(crops), batch_size):
        logits = np.asarray(net(crops[start : start + batch_size, ..., None].astype(np.float32), training=False))
        slots = columns_to_slots(softmax(logits[:, 0]), crop_model.positions)
        texts += [decode(s, crop_model).text for s in slots]
    return texts


def validate_reader(net, crop_model: ModelSpec, generated: WindowBatch, real: list[LabelledPlate],  # type: ignore[no-untyped-def]
                    real_crops: np.ndarray) -> ReaderScores:
    """Scores a reader on held-back generated crops and on real plates (``real_crops`` cut from ``real``)."""
    reads = read_texts(net, crop_model, generated.images)
    generated_exact = float(np.mean([r == t for r, t in zip(reads, generated.texts)]))
    if not real:
        return ReaderScores(generated_exact, None, None)
    texts = read_texts(net, crop_model, real_crops)
    return ReaderScores(generated_exact, float(np.mean([t == r.text for t, r in zip(texts, real)])),
                        float(np.mean([o0_equal(t, r.text) for t, r in zip(texts, real)])))


def training_model(net):  # type: ignore[no-untyped-def]
    """The reader with its column logits flattened to ``(N, T * C)`` for the loss."""
    import keras

    return keras.Model(net.input, keras.layers.Flatten(name="flat_columns")(net.output), name="reader_train")


def train_reader(model: ModelSpec, renderer: RendererSpec, reader: ReaderSpec, spec: TrainSpec, run_dir: Path,
                 weights_out: Path | None = None) -> Path:
    """Trains (or resumes training of) the crop reader on the crop bank ``spec.bank``.

    The run folder holds ``checkpoint.keras`` (weights and optimizer, every epoch), ``state.json``, ``log.jsonl`` (one
    line of scores per epoch), ``best.weights.h5`` (best real score, or best generated score without real plates) and
    ``last.weights.h5``. Running the same command again resumes after the last finished epoch; with
    ``spec.max_minutes`` the run stops after the first epoch that ends past that wall time.

    Args:
        model: Alphabet.
        renderer: Renderer of the held-back validation crops.
        reader: Crop size, positions and network widths.
        spec: Training spec: ``bank`` (required), batch size, steps, epochs, learning rate, seed, ``val_windows``,
            ``real_crops`` (a manifest of real plates: crops, or photos with plate boxes), ``keep``, ``max_minutes``.
        run_dir: Folder of the run.
        weights_out: Where to copy the kept weights (``spec.keep``) when training ends.

    Returns:
        Path of the kept weights in the run folder.

    Raises:
        ValueError: If ``spec.bank`` is not set.
    """
    import keras

    if spec.bank is None:
        raise ValueError("train.bank: the crop reader trains on a crop bank (anpr render-bank --kind crops)")
    crop_model = reader.crop_model(model)
    run_started = time.monotonic()
    state, checkpoint = load_run_state(run_dir), run_dir / "checkpoint.keras"
    keras.utils.set_random_seed(spec.seed)
    net = build_reader(crop_model, reader)
    if checkpoint.is_file() and state["epoch"] > 0:
        trainer = keras.models.load_model(checkpoint, custom_objects={"reader_loss": make_reader_loss(crop_model)})
        log.info("resuming after epoch %d from %s", state["epoch"], checkpoint)
    else:
        if spec.init_weights is not None:
            load_reader_weights(net, spec.init_weights, crop_model, reader)
        for layer in net.layers:
            layer.trainable = not layer.name.startswith(spec.frozen)
        trainer = training_model(net)
        trainer.compile(optimizer=keras.optimizers.Adam(warmup_cosine(spec.learning_rate, spec.epochs, spec.steps_per_epoch)),
                        loss=make_reader_loss(crop_model))
    generated = CropGenerator(crop_model, renderer, seed=spec.seed + 1_000_003).batch(
        np.random.default_rng([spec.seed, 10**9]), spec.val_windows)
    real = load_manifest(spec.real_crops) if spec.real_crops is not None and spec.real_crops.is_file() else []
    real_crops = real_inputs(real, reader)
    bank = Bank(spec.bank, crop_model)
    stream = bank.batches(spec.batch_size, spec.seed, state["epoch"] * spec.steps_per_epoch, threads=min(4, spec.workers))

    def current_net():  # type: ignore[no-untyped-def]
        copy_weights(trainer, net)
        return net

    with contextlib.closing(stream):
        return run_epochs(trainer, stream, spec, run_dir, state, run_started, "reader epoch", current_net,
                          lambda net: validate_reader(net, crop_model, generated, real, real_crops), weights_out)


def load_reader_weights(net, weights: Path, crop_model: ModelSpec, reader: ReaderSpec) -> None:  # type: ignore[no-untyped-def]
    """Loads a reader's ``.weights.h5`` into ``net``, which may have context blocks (``reader.context_dilations``)
    that the file's reader lacks: those keep their initial weights, with which they add nothing.

    Args:
        net: A reader built by :func:`build_reader` with ``reader``.
        weights: ``.weights.h5`` of a reader with ``reader``'s settings, or with the same but no context blocks.
        crop_model: The crop reader's alphabet and size (``reader.crop_model``).
        reader: The settings ``net`` was built with.
    """
    try:
        with warnings.catch_warnings():  # Keras warns of each layer it cannot fill before it fails
            warnings.simplefilter("ignore")
            net.load_weights(weights)
        return
    except ValueError:
        if not reader.context_dilations:
            raise
    parent = build_reader(crop_model, reader.model_copy(update={"context_dilations": ()}))
    parent.load_weights(weights)
    copy_weights(parent, net)
    log.info("%s has no context blocks: they start adding nothing", weights)


def export_reader(weights: Path, model: ModelSpec, reader: ReaderSpec, out: Path) -> None:
    """Writes the ONNX form of a reader's ``.weights.h5`` (needs TensorFlow, as :func:`recognizer.engine.export_onnx`).

    Args:
        weights: ``.weights.h5`` file of :func:`recognizer.training.reader_network.build_reader`'s layers.
        model: Alphabet.
        reader: Crop size and network widths.
        out: The ``.onnx`` file to write.
    """
    net = build_reader(reader.crop_model(model), reader)
    net.load_weights(weights)
    net(np.zeros((1, reader.height, reader.width, 1), np.float32))
    out.parent.mkdir(parents=True, exist_ok=True)
    net.export(str(out), format="onnx", verbose=False)
