"""Plate and alert events to an MQTT broker (Home Assistant, Node-RED, ...), read from the journal.

One :class:`MqttForwarder` per camera runs on threads of its own (its loop and paho's network thread), so a broker
that is down, slow or gone never stops or slows the camera: the camera only journals its events and wakes the
forwarder. The forwarder publishes them in journal order with QoS 1 and keeps, in the journal, the last plate
sequence number of each epoch that the broker has acknowledged (with the alerts it raised); after a broker outage,
or a restart of the camera's process, it carries on from there. Delivery is at least once: an event whose
acknowledgement was lost is sent again.

Topics (``PREFIX`` is ``topic_prefix``, ``CAMERA`` the camera name):

- ``PREFIX/CAMERA/plate``: every plate event, as published on ZeroMQ (QoS 1).
- ``PREFIX/CAMERA/alert``: every alert (QoS 1).
- ``PREFIX/CAMERA/availability``: ``online`` / ``offline`` (retained; ``offline`` is also the last will).
- ``PREFIX/CAMERA/heartbeat``: the camera's latest heartbeat figures (retained).
- ``homeassistant/sensor/anpr_CAMERA/plate/config``: Home Assistant discovery of a sensor holding the camera's last
  plate (retained; with ``discovery: true``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as paho

from stream.config import MqttSpec
from stream.events import iso_utc
from stream.journal import Journal

log = logging.getLogger(__name__)

WINDOW = 100
"""Most messages handed to the MQTT client at once (the next are handed when all are acknowledged)."""


def topic_name(text: str) -> str:
    """A camera name made safe as one MQTT topic level (``/``, ``+``, ``#`` and spaces become ``_``)."""
    return re.sub(r"[/#+\s]", "_", text) or "_"


def camera_topic(spec: MqttSpec, camera: str) -> str:
    """The topic a camera's topics lie under: ``PREFIX/CAMERA``."""
    return f"{spec.topic_prefix}/{topic_name(camera)}"


def broker_address(url: str) -> tuple[str, int, bool]:
    """``(host, port, tls)`` of an ``mqtt://`` or ``mqtts://`` URL (ports 1883 and 8883 by default)."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return parts.hostname or "localhost", parts.port or (8883 if tls else 1883), tls


def discovery_config(spec: MqttSpec, camera: str) -> tuple[str, dict]:
    """Home Assistant MQTT discovery of a camera's last-plate sensor: ``(config topic, payload)``."""
    node = f"anpr_{re.sub(r'[^A-Za-z0-9_-]', '_', camera)}"
    base = camera_topic(spec, camera)
    return f"{spec.discovery_prefix}/sensor/{node}/plate/config", {
        "name": "Last plate", "unique_id": f"{node}_plate", "object_id": f"{node}_plate", "icon": "mdi:car",
        "state_topic": f"{base}/plate", "value_template": "{{ value_json.plate }}",
        "json_attributes_topic": f"{base}/plate", "availability_topic": f"{base}/availability",
        "device": {"identifiers": [node], "name": f"ANPR {camera}", "manufacturer": "anpr-stream"}}


@dataclass(frozen=True)
class _Sent:
    """A message handed to the client: its id, and the plate event it completes (with its alerts), if any."""

    mid: int
    epoch: str
    completes: int | None


class MqttForwarder:
    """Publishes one camera's journaled plate and alert events to an MQTT broker.

    Args:
        spec: The ``publish.mqtt`` section.
        journal: The journal the camera writes (shared, thread-safe).
        camera: The camera's name.
        started_from: Follow the camera's epochs started at this wall time or later (``time.time()``), besides the
            epochs the forwarder already follows and has not finished.
        heartbeat_s: Seconds between retained heartbeats.
    """

    def __init__(self, spec: MqttSpec, journal: Journal, camera: str, started_from: float,
                 heartbeat_s: float = 1.0) -> None:
        self.spec = spec
        self.journal = journal
        self.camera = camera
        self.started_from = started_from
        self.heartbeat_s = heartbeat_s
        self.host, self.port, tls = broker_address(spec.url)
        self.base = camera_topic(spec, camera)
        self.consumer = f"mqtt://{self.host}:{self.port}/{spec.topic_prefix}"
        self.published = 0
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._acked: set[int] = set()
        self._acked_lock = threading.Lock()
        self._sent: deque[_Sent] = deque()
        self._epochs: dict[str, list[int]] = {}  # epoch -> [acknowledged plate seq, plate seq handed over]
        self._figures: dict = {}
        self._warned = False
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{spec.client_id}-{topic_name(camera)}")
        self.client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        if spec.username is not None:
            self.client.username_pw_set(spec.username, spec.password.get_secret_value() if spec.password else None)
        if tls or spec.tls:
            self.client.tls_set(ca_certs=str(spec.ca_file.expanduser()) if spec.ca_file else None)
        self.client.reconnect_delay_set(1, int(spec.retry_max_s))
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{camera}", daemon=True)

    def start(self) -> "MqttForwarder":
        """Starts connecting (in the background: an unreachable broker is retried) and forwarding."""
        for epoch, seq in self.journal.unfinished(self.consumer, self.camera):
            self._epochs[epoch] = [seq, seq]
        if self._epochs:
            log.info("MQTT: %d earlier epoch(s) of camera %s have events the broker has not acknowledged; sending "
                     "them first", len(self._epochs), self.camera)
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._thread.start()
        return self

    @property
    def connected(self) -> bool:
        """Whether the broker has accepted the connection and not gone away since."""
        return self._connected.is_set()

    def notify(self) -> None:
        """Says that new events were journaled (the forwarder also looks twice a second)."""
        self._wake.set()

    def heartbeat(self, figures: dict) -> None:
        """The camera's latest heartbeat figures, for the retained heartbeat topic."""
        self._figures = dict(figures)

    def stop(self) -> None:
        """Sends what is left, waiting up to ``drain_s`` for the broker, says ``offline`` and disconnects."""
        self.stop_event.set()
        self._wake.set()
        self._thread.join()
        if self._connected.is_set():
            info = self.client.publish(f"{self.base}/availability", "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=1.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # paho's network thread

    def _on_connect(self, client: paho.Client, _userdata: object, _flags: object, reason: paho.ReasonCode,
                    _properties: object) -> None:
        if reason.is_failure:
            self._warn_once("MQTT broker %s:%d refused the connection (%s); events stay in the journal (retrying, up "
                            "to every %.0f s)", self.host, self.port, reason, self.spec.retry_max_s)
            return
        log.info("MQTT: connected to %s:%d for camera %s", self.host, self.port, self.camera)
        self._warned = False
        client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        if self.spec.discovery:
            topic, payload = discovery_config(self.spec, self.camera)
            client.publish(topic, json.dumps(payload), qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _warn_once(self, message: str, *args: object) -> None:
        """Logs a warning, or at debug level while the broker has not been reached since the last warning."""
        log.log(logging.DEBUG if self._warned else logging.WARNING, message, *args)
        self._warned = True

    def _on_connect_fail(self, _client: paho.Client, _userdata: object) -> None:
        self._warn_once("MQTT broker %s:%d unreachable; events stay in the journal and are sent when it is back "
                        "(retrying, up to every %.0f s)", self.host, self.port, self.spec.retry_max_s)

    def _on_disconnect(self, _client: paho.Client, _userdata: object, _flags: object, reason: paho.ReasonCode,
                       _properties: object) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and not self.stop_event.is_set():
            self._warn_once("MQTT broker %s:%d went away (%s); events stay in the journal and are sent when it is "
                            "back", self.host, self.port, reason)

    def _on_publish(self, _client: paho.Client, _userdata: object, mid: int, _reason: object,
                    _properties: object) -> None:
        with self._acked_lock:
            self._acked.add(mid)
        self._wake.set()

    # the forwarder's thread

    def _run(self) -> None:
        deadline = None
        last_beat = 0.0
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            try:
                self._follow_new_epochs()
                self._collect_acks()
                if self._connected.is_set():
                    self._send_more()
                    if time.monotonic() - last_beat >= self.heartbeat_s:
                        self._beat()
                        last_beat = time.monotonic()
            except Exception:  # noqa: BLE001 - a journal or client fault must not end forwarding for good
                log.exception("MQTT forwarding of camera %s failed; trying again", self.camera)
                self.stop_event.wait(1.0)
            if self.stop_event.is_set():
                deadline = deadline or time.monotonic() + self.spec.drain_s
                if self._finished() or time.monotonic() >= deadline:
                    break
        if not self._finished():
            log.warning("MQTT: camera %s stops with events the broker has not acknowledged; they are sent at the "
                        "next start", self.camera)

    def _follow_new_epochs(self) -> None:
        for epoch in self.journal.epochs(self.camera, self.started_from):
            if epoch not in self._epochs and self.journal.position(self.consumer, epoch) is None:
                self.journal.set_position(self.consumer, epoch, 0)
                self._epochs[epoch] = [0, 0]

    def _collect_acks(self) -> None:
        advanced: set[str] = set()
        with self._acked_lock:
            while self._sent and self._sent[0].mid in self._acked:
                sent = self._sent.popleft()
                self._acked.discard(sent.mid)
                if sent.completes is not None:
                    self._epochs[sent.epoch][0] = sent.completes
                    self.published += 1
                    advanced.add(sent.epoch)
            waiting = {s.mid for s in self._sent}
            self._acked &= waiting  # acknowledgements of availability and discovery messages
        for epoch in advanced:
            self.journal.set_position(self.consumer, epoch, self._epochs[epoch][0])
        latest = next(reversed(self._epochs), None)
        for epoch, (acked, handed) in list(self._epochs.items()):
            if epoch != latest and acked == handed and not self.journal.since(epoch, handed, 1):
                del self._epochs[epoch]  # finished: every event acknowledged, and a later epoch has begun

    def _send_more(self) -> None:
        """Hands the client the next events, in order, once every message handed before is acknowledged (so that
        after a reconnect, the messages paho sends again cannot be overtaken by new ones)."""
        if self._sent:
            return
        for epoch, progress in self._epochs.items():
            room = WINDOW - len(self._sent)
            if room <= 0:
                return
            events = self.journal.since(epoch, progress[1], room)
            if not events:
                continue
            alerts: dict[int, list[str]] = {}
            for alert in self.journal.alerts_of(epoch, events[0].seq, events[-1].seq):
                alerts.setdefault(alert.data["plate_seq"], []).append(alert.body)
            for event in events:
                messages = [("plate", event.body)] + [("alert", body) for body in alerts.get(event.seq, [])]
                for index, (kind, body) in enumerate(messages):
                    info = self.client.publish(f"{self.base}/{kind}", body, qos=1)
                    last = index == len(messages) - 1
                    self._sent.append(_Sent(info.mid, epoch, event.seq if last else None))
                progress[1] = event.seq
            if len(events) == room:
                return  # this epoch has more; later epochs wait their turn

    def _finished(self) -> bool:
        return not self._sent and all(not self.journal.since(e, handed, 1) for e, (_, handed) in self._epochs.items())

    def _beat(self) -> None:
        beat = {"type": "heartbeat", "camera": self.camera, **self._figures, "time": iso_utc(time.time()),
                "mqtt_published": self.published, "mqtt_waiting": len(self._sent)}
        self.client.publish(f"{self.base}/heartbeat", json.dumps(beat, separators=(",", ":")), qos=0, retain=True)
