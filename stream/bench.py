"""``anpr bench``: frames per second end to end, time per stage, frames dropped live, peak memory and the plates
read, on real clips (a folder with ``clip.mp4`` and ``truth.csv``) or generated ones."""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.pyramid import build_pyramid, pyramid_scales
from detector.scanner import crop_windows, window_grid
from recognizer.decode import o0_equal
from recognizer.engine import PlateNetwork
from recognizer.outputs import STRIDE
from recognizer.realdata import load_clip_truth
from stream.capture import Capture
from stream.config import AppConfig
from stream.frames import FrameReader
from stream.tracker import Tracker

STAGES = ("wait", "gray", "motion", "pyramid", "gate", "network", "merge", "text", "track")
"""Stages timed per frame: waiting for the capture thread's next decoded frame, the gray conversion, the scan's
stages, decoding the candidates' texts, tracking."""


@dataclass(frozen=True)
class Clip:
    """A clip to run and, where known, the plates in it.

    Attributes:
        video: The video file.
        plates: Texts of the plates a run should publish (``truth.csv`` beside a real clip, the ``.json`` beside a
            generated one); None when unknown.
    """

    video: Path
    plates: tuple[str, ...] | None


def clip_of(path: Path) -> Clip:
    """The clip at a path: a labelled clip's folder (``clip.mp4`` with ``truth.csv``) or a video file (with its
    plates from a ``truth.csv`` in its folder, or from the ``.json`` a generated clip has beside it).

    Raises:
        FileNotFoundError: If there is no video at the path.
    """
    video = path / "clip.mp4" if path.is_dir() else path
    if not video.is_file():
        raise FileNotFoundError(f"no video at {path}")
    if (video.parent / "truth.csv").is_file():
        return Clip(video, tuple(load_clip_truth(video.parent / "truth.csv")))
    if video.with_suffix(".json").is_file():
        from recognizer.synth.clip import load_truth

        return Clip(video, tuple(v.plate for v in load_truth(video)))
    return Clip(video, None)


@dataclass(frozen=True)
class EventScore:
    """A run's plate events against the plates of its clip.

    Attributes:
        read: Plates with an event of their exact text.
        read_o0: Plates with an event of their text, O/0 and I/1 taken as equal.
        false: Events whose text is no plate's.
        duplicates: Events beyond the first of a plate read.
    """

    read: int
    read_o0: int
    false: int
    duplicates: int


def score_events(texts: tuple[str, ...], plates: tuple[str, ...]) -> EventScore:
    """Scores plate events by the rule of the dev data: a plate is read when one event has its exact text; an event
    whose text is in no truth row is false; two events of one plate, a duplicate.

    Args:
        texts: Texts of the run's plate events.
        plates: Texts of the clip's plates.
    """
    read = sum(p in texts for p in set(plates))
    read_o0 = sum(any(o0_equal(t, p) for t in texts) for p in set(plates))
    false = sum(t not in plates for t in texts)
    duplicates = sum(max(0, texts.count(p) - 1) for p in set(plates))
    return EventScore(read, read_o0, false, duplicates)


@dataclass(frozen=True)
class BenchResult:
    """One run of one clip.

    Attributes:
        clip: Clip file name.
        size: ``(width, height)``.
        frames: Frames processed.
        fps: Frames processed per second, end to end (capture to track).
        ms: Median milliseconds per frame of each of :data:`STAGES`.
        texts: The plate events' texts, in the order they ended.
        dropped: Frames dropped, replaying the clip as a live camera (0 when every frame is processed).
        clip_fps: The clip's own frame rate.
    """

    clip: str
    size: tuple[int, int]
    frames: int
    fps: float
    ms: dict[str, float]
    texts: tuple[str, ...]
    dropped: int = 0
    clip_fps: float = 0.0


def bench_clips(folder: Path, config: AppConfig) -> list[Path]:
    """Generated benchmark clips (720p and 1080p, 24 fps, three cars on a plain background), made once into
    ``folder``; an extra beside the real clips."""
    from recognizer.synth.clip import make_clip

    specs = {"bench_720p.mp4": ((1280, 720), (150, 220)), "bench_1080p.mp4": ((1920, 1080), (220, 290))}
    clips = []
    for name, (size, widths) in specs.items():
        path = folder / name
        if not path.is_file():
            make_clip(path, config.model, config.renderer, seed=11, size=size, fps=24.0, vehicles=3,
                      plate_width=widths, frames_per_vehicle=40, gap_frames=4)
        clips.append(path)
    return clips


