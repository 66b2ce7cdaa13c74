"""A real RTSP stream on loopback: Debian's rtsp-server-perl, with ffmpeg publishing a looped clip to it.

Used by the tests and by ``scripts/soak.py``; run alone it serves a clip until interrupted:
``python scripts/rtsp_feed.py CLIP`` prints the URL to read.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspFeed:
    """rtsp-server-perl on loopback fed by ffmpeg; ``stop`` and ``start`` again keep the same URL.

    Args:
        clip: Video to loop.
    """

    def __init__(self, clip: Path) -> None:
        self.clip = clip
        self.client_port, self.source_port = free_port(), free_port()
        self.url = f"rtsp://127.0.0.1:{self.client_port}/cam"
        self.server: subprocess.Popen | None = None
        self.feeder: subprocess.Popen | None = None

    def start(self) -> None:
        """Starts the server, waits for its source port, and starts publishing the clip in a loop."""
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
        """Stops ffmpeg and the server."""
        for proc in (self.feeder, self.server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    feed = RtspFeed(Path(sys.argv[1]))
    feed.start()
    print(feed.url, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        feed.stop()
