"""A real RTSP server on loopback, read by ``anpr run rtsp://...``, events received by a subscriber in another process."""

import json
import subprocess
import time

from conftest import ANPR, DEMO, ENV, ROOT, anpr, events
from recognizer.synth.clip import load_truth
from stream.config import DEMO_CONFIG


def test_rtsp_stream_events_reach_a_subscriber_process(rtsp_server, endpoint, replay_endpoint, io_args):
    subscriber = subprocess.Popen([*ANPR, "subscribe", endpoint, "--replay", replay_endpoint, "--timeout", "60"],
                                  cwd=ROOT, env=ENV,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        run = anpr("run", rtsp_server.url, "--config", str(DEMO_CONFIG), "--json", *io_args,
                   "--max-frames", "300", "--camera", "gate", timeout=400)
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


def test_rtsp_server_restarts_are_survived(rtsp_server, endpoint, io_args, tmp_path):
    """The RTSP server dies and comes back five times: the run reconnects each time and keeps publishing."""
    config = tmp_path / "camera.yaml"
    config.write_text(DEMO_CONFIG.read_text() + "source:\n  stall_s: 2.0\n  reconnect_initial_s: 0.5\n  reconnect_max_s: 2.0\n")
    run = subprocess.Popen([*ANPR, "run", rtsp_server.url, "--config", str(config), "--json", *io_args],
                           cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        for _ in range(5):
            rtsp_server.stop()
            time.sleep(2)
            rtsp_server.start()
            time.sleep(8)
        assert run.poll() is None, "the run must survive the server's restarts"
        run.send_signal(2)  # SIGINT: finish open tracks, publish them, exit cleanly
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err[-3000:]
    assert err.count("reconnected to") >= 5, err[-3000:]
    assert events(out), err[-3000:]