def run_clip(path: Path, config: AppConfig, network: PlateNetwork, max_frames: int | None = None,
             realtime: bool = False) -> BenchResult:
    """Processes a clip as ``anpr run`` does (the same :class:`~stream.frames.FrameReader` and tracker), timing each
    stage.

    Args:
        path: Video file.
        config: Application config.
        network: The loaded network.
        max_frames: Frames to read from the clip (None: all).
        realtime: Replay the clip as a live camera at its frame rate, dropping the frames processing cannot
            keep up with; otherwise every frame is processed as fast as possible.
    """
    tracker = Tracker(config.track, config.model, config.format_check)
    stages: dict[str, list[float]] = {k: [] for k in STAGES}
    texts: list[str] = []
    frames, size = 0, (0, 0)
    capture = Capture(str(path), config.source, realtime=realtime, max_frames=max_frames)
    with FrameReader(config, network, snapshots=config.publish.snapshot_quota_mb > 0) as reader:
        capture.start()
        started = time.monotonic()
        try:
            waited = time.monotonic()
            for frame in capture.frames():
                if frame is None:
                    continue
                read_at = time.monotonic()
                result = reader.read(frame.image, frame.index, frame.time_s, tracker.boxes_at(frame.time_s))
                tracked_at = time.monotonic()
                texts += [t.reading.text for t in tracker.update(list(result.reads), frame.time_s)]
                done = time.monotonic()
                scan = result.scan
                for stage, seconds in zip(STAGES, (read_at - waited, result.gray_s, scan.motion, scan.pyramid,
                                                   scan.gate, scan.network, scan.merge, result.text_s,
                                                   done - tracked_at)):
                    stages[stage].append(seconds)
                frames += 1
                size = (frame.image.shape[1], frame.image.shape[0])
                waited = time.monotonic()
        finally:
            capture.stop()
        elapsed = time.monotonic() - started
    texts += [t.reading.text for t in tracker.flush()]
    return BenchResult(path.name, size, frames, frames / elapsed if elapsed > 0 else 0.0,
                       {k: float(np.median(v)) * 1000 if v else 0.0 for k, v in stages.items()}, tuple(texts),
                       capture.stats.dropped, capture.info.fps)


def dense_vs_batched(gray: np.ndarray, config: AppConfig, network: PlateNetwork) -> tuple[float, float]:
    """Seconds to score every window of one mid pyramid level fully convolutionally, and as batched crops."""
    levels = build_pyramid(gray, pyramid_scales(config.scan, config.model.window_width), config.model.window_shape)
    level = levels[len(levels) // 2].image
    t0 = time.monotonic()
    network.score_map(level)
    t1 = time.monotonic()
    corners = window_grid(level.shape, config.model.window_shape, STRIDE).reshape(-1, 2)
    windows = crop_windows(level, corners, config.model.window_shape)
    for start in range(0, len(windows), config.scan.batch_size):
        network.predict_windows(windows[start : start + config.scan.batch_size])
    return t1 - t0, time.monotonic() - t1


VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimddp")
"""CPU features that decide how fast the networks run in ONNX Runtime: vector width, and 8-bit dot products."""


def machine_line(cpuinfo: str | None = None) -> str:
    """One line naming the CPU the figures were measured on: its model, the features of :data:`VECTOR_FLAGS` it has,
    the cores this process may use and ONNX Runtime's version, e.g. ``cpu: AMD EPYC (avx2), 2 cores, onnxruntime
    1.32.0``.

    Args:
        cpuinfo: The text of ``/proc/cpuinfo``; None: read it where it exists (Linux), else the platform's name.
    """
    import onnxruntime

    if cpuinfo is None:
        info = Path("/proc/cpuinfo")
        cpuinfo = info.read_text(errors="replace") if info.is_file() else ""
    pairs = (line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in pairs}
    model = fields.get("model name") or fields.get("Model") or platform.processor() or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    found = [flag for flag in VECTOR_FLAGS if flag in flags]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    features = ", ".join(found) or "no vector features listed"
    return f"cpu: {model} ({features}), {cores} cores, onnxruntime {onnxruntime.__version__}"


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
