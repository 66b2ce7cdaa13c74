"""The live view: its drawing and login as pure functions, its routes on a real server over real HTTP, a port in
use, and the page in a real headless browser (Debian's chromium) during a run of the looped demo clip."""

import base64
import json
import queue
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ANPR, DEMO, ENV, ROOT, anpr, free_port
from detector.spec import ZoneSpec
from recognizer.synth.clip import load_truth
from stream.config import DEMO_CONFIG, WebSpec
from stream.events import PlateRead
from stream.journal import Journal
from stream.web import LiveView, authorized, draw_overlay

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def read(box: tuple[float, float, float, float], text: str = "AB12CDE") -> PlateRead:
    return PlateRead(3, 0.3, box, 0.99, np.zeros((7, 37)), text, 0.97)


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_overlay_draws_boxes_and_zones_on_a_copy():
    image = np.zeros((60, 100, 3), np.uint8)
    zone = np.array([[5.0, 5.0], [95.0, 5.0], [95.0, 55.0], [5.0, 55.0]])
    drawn = draw_overlay(image, [read((30, 20, 40, 15))], [("lane", zone)])
    assert not image.any()  # the frame handed over is left as it was
    assert (drawn[20, 30:70] == (0, 255, 0)).all(axis=-1).any()  # the plate box's top edge, green
    assert (drawn[5:55, 5] == (255, 160, 0)).all(axis=-1).any()  # the zone's left edge
    assert not drawn[40, 50].any()  # inside the box, nothing


def test_login_accepts_the_token_as_bearer_or_basic_password_only():
    token = "s3cret-token"
    assert authorized(f"Bearer {token}", token)
    assert authorized("Basic " + base64.b64encode(f"anyone:{token}".encode()).decode(), token)
    assert not authorized(None, token)
    assert not authorized("Bearer wrong-token", token)
    assert not authorized("Basic " + base64.b64encode(f"{token}:".encode()).decode(), token)  # the user, not the password
    assert not authorized("Basic not-base64!", token)
    assert not authorized(f"Token {token}", token)


def journal_events(path: Path, epoch: str, plates: list[str], alerts: dict[str, list] | None = None) -> None:
    journal = Journal(path)
    journal.start_epoch(epoch, time.time(), "gate")
    for seq, plate in enumerate(plates, 1):
        event = {"type": "plate", "epoch": epoch, "seq": seq, "camera": "gate", "plate": plate, "confidence": 0.98,
                 "first_seen": "2026-12-04T10:00:00.000Z", "last_seen": "2026-12-04T10:00:01.000Z", "frames": 9,
                 "plate_image": f"gate_{epoch}_{seq:06d}_plate.jpg", "zone": "lane", "zone_event": "entering",
                 "direction": {"angle": 0.0, "labels": ["right"], "velocity": [300.0, 0.0], "growth": 0.0},
                 "speed_px_s": 300.0, "alerts": (alerts or {}).get(plate, [])}
        journal.append(epoch, seq, event, json.dumps(event))
    journal.close()


@pytest.fixture
def live_view(tmp_path):
    """A live view on a free loopback port over a journal of three events, one of them on a watch list."""
    epoch = "e" * 16
    journal_events(tmp_path / "events.db", epoch, ["AB12CDE", "XY34ZZZ", "CD56EFG"],
                   {"XY34ZZZ": [{"list": "stolen", "entry": "XY34ZZ*", "distance": 0}]})
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for seq in (1, 2, 3):
        cv2.imwrite(str(snapshots / f"gate_{epoch}_{seq:06d}_plate.jpg"), np.full((20, 80, 3), 200, np.uint8))
    zone = ZoneSpec(name="lane", units="shares", points=[[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]], entry="right")
    spec = WebSpec(enabled=True, port=free_port(), token="s3cret-token", max_width=320)
    view = LiveView(spec, "gate", tmp_path / "events.db", epoch, snapshots, [zone]).start()
    try:
        yield view
    finally:
        view.stop()


