"""Receiving events from a running system, for other programs and for ``anpr subscribe``: plain PUB/SUB
(:func:`subscribe`), and at-least-once plate events with gaps filled from the replay servers
(:class:`ReliableSubscriber`)."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import zmq

from stream.events import WireMessage, decode
from stream.replay import MAX_LIMIT
from stream.security import Curve, connect

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 0.5
"""First wait before a gap that could not be filled is asked for again; the wait doubles each time it fails."""

RETRY_MAX_S = 30.0
"""Longest wait between two tries to fill a gap."""

HELD_MAX = 10_000
"""Most live events held back per camera behind a gap (older ones are dropped: the gap's catch-up fetches them
from the journal)."""


@dataclass(frozen=True)
class Message:
    """One received message.

    Attributes:
        topic: ``plate``, ``alert``, ``read`` or ``heartbeat`` (:data:`stream.events.TOPICS`).
        seq: The publisher's sequence number on that topic.
        data: The decoded JSON payload.
    """

    topic: str
    seq: int
    data: dict

    def typed(self) -> WireMessage:
        """The payload as its topic's message (:func:`stream.events.decode`).

        Raises:
            ValueError: If the topic is unknown or the payload does not fit its message.
        """
        return decode(self.topic, self.data)


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
    return (message for message in _receive(endpoint, topics, timeout_s, stop, curve) if message is not None)


def _receive(endpoint: str, topics: tuple[str, ...], timeout_s: float | None, stop,  # type: ignore[no-untyped-def]
             curve: Curve | None, poll_s: float = 0.2) -> Iterator[Message | None]:
    """:func:`subscribe`'s messages, with a None every ``poll_s`` that passes without one (time for the caller to
    do other work)."""
    socket = zmq.Context.instance().socket(zmq.SUB)
    try:
        for topic in topics:
            socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        connect(socket, endpoint, curve)
        log.info("subscribed to %s (%s)", endpoint, ", ".join(topics))
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        idle = 0.0  # seconds spent waiting since the last message (not counting the caller's time)
        while stop is None or not stop.is_set():
            started = time.monotonic()
            if not poller.poll(int(poll_s * 1000)):
                idle += time.monotonic() - started
                if timeout_s is not None and idle >= timeout_s:
                    return
                yield None
                continue
            idle = 0.0
            try:
                message = parse(socket.recv_multipart())
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


class CatchUpError(RuntimeError):
    """No replay server could answer for an epoch (each was unreachable or replied with an error)."""


class ReliableSubscriber:
    """Plate events at least once, in order per camera, each yielded once per run; fetching from replay servers
    what PUB/SUB lost.

    Each camera's events are numbered by the epoch of its process. A gap in a camera's sequence numbers, a new
    epoch, or a restart (with a saved state) makes it ask for the missing events before delivering the next
    live one. With a proxy gathering several hosts, give each host's replay endpoint: an epoch is asked of
    them in turn until one knows it; an endpoint that does not answer is passed over.

    A gap that cannot be filled (no replay server answers) holds that camera's live events back and is asked for
    again, with doubling waits up to :data:`RETRY_MAX_S`, until it is filled; other cameras go on meanwhile. Only
    an epoch that every replay server says it does not know is given up (its missing events are in no journal).

    Acknowledgements: the saved position of a camera advances only when the consumer calls :meth:`ack` with an
    event, after it has handled it. Acknowledgements are cumulative per camera: acking an event acknowledges the
    events of its camera before it too. A consumer that dies between receiving an event and acking it gets the
    event again when it restarts (at-least-once); within a run every event is yielded once, so a consumer that
    acks each event once it is durably handled sees every event exactly once except for one that was handled but
    not yet acked when it died (its ``camera``, ``epoch`` and ``seq`` tell that repeat apart)::

        subscriber = ReliableSubscriber("tcp://host:5556", "tcp://host:5557", state=Path("sub.json"))
        for event in subscriber.events():
            store(event)             # handle it
            subscriber.ack(event)    # then let the position advance

    Args:
        endpoint: PUB (or proxy XPUB) endpoint.
        replay_endpoints: Replay endpoints, one per host that journals events; or one endpoint.
        state: File that keeps the acknowledged positions across restarts (None: start from the live stream).
        timeout_s: Replay request timeout.
        curve: CURVE keys (None: plain TCP).
        topic: ``plate``, or ``alert`` for the alerts of watch lists (numbered and replayed the same way).
    """

    def __init__(self, endpoint: str, replay_endpoints: str | list[str], state: Path | None = None,
                 timeout_s: float = 5.0, curve: Curve | None = None, topic: str = "plate") -> None:
        self.endpoint = endpoint
        self.topic = topic
        self.replay_endpoints = [replay_endpoints] if isinstance(replay_endpoints, str) else list(replay_endpoints)
        self.state = state
        self.timeout_s = timeout_s
        self.curve = curve
        self.acked = load_positions(state)
        self.positions = dict(self.acked)  # where each camera's delivered events have got to in this run
        self._held: dict[str, deque[dict]] = {}  # live events waiting behind a gap, per camera
        self._due: dict[str, float] = {}  # cameras with a gap to fill: when to ask for it (monotonic time)
        self._failures: dict[str, int] = {}  # catch-ups in a row that failed, per camera
        self._home: dict[str, str] = {}  # the replay endpoint that knew an epoch

    def ack(self, event: dict) -> None:
        """Acknowledges a delivered event, and the events of its camera before it: the saved position moves on."""
        camera, epoch, seq = stream_place(event)
        current = self.acked.get(camera)
        if current is not None and current.epoch == epoch and current.seq >= seq:
            return
        self.acked[camera] = Position(epoch, seq)
        if self.state is not None:
            save_positions(self.state, self.acked)

    def _ask(self, endpoint: str, epoch: str, since: int) -> dict:
        socket = zmq.Context.instance().socket(zmq.REQ)
        socket.setsockopt(zmq.RCVTIMEO, int(self.timeout_s * 1000))
        socket.setsockopt(zmq.SNDTIMEO, int(self.timeout_s * 1000))
        try:
            connect(socket, endpoint, self.curve)
            topic = {} if self.topic == "plate" else {"topic": self.topic}
            socket.send_string(json.dumps({"epoch": epoch, "since": since, **topic}))
            reply = json.loads(socket.recv())
        finally:
            socket.close(linger=0)
        if not isinstance(reply, dict) or "error" in reply:
            raise ValueError(f"replay server {endpoint}: {reply.get('error') if isinstance(reply, dict) else reply}")
        return reply

    def _request(self, epoch: str, since: int) -> dict:
        """The reply of the first replay server that knows ``epoch`` (the one that knew it before is asked first).

        Returns:
            That reply; one with no events when every server answered that it does not know the epoch.

        Raises:
            CatchUpError: If no server knows it and some could not be asked.
        """
        home = self._home.get(epoch)
        failed = []
        for endpoint in sorted(self.replay_endpoints, key=lambda e: e != home):
            try:
                reply = self._ask(endpoint, epoch, since)
            except (zmq.ZMQError, ValueError) as error:
                log.warning("replay server %s did not answer: %s", endpoint, error)
                failed.append(endpoint)
                continue
            if reply.get("known", True):
                self._home[epoch] = endpoint
                return reply
        if failed:
            raise CatchUpError(f"no replay server that answered knows epoch {epoch}; not answering: {', '.join(failed)}")
        log.warning("no replay server knows epoch %s", epoch)
        return {"events": [], "later_epochs": []}

    def _deliver(self, event: dict) -> dict | None:
        """The event, with the camera's position moved to it; None if it was delivered already."""
        camera, epoch, seq = stream_place(event)
        current = self.positions.get(camera)
        if current is not None and epoch == current.epoch and seq <= current.seq:
            return None
        self.positions[camera] = Position(epoch, seq)
        return event

    def _catch_up(self, camera: str) -> Generator[dict, None, set[str]]:
        """Replays what one camera's stream missed: the rest of its current epoch, then each later epoch.

        Returns:
            The epochs walked through (all their journaled events are delivered).

        Raises:
            CatchUpError: If no replay server could answer (the events delivered before that stay delivered).
        """
        epoch, since = self.positions[camera].epoch, self.positions[camera].seq
        walked: set[str] = set()
        while epoch not in walked:
            walked.add(epoch)
            reply = self._request(epoch, since)
            for event in reply["events"]:
                delivered = self._deliver(event)
                if delivered is not None:
                    yield delivered
            if len(reply["events"]) >= MAX_LIMIT:
                since = self.positions[camera].seq
                walked.discard(epoch)
                continue
            later = reply.get("later_epochs", [])
            if later:
                epoch, since = later[0], 0
        return walked

    def _fill(self, camera: str) -> Iterator[dict]:
        """Fills one camera's gap from the replay servers, then delivers the live events held behind it.

        Raises:
            CatchUpError: If no replay server could answer; the camera's position stays where the delivered events
                got to, and its held events stay held.
        """
        walked = yield from self._catch_up(camera)
        held = self._held.get(camera, deque())
        while held:
            _, epoch, seq = stream_place(held[0])
            position = self.positions[camera]
            if epoch != position.epoch and epoch not in walked:  # an epoch the walk did not reach: ask for it
                self.positions[camera] = Position(epoch, 0)
                walked |= yield from self._catch_up(camera)
                continue
            event = held.popleft()
            if epoch == position.epoch and seq > position.seq:  # not in any journal the servers have
                if seq > position.seq + 1:
                    log.warning("camera %s: events %d to %d of epoch %s are in no journal; going on without them",
                                camera, position.seq + 1, seq - 1, epoch)
                self.positions[camera] = Position(epoch, seq)
                yield event

    def _take(self, event: dict) -> Iterator[dict]:
        """Delivers a live event in order, or holds it back behind a gap that is due to be filled."""
        camera, epoch, seq = stream_place(event)
        position = self.positions.setdefault(camera, Position(epoch, 0))  # a late joiner: from the epoch's start
        if camera not in self._due:
            if epoch == position.epoch and seq <= position.seq:
                return  # replayed already
            if epoch == position.epoch and seq == position.seq + 1:
                self.positions[camera] = Position(epoch, seq)
                yield event
                return
            self._due[camera] = time.monotonic()
        self._held.setdefault(camera, deque(maxlen=HELD_MAX)).append(event)

    def _fill_due(self) -> Iterator[dict]:
        """Fills the gaps that are due; one that fails is asked for again after a doubling wait."""
        now = time.monotonic()
        for camera in [c for c, due in self._due.items() if due <= now]:
            try:
                yield from self._fill(camera)
            except CatchUpError as error:
                failures = self._failures[camera] = self._failures.get(camera, 0) + 1
                delay = min(RETRY_INITIAL_S * 2 ** (failures - 1), RETRY_MAX_S)
                self._due[camera] = time.monotonic() + delay
                log.warning("could not replay missed events of camera %s: %s; asking again in %.1f s", camera, error,
                            delay)
            else:
                del self._due[camera]
                self._failures.pop(camera, None)

    def events(self, stop=None, idle_timeout_s: float | None = None) -> Iterator[dict]:  # type: ignore[no-untyped-def]
        """Plate events in publishing order per camera, each once in this run; see the class for acknowledgements.

        At start every camera of the saved state catches up on what it missed (the live socket is connected first,
        so nothing published meanwhile is lost).

        Args:
            stop: Optional ``threading.Event`` that ends the iteration.
            idle_timeout_s: End after this long without a live message.
        """
        for camera in self.positions:
            self._due.setdefault(camera, 0.0)
        for message in _receive(self.endpoint, (self.topic,), idle_timeout_s, stop, self.curve):
            if message is not None:
                yield from self._take(message.data)
            yield from self._fill_due()
