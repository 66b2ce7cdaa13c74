#!/usr/bin/env python3
"""Soak test (not in CI): the demo clip looped over a real RTSP server into ``anpr run`` for a while.

Every minute it prints the run's resident memory, open file descriptors, plate events received by a
subscriber, and the run's heartbeat counters. Usage: ``.venv/bin/python scripts/soak.py --minutes 60``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rtsp_feed import RtspFeed, free_port  # noqa: E402
from stream.subscriber import subscribe  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--clip", type=Path, default=ROOT / "stream" / "demo" / "demo.mp4")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "demo.yaml")
    args = parser.parse_args()

    feed = RtspFeed(args.clip)
    feed.start()
    pub, rep = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    journal = Path(tempfile.mkdtemp()) / "soak.db"
    env = {**os.environ, "OPENCV_FFMPEG_CAPTURE_OPTIONS": "rtsp_transport;udp"}
    run = subprocess.Popen([sys.executable, "-m", "stream.cli", "run", feed.url, "--config", str(args.config),
                            "--publish", pub, "--replay", rep, "--journal", str(journal)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = {"plate": 0, "heartbeat": 0}
    last_beat: dict = {}
    stop = threading.Event()

    def listen() -> None:
        for message in subscribe(pub, ("plate", "heartbeat"), stop=stop):
            counts[message.topic] += 1
            if message.topic == "heartbeat":
                last_beat.update(message.data)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60 and run.poll() is None:
            time.sleep(60 - (time.monotonic() - started) % 60)
            fds = len(os.listdir(f"/proc/{run.pid}/fd")) if run.poll() is None else -1
            print(json.dumps({"minute": round((time.monotonic() - started) / 60), "rss_mb": round(rss_mb(run.pid), 1),
                              "open_fds": fds, "plate_events": counts["plate"],
                              **{k: last_beat.get(k) for k in ("frames_read", "frames_processed", "frames_dropped",
                                                                 "reconnects", "fps")}}), flush=True)
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
        stop.set()
        feed.stop()
    print(f"run exited with {run.returncode}; journal {journal}")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
