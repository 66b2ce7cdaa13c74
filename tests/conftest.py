"""Shared helpers: running the real ``anpr`` command, free loopback ports, a real RTSP server fed by ffmpeg."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from rtsp_feed import RtspFeed, free_port  # noqa: E402

__all__ = ["free_port"]

DEMO = ROOT / "stream" / "demo" / "demo.mp4"
ANPR = [sys.executable, "-m", "stream.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENCV_FFMPEG_CAPTURE_OPTIONS": "rtsp_transport;udp"}


def anpr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs ``anpr ARGS`` to completion."""
    return subprocess.run([*ANPR, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def events(stdout: str) -> list[dict]:
    """The JSON lines of a run's stdout."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def without_times(event: dict) -> dict:
    """An event without what differs between runs: times, the publisher's epoch and file names made from it."""
    return {k: v for k, v in event.items() if k not in {"first_seen", "last_seen", "epoch", "plate_image", "vehicle_image"}}


@pytest.fixture
def endpoint() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


@pytest.fixture
def replay_endpoint() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


@pytest.fixture
def io_args(endpoint, replay_endpoint, tmp_path) -> list[str]:
    """``run`` options that keep a test's sockets and journal its own."""
    return ["--publish", endpoint, "--replay", replay_endpoint, "--journal", str(tmp_path / "events.db")]


@pytest.fixture
def rtsp_server() -> Iterator[RtspFeed]:
    if not shutil.which("rtsp-server-perl") or not shutil.which("ffmpeg"):
        pytest.fail("rtsp-server-perl and ffmpeg are installed by scripts/setup.sh")
    server = RtspFeed(DEMO)
    server.start()
    try:
        yield server
    finally:
        server.stop()
