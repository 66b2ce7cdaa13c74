"""``anpr bench``: frames per second end to end, time per stage and peak memory, on clips with plates in view."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.pyramid import build_pyramid, pyramid_scales
from detector.scanner import crop_windows, window_grid
from detector.schedule import FocusedScanner
from recognizer.synth.clip import make_clip
from recognizer.engine import PlateNetwork
from recognizer.outputs import STRIDE
from stream.capture import Capture
from stream.config import AppConfig
from stream.pipeline import build_scanner, to_reads
from stream.tracker import Tracker


@dataclass(frozen=True)
class BenchResult:
    """Medians over the frames of one clip.

    Attributes:
        clip: Clip file name.
        size: ``(width, height)``.
        frames: Frames processed.
        fps: Frames per second end to end (decode to track).
        ms: Median milliseconds per frame of each stage: decode (waiting for the capture thread's next frame,
            then the gray conversion), motion, pyramid, gate, network, merge, track.
        plates: Plate events the tracker produced.
        texts: Their plate texts, in the order they ended.
        dropped: Frames dropped, replaying the clip as a live camera (0 when every frame is processed).
        clip_fps: The clip's own frame rate.
    """

    clip: str
    size: tuple[int, int]
    frames: int
    fps: float
    ms: dict[str, float]
    plates: int
    texts: tuple[str, ...] = ()
    dropped: int = 0
    clip_fps: float = 0.0


def bench_clips(folder: Path, config: AppConfig) -> list[Path]:
    """The benchmark clips (720p and 1080p, 24 fps, plates in view), generated once into ``folder``."""
    specs = {"bench_720p.mp4": ((1280, 720), (150, 220)), "bench_1080p.mp4": ((1920, 1080), (220, 290))}
    clips = []
    for name, (size, widths) in specs.items():
        path = folder / name
        if not path.is_file():
            make_clip(path, config.model, config.renderer, seed=11, size=size, fps=24.0, vehicles=3,
                      plate_width=widths, frames_per_vehicle=40, gap_frames=4)
        clips.append(path)
    return clips


def run_clip(path: Path, config: AppConfig, network: PlateNetwork, max_frames: int, realtime: bool = False) -> BenchResult:
    """Processes a clip as the running system does (scans focused on motion and live tracks between whole-frame
    scans, ``scan.full_scan_every``), timing each stage.

    Args:
        path: Video file.
        config: Application config.
        network: The loaded network.
        max_frames: Frames to read from the clip.
        realtime: Replay the clip as a live camera at its frame rate, dropping the frames processing cannot
            keep up with; otherwise every frame is processed as fast as possible.
    """
    scanner = FocusedScanner(build_scanner(config, network), config.scan)
    tracker = Tracker(config.track, config.model, config.format_check)
    stages: dict[str, list[float]] = {k: [] for k in ("decode", "motion", "pyramid", "gate", "network", "merge", "track")}
    texts: list[str] = []
    frames, size = 0, (0, 0)
    capture = Capture(str(path), config.source, realtime=realtime, max_frames=max_frames).start()
    started = time.monotonic()
    try:
        t0 = time.monotonic()
        for frame in capture.frames():
            if frame is None:
                continue
            gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
            t1 = time.monotonic()
            candidates = scanner.scan(gray, tracker.boxes_at(frame.time_s))
            t2 = time.monotonic()
            texts += [t.reading.text for t in tracker.update(to_reads(candidates, config, frame.index, frame.time_s),
                                                              frame.time_s)]
            t3 = time.monotonic()
            stages["decode"].append(t1 - t0)
            stages["motion"].append(scanner.timings.motion)
            stages["pyramid"].append(scanner.timings.pyramid)
            stages["gate"].append(scanner.timings.gate)
            stages["network"].append(scanner.timings.network)
            stages["merge"].append(scanner.timings.merge)
            stages["track"].append(t3 - t2)
            frames += 1
            size = (gray.shape[1], gray.shape[0])
            t0 = time.monotonic()
    finally:
        capture.stop()
        scanner.scanner.close()
    elapsed = time.monotonic() - started
    texts += [t.reading.text for t in tracker.flush()]
    return BenchResult(path.name, size, frames, frames / elapsed if elapsed > 0 else 0.0,
                       {k: float(np.median(v)) * 1000 if v else 0.0 for k, v in stages.items()}, len(texts), tuple(texts),
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


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
