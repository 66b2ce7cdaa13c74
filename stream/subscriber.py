"""Receiving events from a running system, for other programs and for ``anpr subscribe``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zmq

from stream.security import Curve, connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One received message.

    Attributes:
        topic: ``plate``, ``read`` or ``heartbeat``.
        seq: The publisher's sequence number on that topic.
        data: The decoded JSON payload.
    """

    topic: str
    seq: int
    data: dict


def parse(parts: list[bytes]) -> Message:
    """Decodes a multipart message.

    Raises:
        ValueError: If it is not ``[topic, seq, JSON object]``.
    """
    if len(parts) != 3:
        raise ValueError(f"expected 3 message parts, got {len(parts)}")
    try:
        topic, seq, data = parts[0].decode(), int(parts[1]), json.loads(parts[2])
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"malformed message: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("message payload is not a JSON object")
    return Message(topic, seq, data)


def subscribe(endpoint: str, topics: tuple[str, ...] = ("plate",), timeout_s: float | None = None,
              stop=None, curve: Curve | None = None) -> Iterator[Message]:  # type: ignore[no-untyped-def]
    """Yields messages from a publisher until ``timeout_s`` passes without one or ``stop`` is set.

    Malformed messages are logged and skipped.

    Args:
        endpoint: Publisher endpoint, e.g. ``tcp://127.0.0.1:5556``.
        topics: Topics to receive.
        timeout_s: Give up after this long with no message (None waits forever).
        stop: Optional ``threading.Event`` that ends the iteration.
        curve: CURVE keys (None: plain TCP).

    Yields:
        Messages in arrival order.
    """
    context = zmq.Context.instance()
    socket = context.socket(zmq.SUB)
    try:
        for topic in topics:
            socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        connect(socket, endpoint, curve)
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        waited = 0.0
        while stop is None or not stop.is_set():
            if not poller.poll(200):
                waited += 0.2
                if timeout_s is not None and waited >= timeout_s:
                    return
                continue
            waited = 0.0
            parts = socket.recv_multipart()
            try:
                message = parse(parts)
            except ValueError as error:
                log.warning("skipping message: %s", error)
                continue
            if message.topic in topics:
                yield message
    finally:
        socket.close(linger=0)


@dataclass(frozen=True)
class Position:
    """Where a subscriber is in one camera's event stream.

    Attributes:
        epoch: Publisher epoch of the last event delivered.
        seq: Sequence number of that event (0 before the epoch's first).
    """

    epoch: str
    seq: int = 0


def save_positions(path: Path, positions: dict[str, Position]) -> None:
    """Writes each camera's position atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({camera: {"epoch": p.epoch, "seq": p.seq} for camera, p in positions.items()}))
    tmp.replace(path)


def load_positions(path: Path | None) -> dict[str, Position]:
    """Reads saved positions (none when there is no file or it is unreadable)."""
    if path is None or not path.is_file():
        return {}
    try:
        return {str(camera): Position(str(p["epoch"]), int(p["seq"])) for camera, p in json.loads(path.read_text()).items()}
    except (ValueError, TypeError, AttributeError, KeyError):
        log.warning("ignoring unreadable subscriber state %s", path)
        return {}


def stream_place(event: dict) -> tuple[str, str, int]:
    """``(camera, epoch, seq)`` of a plate event: which camera's stream it belongs to and where in it."""
    return str(event.get("camera", "")), event.get("epoch"), int(event.get("seq", 0))


