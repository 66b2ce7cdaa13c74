"""MQTT: events and alerts reach a real broker (Debian's mosquitto on loopback) in order and none lost, whether the
broker is down at start, killed mid-run or back after the run has ended."""

from __future__ import annotations

import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from conftest import ANPR, DEMO, ENV, ROOT, anpr, events, free_port
from recognizer.synth.clip import load_truth
from stream.alerts import WatchLists
from stream.config import AlertListSpec, ConfigError, MqttSpec, load_config
from stream.journal import Journal
from stream.mqtt import MqttForwarder, broker_address, discovery_config, topic_name
from stream.subscriber import subscribe
from test_alerts import plate_event


class Broker:
    """A mosquitto of the test's own on 127.0.0.1, saving its sessions every second (so a subscriber's session
    survives a SIGKILL of the broker); ``extra`` adds lines to its config (e.g. a TLS listener)."""

    def __init__(self, folder: Path, port: int, extra: str = "") -> None:
        self.port = port
        self.config = folder / "mosquitto.conf"
        (folder / "data").mkdir(exist_ok=True)
        self.log = folder / "mosquitto.log"
        self.config.write_text(  # user: mosquitto started as root stays root, to write its data here
            f"user {getpass.getuser()}\nper_listener_settings true\npersistence true\n"
            f"persistence_location {folder / 'data'}/\nautosave_interval 1\n"
            f"listener {port} 127.0.0.1\nallow_anonymous true\n{extra}")
        self.process: subprocess.Popen | None = None
        self.saved = folder / "data" / "mosquitto.db"

    def saves_after(self, moment: float, timeout: float = 15) -> bool:
        """Whether the broker saves its sessions to disk (``autosave_interval``) after ``moment`` (``time.time()``)
        within ``timeout`` seconds: a loaded machine may save later than every second."""
        return wait_until(lambda: self.saved.exists() and self.saved.stat().st_mtime > moment, timeout)

    def start(self) -> "Broker":
        if not shutil.which("mosquitto"):
            pytest.fail("mosquitto is installed by scripts/setup.sh")
        with self.log.open("a") as log:
            self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Listener:
    """A subscriber with a persistent session (QoS 1), collecting what arrives."""

    def __init__(self, port: int, topics: str = "#", name: str = "listener") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-{name}-{port}",
                                  clean_session=False)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, *_: c.subscribe(topics, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the listener could not subscribe"

    def _on_message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def payloads(self, topic: str) -> list[dict]:
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t == topic]

    def wait_for(self, topic: str, count: int, timeout: float = 60) -> list[dict]:
        wait_until(lambda: len(self.payloads(topic)) >= count, timeout)
        return self.payloads(topic)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_until(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def first_arrivals(payloads: list[dict]) -> list[int]:
    """Sequence numbers in the order they first arrived (QoS 1 may repeat one whose acknowledgement was lost)."""
    seen: list[int] = []
    for payload in payloads:
        if payload["seq"] not in seen:
            seen.append(payload["seq"])
    return seen


@pytest.fixture
def broker(tmp_path):
    server = Broker(tmp_path, free_port()).start()
    yield server
    server.kill()


def spec(port: int, **extra) -> MqttSpec:
    return MqttSpec(url=f"mqtt://127.0.0.1:{port}", retry_max_s=1, **extra)


def journal_events(journal: Journal, watch: WatchLists, seqs: range, alert_seq: int) -> int:
    """Journals plate events ``seqs`` (every third one on the watch list) as a camera does; returns the next alert
    sequence number."""
    for seq in seqs:
        plate = "AB12CDE" if seq % 3 == 0 else f"XY{seq:02d}ZZZ"
        event, alerts = watch.alerts_for(plate_event(plate, seq, "gate"), alert_seq)
        journal.append("e1", seq, json.loads(event.to_json()), event.to_json(), alerts)
        alert_seq += len(alerts)
    return alert_seq


def test_topic_names_and_broker_urls():
    assert topic_name("gate 1/#") == "gate_1__"
    assert broker_address("mqtt://broker.lan") == ("broker.lan", 1883, False)
    assert broker_address("mqtts://broker.lan:9000") == ("broker.lan", 9000, True)
    topic, config = discovery_config(MqttSpec(url="mqtt://h"), "gate")
    assert topic == "homeassistant/sensor/anpr_gate/plate/config"
    assert config["state_topic"] == "anpr/gate/plate" and config["value_template"] == "{{ value_json.plate }}"


@pytest.mark.parametrize(("section", "message"), [
    ("{url: 'http://broker'}", "publish.mqtt.url='http://broker'"),
    ("{url: 'mqtt://broker:99999'}", "publish.mqtt.url"),
    ("{url: 'mqtt://[broker'}", "publish.mqtt.url"),
    ("{url: 'mqtt://broker', qos: 2}", "publish.mqtt.qos"),
    ("{url: 'mqtt://broker', topic_prefix: 'a/#'}", "publish.mqtt.topic_prefix"),
    ("{url: 'mqtt://broker', ca_file: /no/such/ca.pem}", "publish.mqtt.ca_file"),
    ("{topic_prefix: anpr}", "publish.mqtt.url"),
])
def test_malformed_mqtt_settings_are_config_errors_naming_the_key(tmp_path, section, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"publish: {{mqtt: {section}}}\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert message in str(error.value)


def test_a_broker_killed_and_started_again_loses_no_event(tmp_path, broker):
    journal = Journal(tmp_path / "events.db")
    journal.start_epoch("e1", time.time(), "gate")
    watch = WatchLists([AlertListSpec(name="stolen", plates=["AB12CDE"])])
    listener = Listener(broker.port)
    forwarder = MqttForwarder(spec(broker.port, discovery=True), journal, "gate", 0.0, heartbeat_s=0.2).start()
    try:
        alert_seq = journal_events(journal, watch, range(1, 6), 1)
        forwarder.notify()
        assert first_arrivals(listener.wait_for("anpr/gate/plate", 5)) == [1, 2, 3, 4, 5]
        assert broker.saves_after(time.time())  # with the listener's session
        broker.kill()
        alert_seq = journal_events(journal, watch, range(6, 31), alert_seq)  # journaled while the broker is down
        forwarder.notify()
        time.sleep(1.0)
        assert journal.position(forwarder.consumer, "e1") == 5
        broker.start()
        plates = listener.wait_for("anpr/gate/plate", 30)
        assert first_arrivals(plates) == list(range(1, 31))
        alerts = listener.wait_for("anpr/gate/alert", 10)
        assert first_arrivals(alerts) == list(range(1, 11))
        assert [a["plate_seq"] for a in alerts[-10:]] == list(range(3, 31, 3))
        assert wait_until(lambda: journal.position(forwarder.consumer, "e1") == 30)
        assert wait_until(lambda: listener.payloads("anpr/gate/heartbeat")[-1]["mqtt_published"] == 30)
        discovery = listener.payloads("homeassistant/sensor/anpr_gate/plate/config")
        assert discovery and discovery[-1]["availability_topic"] == "anpr/gate/availability"
    finally:
        forwarder.stop()
        listener.close()
    retained = Listener(broker.port, "anpr/gate/availability", "late")  # a new subscriber gets the retained state
    try:
        assert wait_until(lambda: retained.messages)
        assert retained.messages[-1][1:] == (b"offline", True)
    finally:
        retained.close()
    journal.close()


def demo_config(tmp_path: Path, port: int, extra: str = "", drain_s: float = 5) -> Path:
    config = tmp_path / "demo_alerts.yaml"
    config.write_text(f"""
scan: {{min_plate_width: 90, max_plate_width: 170}}
publish: {{mqtt: {{url: "mqtt://127.0.0.1:{port}", retry_max_s: 1, discovery: true, drain_s: {drain_s}}}}}
{extra}""")
    return config


def test_demo_with_a_watch_list_raises_one_alert_on_zeromq_the_journal_and_mqtt(tmp_path, broker, io_args, endpoint):
    plates = [v.plate for v in load_truth(DEMO)]
    wrong = plates[1][:-1] + ("X" if plates[1][-1] != "X" else "Y")  # one of its plates with one character wrong
    config = demo_config(tmp_path, broker.port, f"alerts: [{{name: stolen, plates: [{wrong}, ZZ99ZZZ]}}]\n")
    listener = Listener(broker.port)
    stop = threading.Event()
    received: list = []
    zeromq = threading.Thread(target=lambda: received.extend(subscribe(endpoint, ("alert",), stop=stop)))
    zeromq.start()
    try:
        result = anpr("run", str(DEMO), "--config", str(config), "--camera", "demo", "--json", *io_args)
        time.sleep(0.5)
    finally:
        stop.set()
        zeromq.join()
    assert result.returncode == 0, result.stderr[-3000:]
    published = events(result.stdout)
    assert sorted(e["plate"] for e in published) == sorted(plates), result.stderr[-3000:]
    marked = [e for e in published if e["alerts"]]
    assert [(e["plate"], e["alerts"]) for e in marked] == [
        (plates[1], [{"list": "stolen", "entry": wrong, "distance": 1}])]
    assert [(m.topic, m.seq, m.data["plate"], m.data["list"], m.data["plate_seq"]) for m in received] == [
        ("alert", 1, plates[1], "stolen", marked[0]["seq"])]
    journaled = anpr("events", "--journal", str(tmp_path / "events.db"), "--alert", "stolen", "--json")
    assert [json.loads(line)["plate"] for line in journaled.stdout.splitlines()] == [plates[1]]
    on_mqtt = listener.wait_for("anpr/demo/alert", 1, timeout=10)
    assert [(a["plate"], a["list"], a["distance"]) for a in on_mqtt] == [(plates[1], "stolen", 1)]
    assert first_arrivals(listener.payloads("anpr/demo/plate")) == [e["seq"] for e in published]
    listener.close()


def test_unreachable_broker_at_start_warns_retries_and_sends_everything_later(tmp_path, io_args):
    port = free_port()  # nothing listens here yet
    config = demo_config(tmp_path, port, drain_s=1)
    result = anpr("run", str(DEMO), "--config", str(config), "--camera", "demo", "--json", *io_args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MQTT broker 127.0.0.1" in result.stderr and "unreachable" in result.stderr
    published = events(result.stdout)
    journal = Journal(tmp_path / "events.db")
    assert len(journal.query(camera="demo")) == len(published) == len(load_truth(DEMO))
    server = Broker(tmp_path, port).start()  # the broker is back: the next forwarder sends what was missed
    listener = Listener(port)
    forwarder = MqttForwarder(spec(port), journal, "demo", time.time()).start()
    try:
        assert first_arrivals(listener.wait_for("anpr/demo/plate", len(published))) == [e["seq"] for e in published]
    finally:
        forwarder.stop()
        listener.close()
        server.kill()
        journal.close()


def test_killing_the_broker_mid_run_loses_no_event(tmp_path, broker, io_args):
    config = demo_config(tmp_path, broker.port)
    listener = Listener(broker.port)
    assert broker.saves_after(time.time())  # with the listener's session
    run = subprocess.Popen([*ANPR, "run", str(DEMO), "--config", str(config), "--camera", "demo", "--json",
                            "--realtime", *io_args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        assert listener.wait_for("anpr/demo/plate", 1, timeout=120), "no first event on MQTT"
        broker.kill()
        journal = Journal(tmp_path / "events.db")
        deadline = time.monotonic() + 60
        while len(journal.query(camera="demo")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the next event is journaled while the broker is down
        journal.close()
        broker.start()
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err[-3000:]
    assert "went away" in err
    published = [e["seq"] for e in events(out)]
    assert len(published) == len(load_truth(DEMO))
    assert first_arrivals(listener.wait_for("anpr/demo/plate", len(published), timeout=20)) == published
    listener.close()


def test_forwarder_follows_each_new_epoch_of_its_camera_in_order(tmp_path, broker):
    """As under a supervisor: the camera's process restarts (a new epoch), another camera shares the journal."""
    journal = Journal(tmp_path / "events.db")
    started = time.time()
    listener = Listener(broker.port)
    forwarder = MqttForwarder(spec(broker.port), journal, "gate", started).start()
    try:
        for epoch, camera in (("e1", "gate"), ("x1", "road"), ("e2", "gate")):
            journal.start_epoch(epoch, time.time(), camera)
            for seq in (1, 2):
                event = plate_event(f"{epoch.upper()}{seq}ZZZ", seq, "gate")
                body = json.loads(event.to_json()) | {"epoch": epoch, "camera": camera}
                journal.append(epoch, seq, body, json.dumps(body))
        plates = listener.wait_for("anpr/gate/plate", 4)
        assert [(p["epoch"], p["seq"]) for p in plates] == [("e1", 1), ("e1", 2), ("e2", 1), ("e2", 2)]
        assert listener.payloads("anpr/road/plate") == []
    finally:
        forwarder.stop()
        listener.close()
    assert journal.unfinished(forwarder.consumer, "gate") == []
    journal.close()


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test certificate authority and a server certificate for 127.0.0.1 signed by it: ``(ca, cert, key)``."""
    ca, ca_key, cert, key = (folder / n for n in ("ca.crt", "ca.key", "server.crt", "server.key"))
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for command in (
            f"req -x509 -newkey rsa:2048 -nodes -keyout {ca_key} -out {ca} -days 1 -subj /CN=anpr-test-ca",
            f"req -newkey rsa:2048 -nodes -keyout {key} -out {folder / 'server.csr'} -subj /CN=127.0.0.1",
            f"x509 -req -in {folder / 'server.csr'} -CA {ca} -CAkey {ca_key} -CAcreateserial -out {cert} -days 1 "
            f"-extfile {folder / 'san.ext'}"):
        subprocess.run(["openssl", *command.split()], check=True, capture_output=True)
    return ca, cert, key


def test_tls_with_a_user_name_and_password(tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "camera", "s3cret"], check=True,
                   capture_output=True)
    tls_port = free_port()
    server = Broker(tmp_path, free_port(), f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\n"
                    f"keyfile {key}\nallow_anonymous false\npassword_file {passwords}\n").start()
    journal = Journal(tmp_path / "events.db")
    journal.start_epoch("e1", time.time(), "gate")
    listener = Listener(server.port)  # on the plain listener: the broker passes messages between listeners
    forwarders = [MqttForwarder(MqttSpec(url=f"mqtts://127.0.0.1:{tls_port}", username="camera", password=password,
                                         ca_file=ca, client_id=name, topic_prefix=name, drain_s=0.5), journal, "gate",
                                 0.0)
                  for name, password in (("good", "s3cret"), ("bad", "wrong"))]
    try:
        for forwarder in forwarders:
            forwarder.start()
        event = plate_event("AB12CDE", 1, "gate")
        journal.append("e1", 1, json.loads(event.to_json()), event.to_json())
        assert [p["plate"] for p in listener.wait_for("good/gate/plate", 1, timeout=20)] == ["AB12CDE"]
        time.sleep(1.0)
        assert listener.payloads("bad/gate/plate") == []  # refused: wrong password
        assert journal.position(forwarders[1].consumer, "e1") == 0
    finally:
        for forwarder in forwarders:
            forwarder.stop()
        listener.close()
        server.kill()
        journal.close()


def test_a_frozen_broker_holds_up_neither_the_journal_nor_the_stop(tmp_path, broker):
    """A broker that keeps the connection open but answers nothing (SIGSTOP): events are still journaled at once,
    and stopping takes drain_s and a second for the goodbye, not forever."""
    journal = Journal(tmp_path / "events.db")
    journal.start_epoch("e1", time.time(), "gate")
    forwarder = MqttForwarder(spec(broker.port, drain_s=1), journal, "gate", 0.0).start()
    try:
        assert wait_until(lambda: forwarder.connected)
        broker.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        for seq in range(1, 51):
            event = plate_event("AB12CDE", seq, "gate")
            journal.append("e1", seq, json.loads(event.to_json()), event.to_json())
            forwarder.notify()
        assert time.monotonic() - started < 2.0
        time.sleep(0.5)
        started = time.monotonic()
        forwarder.stop()
        assert time.monotonic() - started < 4.0
        assert journal.position(forwarder.consumer, "e1") == 0  # nothing acknowledged: sent at the next start
        assert journal.unfinished(forwarder.consumer, "gate") == [("e1", 0)]
    finally:
        broker.process.send_signal(signal.SIGCONT)
        journal.close()
