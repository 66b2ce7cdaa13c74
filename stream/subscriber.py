"""Receiving events from a running system, for other programs and for ``anpr subscribe``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zmq

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
              stop=None) -> Iterator[Message]:  # type: ignore[no-untyped-def]
    """Yields messages from a publisher until ``timeout_s`` passes without one or ``stop`` is set.

    Malformed messages are logged and skipped.

    Args:
        endpoint: Publisher endpoint, e.g. ``tcp://127.0.0.1:5556``.
        topics: Topics to receive.
        timeout_s: Give up after this long with no message (None waits forever).
        stop: Optional ``threading.Event`` that ends the iteration.

    Yields:
        Messages in arrival order.
    """
    context = zmq.Context.instance()
    socket = context.socket(zmq.SUB)
    try:
        for topic in topics:
            socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        socket.connect(endpoint)
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


@dataclass
class Position:
    """Where a subscriber is in the publisher's event stream.

    Attributes:
        epoch: Publisher epoch of the last event delivered (None before the first).
        seq: Sequence number of that event (0 before the first).
    """

    epoch: str | None = None
    seq: int = 0

    def save(self, path: Path) -> None:
        """Writes the position atomically."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"epoch": self.epoch, "seq": self.seq}))
        tmp.replace(path)

    @staticmethod
    def load(path: Path | None) -> "Position":
        """Reads a saved position (a fresh one when there is none or it is unreadable)."""
        if path is None or not path.is_file():
            return Position()
        try:
            data = json.loads(path.read_text())
            return Position(data.get("epoch"), int(data.get("seq", 0)))
        except (ValueError, TypeError, AttributeError):
            log.warning("ignoring unreadable subscriber state %s", path)
            return Position()


class ReliableSubscriber:
    """Plate events exactly once and in order, fetching from the replay server what the PUB socket lost.

    A gap in sequence numbers, a new publisher epoch, or a restart (with a saved position) makes it ask the
    replay server for the missing events before delivering the next live one.

    Args:
        endpoint: Publisher's PUB endpoint.
        replay_endpoint: Publisher's replay (REP) endpoint.
        state: File that keeps the position across restarts (None: start from the live stream).
        timeout_s: Replay request timeout.
    """

    def __init__(self, endpoint: str, replay_endpoint: str, state: Path | None = None, timeout_s: float = 5.0) -> None:
        self.endpoint = endpoint
        self.replay_endpoint = replay_endpoint
        self.state = state
        self.timeout_s = timeout_s
        self.position = Position.load(state)

    def _request(self, epoch: str | None, since: int) -> dict:
        socket = zmq.Context.instance().socket(zmq.REQ)
        socket.setsockopt(zmq.RCVTIMEO, int(self.timeout_s * 1000))
        socket.setsockopt(zmq.SNDTIMEO, int(self.timeout_s * 1000))
        try:
            socket.connect(self.replay_endpoint)
            socket.send_string(json.dumps({"epoch": epoch, "since": since}))
            reply = json.loads(socket.recv())
        finally:
            socket.close(linger=0)
        if "error" in reply:
            raise ValueError(f"replay server: {reply['error']}")
        return reply

    def _deliver(self, event: dict) -> dict | None:
        epoch, seq = event.get("epoch"), int(event.get("seq", 0))
        if epoch == self.position.epoch and seq <= self.position.seq:
            return None  # already delivered
        self.position = Position(epoch, seq)
        if self.state is not None:
            self.position.save(self.state)
        return event

    def _catch_up(self, until: tuple[str, int] | None) -> Iterator[dict]:
        """Replays what was missed: the rest of the current epoch, then every later epoch, up to ``until``."""
        epoch, since = self.position.epoch, self.position.seq
        visited: set[str | None] = set()
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
                since = self.position.seq
                visited.discard(epoch)
                continue
            later = reply.get("later_epochs", [])
            if not later:
                return
            epoch, since = later[0], 0

    def _catch_up_or_warn(self, until: tuple[str, int]) -> Iterator[dict]:
        """:meth:`_catch_up`, logging instead of raising when the replay server cannot answer."""
        try:
            yield from self._catch_up(until)
        except (zmq.ZMQError, ValueError) as error:
            log.warning("could not replay missed events: %s", error)

    def events(self, stop=None, idle_timeout_s: float | None = None) -> Iterator[dict]:  # type: ignore[no-untyped-def]
        """Plate events, exactly once each, in publishing order.

        Args:
            stop: Optional ``threading.Event`` that ends the iteration.
            idle_timeout_s: End after this long without a live message.
        """
        if self.position.epoch is not None:
            yield from self._catch_up(None)
        for message in subscribe(self.endpoint, ("plate",), idle_timeout_s, stop):
            event = message.data
            epoch, seq = event.get("epoch"), int(event.get("seq", 0))
            if self.position.epoch is None:
                self.position = Position(epoch, 0)  # a late joiner fetches the epoch from its start
            new_epoch = epoch != self.position.epoch
            gap = epoch == self.position.epoch and seq > self.position.seq + 1
            if new_epoch or gap:
                yield from self._catch_up_or_warn((epoch, seq))
                if new_epoch and self.position.epoch != epoch and seq > 1:
                    self.position = Position(epoch, 0)
                    yield from self._catch_up_or_warn((epoch, seq))
            delivered = self._deliver(event)
            if delivered is not None:
                yield delivered