def test_routes_serve_events_frames_and_snapshots_behind_the_token(live_view):
    auth = {"Authorization": "Bearer s3cret-token"}
    status, _, headers = get(live_view.url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    status, body, _ = get(live_view.url, auth)
    assert status == 200 and b"<title>anpr live view</title>" in body

    status, body, _ = get(live_view.url + "api/events?since=1", auth)
    assert status == 200 and [e["plate"] for e in json.loads(body)] == ["XY34ZZZ", "CD56EFG"]  # oldest first
    status, _, _ = get(live_view.url + "api/events?since=one", auth)
    assert status == 400

    status, body, _ = get(live_view.url + "api/frame.jpg", auth)
    assert status == 503  # no frame handed over yet
    frame = np.zeros((360, 640, 3), np.uint8)
    live_view.show(7, frame, [read((100, 250, 120, 26))])
    live_view.heartbeat({"type": "heartbeat", "fps": 9.5, "frames_read": 8})
    status, body, headers = get(live_view.url + "api/frame.jpg", auth)
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert status == 200 and headers["X-Frame-Index"] == "7" and image.shape == (180, 320, 3)  # shrunk to max_width
    assert image[125, 60:100, 1].max() > 150  # the plate box, drawn on the web thread
    assert get(live_view.url + "api/frame.jpg", auth)[1] == body  # the same frame is not drawn twice
    assert live_view.frames_drawn == 1

    status, body, _ = get(live_view.url + "api/status", auth)
    data = json.loads(body)
    assert data["camera"] == "gate" and data["heartbeat"]["fps"] == 9.5 and data["zones"][0]["entry"] == "right"

    name = json.loads(get(live_view.url + "api/events?since=0", auth)[1])[0]["plate_image"]
    status, body, headers = get(live_view.url + "api/snapshot/" + name, auth)
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert get(live_view.url + "api/snapshot/missing.jpg", auth)[0] == 404
    assert get(live_view.url + "api/snapshot/..%2Fevents.db", auth)[0] == 404


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = anpr("run", str(DEMO), "--config", str(DEMO_CONFIG), "--web", f"127.0.0.1:{port}",
                      "--publish", f"tcp://127.0.0.1:{free_port()}", "--replay", f"tcp://127.0.0.1:{free_port()}",
                      "--journal", str(tmp_path / "events.db"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("anpr: error:")]
    assert errors == [f"anpr: error: web: cannot listen on 127.0.0.1:{port}: address already in use"], result.stderr


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    if not shutil.which("chromium"):
        pytest.fail("chromium is installed by scripts/setup.sh")
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_page_lists_alerts_from_the_journal(live_view, tmp_path):
    host = f"127.0.0.1:{live_view.spec.port}"
    page = chromium("--virtual-time-budget=3000", "--dump-dom", f"http://gate:s3cret-token@{host}/", tmp_path=tmp_path)
    assert 'class="plate">XY34ZZZ<' in page.stdout, page.stderr[-2000:]
    assert 'class="badge">stolen: XY34ZZ*<' in page.stdout
    assert page.stdout.count('class="event alert"') == 1 and page.stdout.count('class="event"') == 2


def _lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)


def test_the_page_shows_a_demo_run_in_a_real_browser(rtsp_server, io_args, tmp_path):
    """The looped demo clip, read over RTSP with ``--web``: chromium loads the page while the run goes on, and
    finds the run's plates in it; its screenshot is kept as ``web_view.png`` in the test's folder."""
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen([*ANPR, "run", rtsp_server.url, "--config", str(DEMO_CONFIG), "--json", "--web",
                            f"127.0.0.1:{port}", *io_args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=log,
                           text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(run.stdout, lines), daemon=True).start()
    try:
        try:
            first = json.loads(lines.get(timeout=120))  # the first plate event: the page has something to show
        except queue.Empty:
            pytest.fail("no plate event in 120 s: " + (tmp_path / "run.log").read_text()[-3000:])
        url = f"http://127.0.0.1:{port}/"
        page = chromium("--virtual-time-budget=4000", "--dump-dom", url, tmp_path=tmp_path)
        assert f'class="plate">{first["plate"]}<' in page.stdout, page.stderr[-2000:]
        assert 'id="frame"' in page.stdout and "fps <b>" in page.stdout  # the frame and the heartbeat figures
        shot = tmp_path / "web_view.png"
        chromium("--virtual-time-budget=4000", f"--screenshot={shot}", "--window-size=1280,720", url, tmp_path=tmp_path)
        image = cv2.imread(str(shot))
        assert image is not None and image.shape == (720, 1280, 3)
        assert image[100:500, 20:800].std() > 20  # the camera's frame is there, not an empty box
        assert run.poll() is None, "the run goes on while the page is watched"
    finally:
        run.send_signal(2)  # SIGINT: the run finishes its tracks and stops the server
        run.wait(timeout=60)
        log.close()
    assert run.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert first["plate"] in {v.plate for v in load_truth(DEMO)}


def test_each_listed_camera_serves_on_its_own_port():
    from stream.config import AppConfig

    config = AppConfig.model_validate({"web": {"enabled": True, "port": 9000},
                                       "cameras": [{"name": "gate", "source": "a.mp4"}, {"name": "exit", "source": "b.mp4"}]})
    assert [config.for_camera(c).web.port for c in config.cameras] == [9000, 9001]
    assert config.web.host == "127.0.0.1"  # loopback unless told otherwise
