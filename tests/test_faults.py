"""Faults that must lose no event: hostile replay requests, raw TCP garbage, a dying replay thread, a corrupt
stretch of a video file, a source with no readable frame, a replay server that is down or dead, and a consumer killed while handling an event.

Each runs the real components: publisher processes (``tests/event_source.py``, ``anpr run``), subscriber
processes, replay servers on real sockets.
"""

import ctypes
import json
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ANPR, DEMO, ENV, ROOT, free_port
from stream.journal import Journal
from stream.replay import ReplayServer
from test_journal import event, seqs, start_source, wait_published

CONSUMER = """
import sys, time
from pathlib import Path
from stream.subscriber import ReliableSubscriber

pub, replay, state, stall = sys.argv[1:5]
subscriber = ReliableSubscriber(pub, replay, Path(state))
for event in subscriber.events(idle_timeout_s=4.0):
    print("handling", event["seq"], flush=True)
    if event["seq"] == int(stall):
        time.sleep(120)  # the test kills the consumer here
    print("handled", event["seq"], flush=True)
    subscriber.ack(event)
"""
"""A Python consumer: ``CONSUMER PUB REPLAY STATE STALL_SEQ``; it stalls while handling event STALL_SEQ (0: none)."""


def consumer(tmp_path: Path, pub: str, replay: str, stall: int = 0) -> subprocess.Popen:
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    return subprocess.Popen([sys.executable, str(script), pub, replay, str(tmp_path / "consumer.json"), str(stall)],
                            cwd=ROOT, env={**ENV, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def handled(out: str) -> list[int]:
    return [int(line.split()[1]) for line in out.splitlines() if line.startswith("handled ")]


def ask(endpoint: str, request: bytes, timeout_s: float = 3.0) -> dict | None:
    """A REQ client's reply to one request (None when none comes within the timeout)."""
    client = zmq.Context.instance().socket(zmq.REQ)
    client.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    try:
        client.connect(endpoint)
        client.send(request)
        return json.loads(client.recv())
    except zmq.Again:
        return None
    finally:
        client.close(linger=0)


def test_hostile_requests_get_error_replies_and_the_server_goes_on(tmp_path: Path):
    source, _, rep, _ = start_source(tmp_path, count=3, interval=0.1, linger=3.0)
    try:
        wait_published(source, 3)
        for bad in (b'{"since": 18446744073709551616}', b"[" * 2000 + b"]" * 2000, b'{"epoch": "\\ud800"}'):
            reply = ask(rep, bad)
            assert reply is not None and "error" in reply, bad[:40]
        reply = ask(rep, b'{"since": 1}')
        assert reply is not None and [e["seq"] for e in reply["events"]] == [2, 3]
    finally:
        _, err = source.communicate(timeout=30)
    assert source.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert err.count("bad replay request") == 3


def old_peer_garbage(rng: random.Random, size: int = 4096) -> bytes:
    """Bytes that libzmq reads as an old (ZMTP 1.0) peer's: an identity, a whole message, a message cut off by a
    malformed frame (which drops the connection mid-message), then random bytes up to ``size``."""

    def frame(body: bytes, more: bool) -> bytes:
        return bytes([len(body) + 1, int(more)]) + body

    start = frame(rng.randbytes(8), False) + frame(rng.randbytes(20), False) + frame(rng.randbytes(10), True) + b"\0"
    return start + rng.randbytes(size - len(start))


def test_raw_tcp_garbage_does_not_take_the_next_reply(tmp_path: Path):
    source, _, rep, _ = start_source(tmp_path, count=3, interval=0.1, linger=6.0)
    rng = random.Random(1)
    port = int(rep.rsplit(":", 1)[1])
    try:
        wait_published(source, 3)
        for _ in range(8):  # a REP socket lost about half of these replies
            with socket.create_connection(("127.0.0.1", port)) as garbage:
                garbage.sendall(old_peer_garbage(rng))
                time.sleep(0.2)
                reply = ask(rep, b'{"since": 0}', timeout_s=2.0)
            assert reply is not None and [e["seq"] for e in reply["events"]] == [1, 2, 3]
    finally:
        source.communicate(timeout=30)
    assert source.returncode == 0


def journal_with_events(path: Path, count: int) -> Journal:
    journal = Journal(path)
    journal.start_epoch("e1", 1.0, "cam0")
    for seq in range(1, count + 1):
        e = event(seq, f"P{seq}")
        journal.append("e1", seq, e, json.dumps(e))
    return journal


def test_a_dead_serving_thread_is_restarted(tmp_path: Path):
    journal = journal_with_events(tmp_path / "j.db", 3)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    server = ReplayServer(endpoint, journal, "e1").start()
    try:
        assert server.alive and ask(endpoint, b"{}")["events"]
        worker = server._worker
        assert worker is not None and worker.ident is not None
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(SystemExit))
        worker.join(timeout=5)
        assert not worker.is_alive()
        deadline = time.monotonic() + 5
        while not server.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.alive and server.restarts == 1
        reply = ask(endpoint, b'{"since": 2}')
        assert reply is not None and [e["seq"] for e in reply["events"]] == [3]
    finally:
        server.stop()
        journal.close()
    assert not server.alive


def corrupt_clip(path: Path, loops: int) -> int:
    """The demo clip ``loops`` times over, with 20 runs of 2 KB of random bytes in its middle fifth; its frame
    count."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(DEMO), "-c", "copy",
                    str(path)], check=True)
    data = bytearray(path.read_bytes())
    rng = random.Random(0)
    start, end = len(data) * 2 // 5, len(data) * 3 // 5
    for run in range(20):
        offset = start + (end - start) * run // 20
        data[offset:offset + 2048] = rng.randbytes(2048)
    path.write_bytes(data)
    return 72 * loops


def test_a_corrupt_stretch_of_a_video_is_skipped_and_counted(tmp_path: Path, endpoint, io_args):
    clip = tmp_path / "damaged.mp4"
    frames = corrupt_clip(clip, loops=3)
    beating = tmp_path / "beats.yaml"  # a run of a few seconds: heartbeats often enough for a late subscriber
    beating.write_text("publish:\n  heartbeat_s: 0.25\n")
    beats = subprocess.Popen([*ANPR, "subscribe", endpoint, "--topics", "heartbeat", "--timeout", "60"], cwd=ROOT,
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    run = subprocess.run([*ANPR, "run", str(clip), "--json", "--config", str(beating), *io_args], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=300)
    beats.terminate()
    heartbeats = [json.loads(line) for line in beats.communicate(timeout=30)[0].splitlines() if line.startswith("{")]
    assert run.returncode == 0, run.stderr[-3000:]
    skipped_at = [int(p) for p in re.findall(r"skipping undecodable frame at position (\d+)", run.stderr)]
    summary = re.search(r"processed (\d+) of (\d+) frames \(0 dropped, (\d+) skipped\)", run.stderr)
    assert skipped_at and summary, run.stderr[-3000:]
    processed, read, skipped = map(int, summary.groups())
    assert skipped == len(skipped_at) and processed == read and read + skipped == frames
    published = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    first_loop = {e["plate"] for e in published if e["best_frame"] < 72}
    last_loop = {e["plate"] for e in published if e["best_frame"] >= 144 > max(skipped_at)}
    assert len(first_loop) == 3 and last_loop == first_loop, published  # the loop after the damage is read whole
    assert heartbeats and heartbeats[-1]["replay_alive"] is True
    assert max(b["frames_skipped"] for b in heartbeats) > 0


def test_a_source_with_no_readable_frame_is_a_clear_error(tmp_path: Path, io_args):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.jpg").write_bytes(b"not an image")
    run = subprocess.run([*ANPR, "run", str(photos), "--no-mqtt", *io_args], cwd=ROOT, env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "skipping unreadable image" in run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"anpr: error: no readable frame in {photos} (1 skipped)"


def test_a_failed_catch_up_is_asked_for_again_until_it_is_filled(tmp_path: Path):
    source, pub, _, journal_path = start_source(tmp_path, count=20, interval=0.4, linger=4.0)
    late = f"tcp://127.0.0.1:{free_port()}"  # a replay server that is down when the subscriber first asks
    server = journal = None
    try:
        wait_published(source, 3)
        listener = subprocess.Popen([*ANPR, "subscribe", pub, "--replay", late, "--timeout", "4"], cwd=ROOT, env=ENV,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert listener.stderr is not None
        log = []
        while not log or "could not replay missed events" not in log[-1]:
            log.append(listener.stderr.readline())
            assert log[-1], "".join(log)[-2000:]
        journal = Journal(journal_path)
        server = ReplayServer(late, journal, None).start()
        out, err = listener.communicate(timeout=60)
    finally:
        source.communicate(timeout=30)
        if server is not None:
            server.stop()
        if journal is not None:
            journal.close()
    assert seqs(out) == list(range(1, 21)), err[-2000:]


def test_a_dead_replay_endpoint_is_passed_over(tmp_path: Path):
    source, pub, rep, _ = start_source(tmp_path, count=12, interval=0.4, linger=6.0)
    dead = f"tcp://127.0.0.1:{free_port()}"
    try:
        wait_published(source, 3)  # before the subscriber starts
        late = subprocess.Popen([*ANPR, "subscribe", pub, "--replay", f"{dead},{rep}", "--timeout", "3"], cwd=ROOT,
                                env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = late.communicate(timeout=60)
    finally:
        source.communicate(timeout=30)
    assert seqs(out) == list(range(1, 13)), err[-2000:]
    assert f"replay server {dead} did not answer" in err


def test_a_consumer_killed_while_handling_an_event_gets_it_again(tmp_path: Path):
    source, pub, rep, _ = start_source(tmp_path, count=8, interval=0.3, linger=6.0)
    try:
        first = consumer(tmp_path, pub, rep, stall=2)
        assert first.stdout is not None
        lines = []
        while not lines or lines[-1] != "handling 2":
            line = first.stdout.readline()
            assert line, first.stderr.read() if first.stderr else ""
            lines.append(line.strip())
        first.send_signal(signal.SIGKILL)
        out_first = "\n".join(lines) + first.communicate(timeout=10)[0]
        second = consumer(tmp_path, pub, rep)
        out_second, err_second = second.communicate(timeout=60)
    finally:
        source.communicate(timeout=30)
    assert handled(out_first) == [1]
    assert handled(out_second) == [2, 3, 4, 5, 6, 7, 8], err_second[-2000:]


def test_fuzzed_bytes_frames_and_json_never_stop_the_replay_server(tmp_path: Path):
    journal = journal_with_events(tmp_path / "j.db", 3)
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    server = ReplayServer(endpoint, journal, "e1").start()
    context = zmq.Context.instance()
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                                   st.sampled_from(["epoch", "since", "limit", "x"]) | st.text(max_size=5), inner,
                                   max_size=4), max_leaves=20)

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(raw=st.binary(max_size=4096), frames=st.lists(st.binary(max_size=100), min_size=1, max_size=5),
           value=json_values)
    def attack(raw: bytes, frames: list[bytes], value: object) -> None:
        with socket.create_connection(("127.0.0.1", port)) as garbage:
            garbage.sendall(raw)
            dealer = context.socket(zmq.DEALER)
            try:
                dealer.connect(endpoint)
                dealer.send_multipart(frames)
                reply = ask(endpoint, json.dumps(value).encode())
                assert isinstance(reply, dict) and ("error" in reply or "events" in reply)
                reply = ask(endpoint, b'{"epoch": "e1", "since": 1}')
                assert reply is not None and [e["seq"] for e in reply["events"]] == [2, 3] and reply["known"]
            finally:
                dealer.close(linger=0)

    try:
        started = time.monotonic()
        attack()
        assert time.monotonic() - started < 30
        assert server.alive and server.restarts == 0
    finally:
        server.stop()
        journal.close()
