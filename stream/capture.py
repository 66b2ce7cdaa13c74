"""The capture thread: reads a source ahead of processing.

Live sources keep only the newest frame (the camera never waits; overwritten frames are counted as
dropped) and are reopened with backoff when they die or stall. Files hand over every frame in order,
optionally paced at their own frame rate.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from stream.config import SourceSpec
from stream.sources import Frame, SourceError, SourceInfo, VideoSource, backoff_delays, classify, image_files

log = logging.getLogger(__name__)

_END = None


@dataclass
class CaptureStats:
    """Counters of a capture thread (written by it, read by others).

    Attributes:
        read: Frames decoded.
        dropped: Frames replaced by a newer one before processing (live sources and real-time replays only).
        skipped: Corrupt or unreadable frames skipped.
        reconnects: Times a live source was reopened.
    """

    read: int = 0
    dropped: int = 0
    skipped: int = 0
    reconnects: int = 0


class Capture:
    """Reads frames on a thread of its own.

    Args:
        uri: Source as given on the command line.
        spec: Reconnect, stall and frame-size settings.
        realtime: Replay a file as a live camera: paced at its frame rate, keeping only the newest frame, so
            frames the processing cannot keep up with are dropped (and counted). Live sources are always so.
        max_frames: Stop after this many frames (None for no limit).

    Raises:
        SourceError: If the source cannot be opened at start.
    """

    def __init__(self, uri: str, spec: SourceSpec, realtime: bool = False, max_frames: int | None = None) -> None:
        self.spec = spec
        self.realtime = realtime
        self.max_frames = max_frames
        self.stats = CaptureStats()
        self.stop_event = threading.Event()
        kind = classify(uri)
        self._images = image_files(uri) if kind in {"image", "folder"} else None
        self._video = None if self._images is not None else VideoSource(uri, spec.max_pixels, spec.stall_s)
        if self._video is not None:
            self.info = self._video.info
        else:
            self.info = SourceInfo(uri, live=False, fps=0.0)
        self._newest_only = self.info.live or (realtime and self._video is not None)
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=1 if self._newest_only else 8)
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    def start(self) -> "Capture":
        """Starts the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Asks the thread to end and joins it."""
        self.stop_event.set()
        self._thread.join(timeout=10)

    def frames(self, poll_s: float = 0.2) -> Iterator[Frame | None]:
        """Frames in processing order until the source ends or ``stop`` is called.

        Args:
            poll_s: How often to yield None while waiting (so the caller can send heartbeats).

        Yields:
            Frames, or None while no frame is ready.
        """
        while True:
            try:
                item = self._queue.get(timeout=poll_s)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    return
                yield None
                continue
            if item is _END:
                return
            yield item

    def queue_depth(self) -> int:
        """Frames waiting for processing."""
        return self._queue.qsize()

    def _put(self, frame: Frame) -> bool:
        """Hands a frame over; False when stopping."""
        if self._newest_only:
            try:
                self._queue.put_nowait(frame)
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.stats.dropped += 1
                except queue.Empty:
                    pass
                self._queue.put_nowait(frame)
            return not self.stop_event.is_set()
        while not self.stop_event.is_set():
            try:
                self._queue.put(frame, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _finish(self) -> None:
        """Marks the end of the frames; once stopping, frames nobody will take make room for the mark."""
        while True:
            try:
                self._queue.put(_END, timeout=0.2)
                return
            except queue.Full:
                if self.stop_event.is_set():
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()

    def _run(self) -> None:
        try:
            if self._images is not None:
                self._run_images(self._images)
            else:
                self._run_video()
        except Exception:  # noqa: BLE001 - a capture failure must end the stream, not hang it
            log.exception("capture thread failed")
        finally:
            if self._video is not None:
                self._video.close()
            self._finish()

    def _limit_reached(self) -> bool:
        return self.max_frames is not None and self.stats.read >= self.max_frames

    def _run_images(self, files: list[Path]) -> None:
        for index, path in enumerate(files):
            if self._limit_reached():
                break
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping unreadable image %s", path)
                self.stats.skipped += 1
                continue
            if not self._put(Frame(index, float(index), image, path.name)):
                break
            self.stats.read += 1

    def _run_video(self) -> None:
        """Reads a camera, stream or file; live sources are reopened when they fail, files end (a corrupt stretch of
        a file is skipped by the source and counted in ``stats.skipped``)."""
        assert self._video is not None
        started = time.monotonic()
        while not self.stop_event.is_set() and not self._limit_reached():
            image = self._video.read()
            self.stats.skipped = self._video.skipped
            if image is None:
                if not self.info.live:
                    break
                log.warning("live source %s stopped delivering frames; reconnecting", self.info.uri)
                if not self._reconnect():
                    break
                continue
            index = self._video.position - 1  # skipped frames keep their places: a file's times stay true
            if self.info.live:
                t = time.monotonic() - started
            else:
                t = index / self.info.fps
                delay = started + t - time.monotonic()
                if self.realtime and delay > 0 and self.stop_event.wait(delay):
                    break
            if not self._put(Frame(index, t, image)):
                break
            self.stats.read += 1

    def _reconnect(self) -> bool:
        """Reopens the live source with backoff until it works or the thread is stopped."""
        assert self._video is not None
        for delay in backoff_delays(self.spec.reconnect_initial_s, self.spec.reconnect_max_s):
            if self.stop_event.wait(delay):
                return False
            try:
                self._video.reopen()
            except SourceError as error:
                log.warning("%s; retrying in up to %.1f s", error, min(delay * 2, self.spec.reconnect_max_s))
                continue
            self.stats.reconnects += 1
            log.info("reconnected to %s", self.info.uri)
            return True
        return False
