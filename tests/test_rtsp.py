"""A real RTSP server on loopback, read by ``anpr run rtsp://...``, events received by a subscriber in another process."""

import json
import subprocess
import time

from conftest import ANPR, DEMO, ENV, ROOT, anpr, events
from recognizer.clip import load_truth
from stream.config import DEMO_CONFIG


def test_rtsp_stream_events_reach_a_subscriber_process(rtsp_server, endpoint):
    subscriber = subprocess.Popen([*ANPR, "subscribe", endpoint, "--timeout", "60"], cwd=ROOT, env=ENV,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        run = anpr("run", rtsp_server.url, "--config", str(DEMO_CONFIG), "--json", "--publish", endpoint,
                   "--max-frames", "150", "--camera", "gate", timeout=400)
        assert run.returncode == 0, run.stderr[-3000:]
        published = events(run.stdout)
        assert published, run.stderr[-3000:]
        truth = {v.plate for v in load_truth(DEMO)}
        assert {e["plate"] for e in published} & truth
        assert all(e["camera"] == "gate" and e["source"] == rtsp_server.url for e in published)
    finally:
        subscriber.terminate()
        out, err = subscriber.communicate(timeout=20)
    received = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert received == published, err[-2000:]
