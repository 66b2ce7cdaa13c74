"""Shared helpers: running the real ``anpr`` command, free loopback ports, a real RTSP server fed by ffmpeg."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "stream" / "demo" / "demo.mp4"
ANPR = [sys.executable, "-m", "stream.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENCV_FFMPEG_CAPTURE_OPTIONS": "rtsp_transport;udp"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def anpr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs ``anpr ARGS`` to completion."""
    return subprocess.run([*ANPR, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def events(stdout: str) -> list[dict]:
    """The JSON lines of a run's stdout."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def without_times(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in {"first_seen", "last_seen"}}


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


class RtspServer:
    """Debian's rtsp-server-perl on loopback, with ffmpeg publishing a looped clip to it."""

    def __init__(self, clip: Path) -> None:
        self.clip = clip
        self.client_port, self.source_port = free_port(), free_port()
        self.url = f"rtsp://127.0.0.1:{self.client_port}/cam"
        self.server: subprocess.Popen | None = None
        self.feeder: subprocess.Popen | None = None

    def start(self) -> None:
        self.server = subprocess.Popen(
            ["rtsp-server-perl", "--clientport", str(self.client_port), "--serverport", str(self.source_port),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1", "--loglevel", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.source_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self.feeder = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.clip),
             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "10", "-f", "rtsp",
             f"rtsp://127.0.0.1:{self.source_port}/cam"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)

    def stop(self) -> None:
        for proc in (self.feeder, self.server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    if not shutil.which("rtsp-server-perl") or not shutil.which("ffmpeg"):
        pytest.fail("rtsp-server-perl and ffmpeg are installed by scripts/setup.sh")
    server = RtspServer(DEMO)
    server.start()
    try:
        yield server
    finally:
        server.stop()
