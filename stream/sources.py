"""Frame sources: webcams, RTSP/HTTP streams, video files, images and folders of images."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".ts", ".mjpeg", ".mjpg", ".h264"}

MAX_FAILED_READS = 250
"""A video file whose reads fail this many times in a row has ended, whatever its frame count says."""


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message says which and why."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: Position in the source (frames read, dropped ones included).
        time_s: Stream time in seconds: position / fps for files, seconds since start for live sources.
        image: ``(H, W, 3)`` uint8 BGR image.
        name: File name for image sources, else "".
    """

    index: int
    time_s: float
    image: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class SourceInfo:
    """What a source is.

    Attributes:
        uri: As given by the user.
        live: Whether frames arrive in real time (webcam, network stream).
        fps: Frame rate (nominal for live sources; 0 for images).
    """

    uri: str
    live: bool
    fps: float


def classify(uri: str) -> str:
    """Kind of a source: ``camera``, ``stream``, ``video``, ``image`` or ``folder``.

    Raises:
        SourceError: If a path does not exist or has an unknown suffix, or a URL scheme is unsupported.
    """
    if uri.isdigit():
        return "camera"
    if "://" in uri:
        scheme = uri.split("://", 1)[0].lower()
        if scheme in {"rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp"}:
            return "stream"
        raise SourceError(f"unsupported URL scheme {scheme!r} in source {uri!r}")
    path = Path(uri)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise SourceError(f"source not found: {uri}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise SourceError(f"unknown source type {suffix!r}: {uri} (expected a video, an image, a folder, a URL or a camera index)")


def _open_capture(uri: str, kind: str, timeout_s: float) -> cv2.VideoCapture:
    if kind == "stream" and uri.lower().startswith("rtsp") and "OPENCV_FFMPEG_CAPTURE_OPTIONS" not in os.environ:
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;udp"
    target: int | str = int(uri) if kind == "camera" else uri
    timeout_ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    capture = cv2.VideoCapture(target, cv2.CAP_ANY if kind == "camera" else cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"cannot open {kind} {uri}")
    return capture


class VideoSource:
    """A camera, network stream or video file read through OpenCV.

    Args:
        uri: Camera index, URL or file path.
        max_pixels: Frames with more pixels are skipped as corrupt.
        timeout_s: Longest wait to open the source or for its next frame (a stalled stream then ends).
    """

    def __init__(self, uri: str, max_pixels: int = 4096 * 4096, timeout_s: float = 5.0) -> None:
        self.kind = classify(uri)
        if self.kind not in {"camera", "stream", "video"}:
            raise SourceError(f"{uri} is not a video source")
        self.uri = uri
        self.max_pixels = max_pixels
        self.timeout_s = timeout_s
        self.capture = _open_capture(uri, self.kind, timeout_s)
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.info = SourceInfo(uri, self.kind != "video", float(fps) if 0 < fps < 1000 else 25.0)
        self.skipped = 0
        self.position = 0  # frames taken from the source, skipped ones included
        frame_count = self.capture.get(cv2.CAP_PROP_FRAME_COUNT) if self.kind == "video" else 0
        self.frame_count = int(frame_count) if frame_count > 0 else 0
        if self.kind == "video":
            ok, first = self.capture.read()
            if not ok or first is None:
                self.capture.release()
                raise SourceError(f"cannot decode any frame of video {uri} (corrupt or empty file)")
            self._first: np.ndarray | None = first
            self.position = 1
        else:
            self._first = None

    def reopen(self) -> None:
        """Closes and opens the source again (live sources after a failure).

        Raises:
            SourceError: If it cannot be opened.
        """
        self.capture.release()
        self.capture = _open_capture(self.uri, self.kind, self.timeout_s)

    def read(self) -> np.ndarray | None:
        """The next frame, ``(H, W, 3)`` uint8 BGR, or None when the source has ended or failed.

        A live source's failed read returns None (the caller reconnects). A file's frame that fails to decode (a
        corrupt packet) is skipped, counted in ``skipped`` and logged with its position, and reading goes on: the
        file ends only at a failed read at or past its frame count, or after :data:`MAX_FAILED_READS` failed reads
        in a row (a file that cannot be read any further, or whose frame count is unknown).
        """
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        failed = 0
        while True:
            ok, frame = self.capture.read()
            if not ok or frame is None:
                if self.kind != "video" or self._ended(failed):
                    return None
                failed += 1
                self._skip(f"undecodable frame at position {self.position} ({self.position / self.info.fps:.1f} s)")
            elif frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] * frame.shape[1] <= self.max_pixels:
                self.position += 1
                return frame
            else:
                self._skip(f"malformed frame of shape {frame.shape} at position {self.position}")

    def _ended(self, failed: int) -> bool:
        """Whether a file's failed read is its end: no frames left by its count, or too many failures in a row."""
        if self.frame_count and self.position >= self.frame_count:
            return True
        if failed >= MAX_FAILED_READS:
            log.warning("giving up on %s after %d failed reads in a row at position %d", self.uri, failed, self.position)
            return True
        return False

    def _skip(self, what: str) -> None:
        """Counts and logs a frame that is not handed on (it still takes its place in ``position``)."""
        self.skipped += 1
        self.position += 1
        log.warning("skipping %s of %s", what, self.uri)

    def close(self) -> None:
        """Releases the capture."""
        self.capture.release()


def image_files(uri: str) -> list[Path]:
    """The image files of an image or folder source, sorted by name.

    Raises:
        SourceError: If a folder holds no images.
    """
    path = Path(uri)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SourceError(f"no images in folder {uri}")
    return files


def backoff_delays(initial: float, maximum: float) -> Iterator[float]:
    """Reconnect waits: ``initial``, doubling up to ``maximum``, forever."""
    delay = initial
    while True:
        yield delay
        delay = min(maximum, delay * 2)

