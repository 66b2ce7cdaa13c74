"""Many cameras from one config (a supervisor restarting a killed camera process), ``anpr proxy``, and CURVE."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import cv2
import pytest
import yaml

from conftest import ANPR, DEMO, ENV, ROOT, anpr, free_port
from stream.config import DEMO_CONFIG
from stream.journal import Journal
from stream.supervisor import RESTART_MAX_S, restart_delay


def demo_frames(folder: Path, first: int, count: int) -> Path:
    """Writes ``count`` frames of the demo clip from ``first`` on as JPEG files: a still-image camera."""
    folder.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(DEMO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, first)
    for index in range(count):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"{index:03d}.jpg"), frame)
    capture.release()
    return folder


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def started_pids(log: Path, camera: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"camera {camera} started, pid (\d+)", log.read_text())]


def live_epochs_with_events(db: Path) -> set[str]:
    """The epochs of camera ``live`` that have journaled a plate so far (read while the cameras write)."""
    journal = Journal(db)
    try:
        return {e.epoch for e in journal.query(camera="live")}
    finally:
        journal.close()


def test_supervisor_runs_every_camera_and_restarts_a_killed_one(rtsp_server, tmp_path):
    endpoint, replay, collect = (f"tcp://127.0.0.1:{free_port()}" for _ in range(3))
    stills = demo_frames(tmp_path / "stills", 24, 6)
    config = tmp_path / "cameras.yaml"
    config.write_text(DEMO_CONFIG.read_text() + f"""
source: {{stall_s: 2.0, reconnect_initial_s: 0.5}}
publish: {{endpoint: "{endpoint}", replay_endpoint: "{replay}", collect_endpoint: "{collect}",
          journal: "{tmp_path / 'events.db'}"}}
cameras:
  - {{name: live, source: "{rtsp_server.url}"}}
  - {{name: stills, source: "{stills}"}}
