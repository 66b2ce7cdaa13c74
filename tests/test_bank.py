"""The bank of training windows: rendered once to shards, resumed, loaded whole, served shuffled and augmented with
labels that stay true."""

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from recognizer.spec import ModelSpec, RendererSpec
from recognizer.training.bank import Bank, BankError, augment_windows, noise_pool, render_bank, shard_path

MODEL = ModelSpec()


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bank")
    render_bank(MODEL, RendererSpec(), folder, windows=40, workers=2, seed=3, shard_size=16)
    return folder


def test_shards_are_written_whole_and_a_second_run_renders_only_the_missing_one(bank_dir: Path):
    shards = sorted(bank_dir.glob("shard_*.npz"))
    assert shards == [shard_path(bank_dir, i) for i in range(3)] and not list(bank_dir.glob(".shard_*"))
    with np.load(shards[2]) as last:
        assert last["images"].shape == (8, 64, 128) and last["images"].dtype == np.uint8
        assert last["chars"].shape == (8, MODEL.positions) and last["boxes"].shape == (8, 4)
        assert last["presence"].shape == last["texts"].shape == last["difficulty"].shape == (8,)
        assert set(np.round(last["difficulty"], 3)) <= {1.0} | set(np.round(np.linspace(0.2, 1, 801), 3))
    with np.load(shards[1]) as shard:
        rendered = {key: shard[key] for key in shard.files}
    kept = shards[0].stat().st_mtime_ns
    shards[1].unlink()
    render_bank(MODEL, RendererSpec(), bank_dir, windows=40, workers=1, seed=3, shard_size=16)
    assert shards[0].stat().st_mtime_ns == kept  # not rendered again
    with np.load(shards[1]) as shard:
        for key, value in rendered.items():
            np.testing.assert_array_equal(shard[key], value)  # the same shard again: deterministic per (seed, index)

    with pytest.raises(BankError, match="other settings"):
        render_bank(MODEL, RendererSpec(), bank_dir, windows=41, workers=1, seed=3, shard_size=16)


def test_the_loader_holds_every_window_with_its_labels(bank_dir: Path):
    bank = Bank(bank_dir, MODEL)
    assert bank.images.shape == (40, 64, 128) and bank.images.dtype == np.uint8
    assert bank.presence.shape == (40,) and bank.boxes.shape == (40, 4) and bank.chars.shape == (40, MODEL.positions)
    present = bank.presence > 0.5
    assert 0 < present.sum() < 40
    assert all(bool(text) == p for text, p in zip(bank.texts, present))
    assert (bank.chars[~present] == -1).all() and (bank.chars[present] >= 0).all()
    assert (bank.boxes[present, 2] > bank.boxes[present, 0]).all()
    with pytest.raises(BankError, match="another model"):
        Bank(bank_dir, ModelSpec(positions=9))
    with pytest.raises(FileNotFoundError, match="no bank"):
        Bank(bank_dir / "none", MODEL)


def test_batches_keep_labels_with_their_windows_and_resume_the_same_sequence(bank_dir: Path):
    bank = Bank(bank_dir, MODEL)
    x, y = bank.batch(5, 16, seed=7, augment=False)  # the second pass (two batches of 16 a pass)
    assert x.shape == (16, 64, 128, 1) and x.dtype == np.float32 and y.shape == (16, 5 + MODEL.positions)
    for window, target in zip(x[..., 0], y):
        [index] = np.flatnonzero((bank.images == window).all(axis=(1, 2)))
        np.testing.assert_array_equal(target, np.concatenate([[bank.presence[index]], bank.boxes[index], bank.chars[index]]))
    ax, ay = bank.batch(5, 16, seed=7)
    np.testing.assert_array_equal(ay[:, :1], y[:, :1])
    np.testing.assert_array_equal(ay[:, 5:], y[:, 5:])  # presence and characters untouched
    shift = np.round((ay[:, 1] - y[:, 1]) * 128)
    np.testing.assert_allclose(ay[:, 1:5], y[:, 1:5] + np.where(y[:, :1] > 0.5, shift[:, None], 0) / 128 * [1, 0, 1, 0], atol=1e-6)
    assert 0.5 < np.corrcoef(ax.ravel(), x.ravel())[0, 1] < 1  # the same windows, changed
    assert {y.tobytes() for _, y in islice(bank.batches(16, 7, first_step=0), 2)} != {y.tobytes()}
    resumed = list(islice(bank.batches(16, 7, first_step=5, threads=2), 2))
    for (bx, by), step in zip(resumed, (5, 6)):
        cx, cy = bank.batch(step, 16, seed=7)
        np.testing.assert_array_equal(bx, cx)
        np.testing.assert_array_equal(by, cy)


def test_augmentation_moves_boxes_with_the_plate_and_keeps_plates_inside():
    n, h, w = 64, 64, 128
    rng = np.random.default_rng(0)
    x0 = np.concatenate([np.zeros(n // 2), rng.uniform(0.02, 0.3, n // 2)])  # half touch the left edge: no shift
    boxes = np.stack([x0 * w // 1 / w, np.full(n, 0.3), (x0 * w // 1 + 80) / w, np.full(n, 0.7)], axis=1).astype(np.float32)
    images = np.zeros((n, h, w), np.uint8)
    for image, (a, b, c, d) in zip(images, boxes * [w, h, w, h]):
        image[int(b) : int(d), int(a) : int(c)] = 255
    presence = np.ones(n, np.float32)
    out, moved = augment_windows(rng, images, boxes, presence, noise_pool(rng, (h, w), 8))
    assert out.shape == (n, h, w) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 255
    shift = np.round((moved[:, 0] - boxes[:, 0]) * w)
    assert set(shift) - {0} and np.abs(shift).max() <= 2 and (shift[: n // 2] == 0).all()
    assert (moved[:, 0] >= 0).all() and (moved[:, 2] <= 1).all()
    np.testing.assert_allclose(moved[:, 2] - moved[:, 0], boxes[:, 2] - boxes[:, 0], atol=1e-6)
    columns = (out > 112).mean(axis=1)  # (n, w): how much of each column the bright plate covers
    centre = (columns * np.arange(w)).sum(axis=1) / columns.sum(axis=1) + 0.5
    np.testing.assert_allclose(centre, (moved[:, 0] + moved[:, 2]) / 2 * w, atol=0.75)
    negatives, _ = augment_windows(rng, images, boxes, np.zeros(n, np.float32), noise_pool(rng, (h, w), 8))
    assert negatives.shape == (n, h, w)