class ReliableSubscriber:
    """Plate events exactly once and in order per camera, fetching from replay servers what PUB/SUB lost.

    Each camera's events are numbered by the epoch of its process. A gap in a camera's sequence numbers, a new
    epoch, or a restart (with a saved state) makes it ask for the missing events before delivering the next
    live one. With a proxy gathering several hosts, give each host's replay endpoint: an epoch is asked of
    them in turn until one knows it.

    Args:
        endpoint: PUB (or proxy XPUB) endpoint.
        replay_endpoints: Replay (REP) endpoints, one per host that journals events; or one endpoint.
        state: File that keeps the positions across restarts (None: start from the live stream).
        timeout_s: Replay request timeout.
        curve: CURVE keys (None: plain TCP).
    """

    def __init__(self, endpoint: str, replay_endpoints: str | list[str], state: Path | None = None,
                 timeout_s: float = 5.0, curve: Curve | None = None) -> None:
        self.endpoint = endpoint
        self.replay_endpoints = [replay_endpoints] if isinstance(replay_endpoints, str) else list(replay_endpoints)
        self.state = state
        self.timeout_s = timeout_s
        self.curve = curve
        self.positions = load_positions(state)

    def _ask(self, endpoint: str, epoch: str, since: int) -> dict:
        socket = zmq.Context.instance().socket(zmq.REQ)
        socket.setsockopt(zmq.RCVTIMEO, int(self.timeout_s * 1000))
        socket.setsockopt(zmq.SNDTIMEO, int(self.timeout_s * 1000))
        try:
            connect(socket, endpoint, self.curve)
            socket.send_string(json.dumps({"epoch": epoch, "since": since}))
            reply = json.loads(socket.recv())
        finally:
            socket.close(linger=0)
        if "error" in reply:
            raise ValueError(f"replay server {endpoint}: {reply['error']}")
        return reply

    def _request(self, epoch: str, since: int) -> dict:
        """The reply of the first replay server that knows ``epoch`` (one with no events when none does)."""
        for endpoint in self.replay_endpoints:
            reply = self._ask(endpoint, epoch, since)
            if reply.get("known", True):
                return reply
        log.warning("no replay server knows epoch %s", epoch)
        return {"events": [], "later_epochs": []}

    def _deliver(self, event: dict) -> dict | None:
        camera, epoch, seq = stream_place(event)
        current = self.positions.get(camera)
        if current is not None and epoch == current.epoch and seq <= current.seq:
            return None  # already delivered
        self.positions[camera] = Position(epoch, seq)
        if self.state is not None:
            save_positions(self.state, self.positions)
        return event

    def _catch_up(self, camera: str, until: tuple[str, int] | None) -> Iterator[dict]:
        """Replays what one camera's stream missed: the rest of its current epoch, then each later epoch, up to
        ``until`` (an event not to replay, as it arrived live)."""
        epoch, since = self.positions[camera].epoch, self.positions[camera].seq
        visited: set[str] = set()
        while epoch not in visited:
            visited.add(epoch)
            reply = self._request(epoch, since)
            for event in reply["events"]:
                if until is not None and (event.get("epoch"), event.get("seq", 0)) == until:
                    return
                delivered = self._deliver(event)
                if delivered is not None:
                    yield delivered
            if len(reply["events"]) >= 1000:
                since = self.positions[camera].seq
                visited.discard(epoch)
                continue
            later = reply.get("later_epochs", [])
            if not later:
                return
            epoch, since = later[0], 0

    def _catch_up_or_warn(self, camera: str, until: tuple[str, int] | None) -> Iterator[dict]:
        """:meth:`_catch_up`, logging instead of raising when no replay server can answer (the next gap or
        epoch change tries again)."""
        try:
            yield from self._catch_up(camera, until)
        except (zmq.ZMQError, ValueError) as error:
            log.warning("could not replay missed events of camera %s: %s", camera, error)

    def events(self, stop=None, idle_timeout_s: float | None = None) -> Iterator[dict]:  # type: ignore[no-untyped-def]
        """Plate events, exactly once each, in publishing order per camera.

        Args:
            stop: Optional ``threading.Event`` that ends the iteration.
            idle_timeout_s: End after this long without a live message.
        """
        for camera in list(self.positions):
            yield from self._catch_up_or_warn(camera, None)
        for message in subscribe(self.endpoint, ("plate",), idle_timeout_s, stop, self.curve):
            event = message.data
            camera, epoch, seq = stream_place(event)
            if camera not in self.positions:
                self.positions[camera] = Position(epoch, 0)  # a late joiner fetches the epoch from its start
            current = self.positions[camera]
            new_epoch = epoch != current.epoch
            if new_epoch or seq > current.seq + 1:
                yield from self._catch_up_or_warn(camera, (epoch, seq))
                if new_epoch and self.positions[camera].epoch != epoch and seq > 1:
                    self.positions[camera] = Position(epoch, 0)  # the new epoch was not in any journal yet
                    yield from self._catch_up_or_warn(camera, (epoch, seq))
            delivered = self._deliver(event)
            if delivered is not None:
                yield delivered