""")
    subscriber_log = tmp_path / "subscriber.log"
    with subscriber_log.open("w") as subscriber_err:
        subscriber = subprocess.Popen([*ANPR, "subscribe", "--config", str(config), "--timeout", "120"], cwd=ROOT,
                                      env=ENV, stdout=subprocess.PIPE, stderr=subscriber_err, text=True)
    # A subscriber without saved state starts from what it sees: it must be listening before the first event.
    wait_for(lambda: "subscribed to" in subscriber_log.read_text(), 60, "the subscriber to connect")
    log = tmp_path / "supervisor.log"
    with log.open("w") as log_file:
        supervisor = subprocess.Popen([*ANPR, "run", "--config", str(config)], cwd=ROOT, env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    try:
        first = wait_for(lambda: started_pids(log, "live"), 60, "the live camera to start")[0]
        wait_for(lambda: "camera stills finished" in log.read_text(), 180, "the stills camera to finish")
        wait_for(lambda: live_epochs_with_events(tmp_path / "events.db"), 180, "a plate from the live camera")
        os.kill(first, signal.SIGKILL)
        pids = wait_for(lambda: started_pids(log, "live")[1:], 60, "the killed camera to be restarted")
        assert pids[0] != first and "camera live exited with status -9" in log.read_text()
        wait_for(lambda: len(live_epochs_with_events(tmp_path / "events.db")) == 2, 180,
                 "a plate from the restarted camera")
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()  # its camera processes end with it
            supervisor.wait()
        time.sleep(2)
        subscriber.terminate()
        out, _ = subscriber.communicate(timeout=30)
    err = subscriber_log.read_text()
    assert supervisor.returncode == 0, log.read_text()[-3000:]
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in [first, *pids]), 30, "the cameras to end")
    journal = Journal(tmp_path / "events.db")
    try:
        live_epochs, still_epochs = journal.epochs("live"), journal.epochs("stills")
        stored = [e.data for e in journal.query(limit=10_000)]
    finally:
        journal.close()
    assert len(live_epochs) == 2 and len(still_epochs) == 1  # the stills camera ended cleanly: not restarted
    assert {e["camera"] for e in stored} == {"live", "stills"}
    assert any(e["camera"] == "live" and e["epoch"] == live_epochs[1] for e in stored), "no plate after the restart"
    received = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    ids = sorted((e["camera"], e["epoch"], e["seq"]) for e in received)
    assert ids == sorted((e["camera"], e["epoch"], e["seq"]) for e in stored), err[-2000:]  # every event, exactly once
    for camera in ("live", "stills"):
        order = [(live_epochs + still_epochs).index(e["epoch"]) * 10**6 + e["seq"] for e in received if e["camera"] == camera]
        assert order == sorted(order)


def test_proxy_gathers_publishers_into_one_endpoint(tmp_path):
    collect, endpoint = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    proxy = subprocess.Popen([*ANPR, "proxy", "--collect", collect, "--publish", endpoint], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replays = [f"tcp://127.0.0.1:{free_port()}" for _ in range(2)]
    try:
        assert "proxy:" in proxy.stdout.readline()
        subscriber = subprocess.Popen([*ANPR, "subscribe", endpoint, "--replay", ",".join(replays), "--timeout", "15"],
                                      cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        sources = [subprocess.Popen([ANPR[0], "tests/event_source.py", collect, replay, str(tmp_path / f"{n}.db"), "5",
                                     "0.2", "3", "--upstream", f"host{n}"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                                    text=True) for n, replay in enumerate(replays)]
        for source in sources:
            assert source.wait(timeout=60) == 0
        out, err = subscriber.communicate(timeout=60)
    finally:
        proxy.send_signal(signal.SIGINT)
        proxy.wait(timeout=20)
    assert proxy.returncode == 0
    received = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for n in range(2):  # each publishing host's events, all of them, in order (a missed first one is replayed)
        assert [e["seq"] for e in received if e["camera"] == f"host{n}"] == [1, 2, 3, 4, 5], err[-2000:]


def curve_config(folder: Path, name: str, endpoint: str, replay: str, server: str | None, authorized: bool) -> Path:
    """A config whose CURVE key pair is ``NAME``'s, trusting ``server``'s public key (its own when None) and, with
    ``authorized``, only the clients whose public keys are in ``folder/authorized``."""
    curve = {"enabled": True, "secret_key": str(folder / "keys" / f"{name}.key_secret")}
    if server:
        curve["server_key"] = str(folder / "keys" / f"{server}.key")
    if authorized:
        curve["authorized_keys"] = str(folder / "authorized")
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["publish"] = {"endpoint": endpoint, "replay_endpoint": replay, "journal": str(folder / "events.db"),
                         "curve": curve}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_curve_lets_in_only_authorized_subscribers(tmp_path):
    endpoint, replay = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    for name in ("server", "client", "intruder"):
        assert anpr("keys", str(tmp_path / "keys"), name).returncode == 0
    (tmp_path / "authorized").mkdir()
    (tmp_path / "authorized" / "client.key").write_text((tmp_path / "keys" / "client.key").read_text())
    server = curve_config(tmp_path, "server", endpoint, replay, None, authorized=True)
    client = curve_config(tmp_path, "client", endpoint, replay, "server", authorized=False)
    intruder = curve_config(tmp_path, "intruder", endpoint, replay, "server", authorized=False)
    stills = demo_frames(tmp_path / "stills", 24, 30)  # a run long enough for the CURVE handshakes before its events

    def subscriber(*args: str) -> subprocess.Popen:
        return subprocess.Popen([*ANPR, "subscribe", "--topics", "plate,heartbeat", "--timeout", "8", *args], cwd=ROOT,
                                env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    listeners = {"client": subscriber("--config", str(client)), "intruder": subscriber("--config", str(intruder)),
                 "plain": subscriber(endpoint)}
    time.sleep(1.0)
    run = anpr("run", str(stills), "--config", str(server), "--json", "--camera", "gate")
    assert run.returncode == 0, run.stderr[-3000:]
    published = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert published
    outputs = {name: p.communicate(timeout=60) for name, p in listeners.items()}
    received = {name: [json.loads(line) for line in out.splitlines() if line.startswith("{")]
                for name, (out, _) in outputs.items()}
    assert [e for e in received["client"] if e["type"] == "plate"] == published, outputs["client"][1][-3000:]
    assert received["intruder"] == [] and received["plain"] == []
    assert "key is not authorized" in run.stderr


def test_restart_delay_doubles_up_to_a_cap():
    assert [restart_delay(n, 0.5) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert restart_delay(20, 0.5) == RESTART_MAX_S
