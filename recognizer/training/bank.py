"""A bank of generated training windows: rendered once, in parallel, to shards on disk; trained on for many epochs.

Rendering is the slow part of training (about 2 ms a window on one core), so ``anpr render-bank`` renders a bank
once with many processes and ``train.bank`` trains on it, reshuffled every pass and augmented cheaply in NumPy.
A bank folder holds ``bank.json`` (the settings it was rendered with) and ``shard_NNNNN.npz`` files, each
deterministic from ``(seed, shard index)``; rendering again skips the shards already there.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.spec import ModelSpec, RendererSpec
from recognizer.synth.windows import WindowGenerator

log = logging.getLogger(__name__)

CHUNK = 32
"""Windows rendered at one difficulty; a shard's chunks draw theirs independently."""

FULL_DIFFICULTY_SHARE = 0.6
"""Share of chunks rendered at full camera degradation; the rest spread uniformly over 0.2..1 (the curriculum's
range)."""

MAX_SHIFT = 2
"""Greatest horizontal shift, in pixels, of an augmented window."""

_worker_generator: WindowGenerator | None = None


class BankError(OSError):
    """A bank folder that holds another bank than the one asked for (other settings, or for another model)."""


@dataclass(frozen=True)
class BankSettings:
    """What a bank was rendered with, kept in its ``bank.json``; a bank is only extended with the same settings.

    Attributes:
        windows: Windows in the bank.
        shard_size: Windows per shard (the last shard may hold fewer).
        seed: Seed of the renderer; shard ``i`` is rendered from ``(seed, i)``.
        model: The window spec, as JSON data.
        renderer: The renderer spec, as JSON data.
    """

    windows: int
    shard_size: int
    seed: int
    model: dict
    renderer: dict

    @property
    def shards(self) -> int:
        """Number of shards."""
        return -(-self.windows // self.shard_size)

    def shard_windows(self, index: int) -> int:
        """Windows in shard ``index``."""
        return min(self.shard_size, self.windows - index * self.shard_size)


def shard_path(folder: Path, index: int) -> Path:
    """The file of shard ``index`` of the bank in ``folder``."""
    return folder / f"shard_{index:05d}.npz"


def chunk_difficulties(rng: np.random.Generator, chunks: int) -> np.ndarray:
    """``(chunks,)`` camera difficulties: ``FULL_DIFFICULTY_SHARE`` of them 1, the rest uniform over 0.2..1."""
    return np.where(rng.random(chunks) < FULL_DIFFICULTY_SHARE, 1.0, rng.uniform(0.2, 1.0, chunks))


def _init_worker(model: ModelSpec, renderer: RendererSpec, seed: int, generator: type[WindowGenerator]) -> None:
    global _worker_generator
    cv2.setNumThreads(1)
    _worker_generator = generator(model, renderer, seed)


def _render_shard(args: tuple[Path, int, int, int]) -> int:
    """Renders one shard and writes it under a temporary name, then renames it into place; returns its index."""
    folder, seed, index, size = args
    generator = _worker_generator
    assert generator is not None
    rng = np.random.default_rng([seed, index])
    difficulties = chunk_difficulties(rng, -(-size // CHUNK))
    parts = []
    for chunk, difficulty in enumerate(difficulties):
        generator.difficulty = float(difficulty)
        parts.append(generator.batch(rng, min(CHUNK, size - chunk * CHUNK)))
    texts = [t for part in parts for t in part.texts]
    temporary = folder / f".shard_{index:05d}.{os.getpid()}.tmp"
    with temporary.open("wb") as handle:
        np.savez(handle, images=np.concatenate([p.images for p in parts]),
                 presence=np.concatenate([p.presence for p in parts]), boxes=np.concatenate([p.boxes for p in parts]),
                 chars=np.concatenate([p.chars for p in parts]), texts=np.array(texts, dtype=str),
                 difficulty=np.repeat(difficulties.astype(np.float32), CHUNK)[:size])
    os.replace(temporary, shard_path(folder, index))
    return index


def _check_settings(folder: Path, settings: BankSettings) -> None:
    """Writes ``bank.json``, or checks that an existing one holds the same settings."""
    path = folder / "bank.json"
    wanted = json.loads(json.dumps(settings.__dict__))
    if path.is_file():
        found = json.loads(path.read_text())
        if found != wanted:
            changed = sorted(key for key in wanted if found.get(key) != wanted[key])
            raise BankError(f"bank {folder} was rendered with other settings ({', '.join(changed)}): "
                            "render into another folder")
        return
    path.write_text(json.dumps(wanted, indent=1))


def render_bank(model: ModelSpec, renderer: RendererSpec, out_dir: Path, windows: int, workers: int = 1, seed: int = 1,
                shard_size: int = 2048, generator: type[WindowGenerator] = WindowGenerator) -> list[Path]:
    """Renders a bank of windows into ``out_dir``, one shard per task of a pool of ``workers`` processes.

    Shards already in the folder are kept, so an interrupted run resumes where it stopped.

    Args:
        model: Window spec.
        renderer: Renderer spec.
        out_dir: The bank's folder (created).
        windows: Windows in the bank.
        workers: Rendering processes.
        seed: Seed of the renderer.
        shard_size: Windows per shard.
        generator: What renders the windows: :class:`recognizer.synth.windows.WindowGenerator` or a subclass (the crop
            reader's :class:`recognizer.synth.crops.CropGenerator`, whose "windows" are plate crops).

    Returns:
        The shard files, in order.

    Raises:
        BankError: If the folder holds a bank rendered with other settings.
    """
    settings = BankSettings(windows, shard_size, seed, model.model_dump(mode="json"), renderer.model_dump(mode="json"))
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings)
    todo = [(out_dir, seed, i, settings.shard_windows(i)) for i in range(settings.shards)
            if not shard_path(out_dir, i).is_file()]
    log.info("bank %s: %d of %d shards to render with %d processes", out_dir, len(todo), settings.shards, workers)
    if todo:
        from tqdm import tqdm

        context = mp.get_context("spawn")
        with context.Pool(min(workers, len(todo)), _init_worker, (model, renderer, seed, generator)) as pool:
            for _ in tqdm(pool.imap_unordered(_render_shard, todo), total=len(todo), desc="shards", mininterval=10):
                pass
    return [shard_path(out_dir, i) for i in range(settings.shards)]


class Bank:
    """All the windows of a bank folder in memory, served as shuffled, augmented training batches.

    Args:
        folder: A folder written by :func:`render_bank`.
        model: The window spec training uses; the bank must have been rendered for the same windows and positions.

    Attributes:
        images: ``(N, H, W)`` uint8 windows.
        presence: ``(N,)`` float32, 1 where a plate is present.
        boxes: ``(N, 4)`` float32 plate boxes as shares of the window (zeros where none is present).
        chars: ``(N, P)`` int32 class per position (-1 where no plate is present).
        texts: ``(N,)`` plate texts ("" where none is present).

    Raises:
        FileNotFoundError: If the folder holds no complete bank.
        BankError: If the bank was rendered for another window spec.
    """

    def __init__(self, folder: Path, model: ModelSpec) -> None:
        settings_path = folder / "bank.json"
        if not settings_path.is_file():
            raise FileNotFoundError(f"no bank in {folder} (render one with 'anpr render-bank')")
        settings = BankSettings(**json.loads(settings_path.read_text()))
        missing = [i for i in range(settings.shards) if not shard_path(folder, i).is_file()]
        if missing:
            raise FileNotFoundError(f"bank {folder} lacks {len(missing)} of its {settings.shards} shards: "
                                    "render it again to finish it")
        rendered = ModelSpec.model_validate(settings.model)
        layout = (model.window_shape, model.positions, model.alphabet)
        if (rendered.window_shape, rendered.positions, rendered.alphabet) != layout:
            raise BankError(f"bank {folder} holds windows for another model (window, positions or alphabet differ)")
        self.images = np.empty((settings.windows, *model.window_shape), np.uint8)
        self.presence = np.empty(settings.windows, np.float32)
        self.boxes = np.empty((settings.windows, 4), np.float32)
        self.chars = np.empty((settings.windows, model.positions), np.int32)
        texts = []
        for i in range(settings.shards):
            start, stop = i * settings.shard_size, i * settings.shard_size + settings.shard_windows(i)
            with np.load(shard_path(folder, i)) as shard:
                self.images[start:stop] = shard["images"]
                self.presence[start:stop] = shard["presence"]
                self.boxes[start:stop] = shard["boxes"]
                self.chars[start:stop] = shard["chars"]
                texts.append(shard["texts"])
        self.texts = np.concatenate(texts)
        self.noise = noise_pool(np.random.default_rng(settings.seed), model.window_shape)
        log.info("bank %s: %d windows (%.1f GB), %.0f%% with a plate", folder, len(self), self.images.nbytes / 1e9,
                 100 * float(self.presence.mean()))

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, step: int, batch_size: int, seed: int, augment: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``step`` of the endless sequence of a seed: the bank in a new order every pass, each batch augmented.

        Args:
            step: Index of the batch; pass ``step // (N // batch_size)`` of the bank.
            batch_size: Windows per batch (at most the bank's size).
            seed: Seed of the order and of the augmentation.
            augment: Apply :func:`augment_windows`.

        Returns:
            ``(B, H, W, 1)`` float32 images and ``(B, 5 + P)`` float32 targets, as
            :func:`recognizer.training.train.to_targets` gives them.
        """
        if not 0 < batch_size <= len(self):
            raise BankError(f"batch_size {batch_size} must be between 1 and the bank's {len(self)} windows")
        bank_pass, k = divmod(step, len(self) // batch_size)
        picked = np.sort(self._order(seed, bank_pass)[k * batch_size : (k + 1) * batch_size])
        images, boxes = self.images[picked], self.boxes[picked]
        if augment:
            rng = np.random.default_rng([seed, step])
            images, boxes = augment_windows(rng, images, boxes, self.presence[picked], self.noise)
        else:
            images = images.astype(np.float32)
        y = np.concatenate([self.presence[picked, None], boxes, self.chars[picked].astype(np.float32)], axis=1)
        return images[..., None], y

    @functools.lru_cache(maxsize=2)
    def _order(self, seed: int, bank_pass: int) -> np.ndarray:
        return np.random.default_rng([seed, bank_pass]).permutation(len(self))

    def batches(self, batch_size: int, seed: int, first_step: int = 0, augment: bool = True,
                threads: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless :meth:`batch` es from ``first_step`` on, prepared ahead by ``threads`` threads.

        A resumed run that starts at the step it stopped at continues the same sequence.

        Yields:
            ``(images, targets)`` as :meth:`batch` returns them.
        """
        pool = ThreadPoolExecutor(threads, thread_name_prefix="bank")
        ahead = 2 * threads
        try:
            pending = collections.deque(pool.submit(self.batch, step, batch_size, seed, augment)
                                        for step in range(first_step, first_step + ahead))
            step = first_step + ahead
            while True:
                yield pending.popleft().result()
                pending.append(pool.submit(self.batch, step, batch_size, seed, augment))
                step += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def noise_pool(rng: np.random.Generator, shape: tuple[int, int], size: int = 256) -> np.ndarray:
    """``(size, H, W)`` float32 fields of unit Gaussian noise that :func:`augment_windows` picks from (drawing fresh
    noise for a batch costs more than the rest of the augmentation together)."""
    return rng.standard_normal((size, *shape), np.float32)


def augment_windows(rng: np.random.Generator, images: np.ndarray, boxes: np.ndarray, presence: np.ndarray,
                    noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheap camera changes to a batch of windows; labels stay true.

    Each window's gray levels go through its own table (a random gamma, gain and offset); 15% of the windows are
    blurred (3x3 box) and 10% halved in resolution and brought back; each is shifted sideways by up to
    ``MAX_SHIFT`` pixels (edges replicated), a window with a plate only as far as keeps the plate inside it, so
    the presence rule still holds, and not away from an edge the plate touches (the replicated edge would widen
    it); its box moves with it. A plate outside a window sideways overshoots it by over 10% of its width, far
    more than the shift, so no negative becomes a positive. All get Gaussian noise
    of a random strength. Random numbers are drawn for the whole batch at once; the per-window work is OpenCV's
    (a loop of OpenCV calls is 10x faster here than NumPy's fancy indexing over the batch).

    Args:
        rng: Random generator.
        images: ``(N, H, W)`` uint8 windows.
        boxes: ``(N, 4)`` float32 boxes ``[x0, y0, x1, y1]`` as shares of the window.
        presence: ``(N,)`` float32, 1 where a plate is present.
        noise: ``(K, H, W)`` float32 unit noise fields (:func:`noise_pool`).

    Returns:
        ``(N, H, W)`` float32 windows in 0..255 and their ``(N, 4)`` boxes.
    """
    n, h, w = images.shape
    levels = np.arange(256, dtype=np.float32) / 255
    gamma = np.exp(rng.normal(0, 0.25, (n, 1))).astype(np.float32)
    gain, offset = rng.uniform(0.8, 1.2, (n, 1)).astype(np.float32), rng.uniform(-20, 20, (n, 1)).astype(np.float32)
    tables = np.clip(255 * levels[None] ** gamma * gain + offset + 0.5, 0, 255).astype(np.uint8)
    kind = rng.random(n)
    present = presence > 0.5
    low, high = np.full(n, -MAX_SHIFT), np.full(n, MAX_SHIFT)
    room_left = np.maximum(np.floor(boxes[present, 0] * w + 1e-3).astype(int), 0)
    room_right = np.maximum(np.floor((1 - boxes[present, 2]) * w + 1e-3).astype(int), 0)
    low[present] = np.where(room_right >= 1, -np.minimum(room_left, MAX_SHIFT), 0)
    high[present] = np.where(room_left >= 1, np.minimum(room_right, MAX_SHIFT), 0)
    shift = rng.integers(low, high + 1)
    out = np.empty((n, h, w), np.uint8)
    for i in range(n):
        window = cv2.LUT(images[i], tables[i])
        if kind[i] < 0.15:
            window = cv2.blur(window, (3, 3))
        elif kind[i] < 0.25:
            small = cv2.resize(window, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            window = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        s = int(shift[i])
        if s:
            padded = cv2.copyMakeBorder(window, 0, 0, max(s, 0), max(-s, 0), cv2.BORDER_REPLICATE)
            window = padded[:, max(-s, 0) : max(-s, 0) + w]
        out[i] = window
    strength = rng.uniform(0, 5, (n, 1, 1)).astype(np.float32)
    noisy = noise[rng.integers(0, len(noise), n)]
    noisy *= strength
    noisy += out
    np.clip(noisy, 0, 255, out=noisy)
    boxes = boxes.copy()
    boxes[present, 0::2] += (shift[present] / w)[:, None]
    return noisy, boxes
