"""Replay of journaled events to subscribers that missed some (the ZeroMQ guide's Clone pattern).

A ROUTER socket beside the PUB socket answers JSON requests ``{"epoch": E, "since": N, "limit": L}`` (sent by a
REQ socket) with ``{"current": C, "epoch": E, "known": K, "events": [...], "later_epochs": [...]}``: the events of
epoch ``E`` after sequence number ``N``, the publisher's current epoch (None for a multi-camera supervisor),
whether the journal knows ``E``, and the epochs of ``E``'s camera that started after it. A request with
``"topic": "alert"`` is answered with the epoch's alerts instead of its plate events (``"plate"`` is the default).

Nothing a peer sends stops the server:

- every message that reaches the socket gets a reply: malformed, oversized or multi-frame requests get
  ``{"error": "..."}`` (logged), and a request the journal look-up fails on gets ``{"error": "internal error"}``
  with the traceback in the log;
- the ROUTER socket addresses each reply with the envelope of its own request, so a broken peer (raw TCP
  garbage that libzmq reads as frames of an old ZeroMQ peer) cannot take the reply meant for the next one, as it
  could with REP's single reply slot; a frame over :data:`MAX_FRAME_BYTES` or a failed handshake makes libzmq
  drop that connection, and a socket monitor logs it;
- the serving thread is watched by a supervisor thread that opens the socket again and restarts it if it ever
  dies; :attr:`ReplayServer.alive` (reported in the heartbeat) says whether it is serving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import zmq
from zmq.utils.monitor import recv_monitor_message

from stream.journal import TOPIC_TABLES, Journal
from stream.security import Curve, bind

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096
MAX_LIMIT = 1000
MAX_SEQ = 2**63 - 1
"""Largest sequence number SQLite can compare with (a signed 64-bit integer)."""

MAX_FRAME_BYTES = 64 * 1024
"""libzmq drops a connection that sends a larger frame before it is read into memory."""

RESTART_MAX_S = 5.0
"""Longest wait before the supervisor restarts a serving thread that keeps dying."""

_DROPPED = {zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol error", zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "failed handshake",
            zmq.EVENT_HANDSHAKE_FAILED_AUTH: "authentication failed"}
"""Socket monitor events that mean libzmq dropped a peer's connection, with what they are logged as."""


def parse_request(raw: bytes) -> tuple[str | None, int, int, str]:
    """Validates a replay request.

    Args:
        raw: The request bytes.

    Returns:
        ``(epoch or None, since, limit, topic)``.

    Raises:
        ValueError: With a message saying what is wrong.
    """
    if len(raw) > MAX_REQUEST_BYTES:
        raise ValueError(f"request of {len(raw)} bytes exceeds {MAX_REQUEST_BYTES}")
    try:
        request = json.loads(raw)
    except RecursionError as error:
        raise ValueError("request is nested too deeply") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"request is not JSON: {error}") from error
    if not isinstance(request, dict):
        raise ValueError("request must be a JSON object")
    unknown = set(request) - {"epoch", "since", "limit", "topic"}
    if unknown:
        raise ValueError(f"unknown request keys: {sorted(unknown)}")
    topic = request.get("topic", "plate")
    if not isinstance(topic, str) or topic not in TOPIC_TABLES:
        raise ValueError(f"topic must be one of {sorted(TOPIC_TABLES)}: {topic!r}")
    epoch, since, limit = request.get("epoch"), request.get("since", 0), request.get("limit", MAX_LIMIT)
    if epoch is not None and (not isinstance(epoch, str) or len(epoch) > 64 or not _is_utf8(epoch)):
        raise ValueError(f"epoch must be a UTF-8 string of at most 64 characters: {epoch!r}")
    for name, value in (("since", since), ("limit", limit)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEQ:
            raise ValueError(f"{name} must be an integer from 0 to 2**63-1: {value!r}")
    return epoch, since, min(limit, MAX_LIMIT), topic


def _is_utf8(text: str) -> bool:
    """Whether ``text`` can be encoded as UTF-8 (JSON's ``\\ud800`` escapes give lone surrogates that cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Splits a message received on a ROUTER socket into its envelope and its body.

    Args:
        frames: ``[peer id, ..., b"", body...]`` from a REQ peer; ``[peer id, body...]`` from a peer that sends
            no empty delimiter frame.

    Returns:
        ``(envelope, body)``: the frames a reply must start with to reach the peer, and the rest.
    """
    if b"" in frames[1:]:
        end = frames.index(b"", 1) + 1
        return frames[:end], frames[end:]
    return frames[:1], frames[1:]


class ReplayServer:
    """Serves replay requests from the journal on a supervised thread of its own.

    Args:
        endpoint: ROUTER endpoint to bind (REQ clients connect to it).
        journal: The event journal.
        epoch: The running publisher's epoch (None for a supervisor serving its cameras' shared journal).
        curve: CURVE keys (None: plain TCP).

    Raises:
        zmq.ZMQError: If the endpoint cannot be bound.
    """

    def __init__(self, endpoint: str, journal: Journal, epoch: str | None, curve: Curve | None = None) -> None:
        self.endpoint = endpoint
        self.journal = journal
        self.epoch = epoch
        self.curve = curve
        self.stop_event = threading.Event()
        self.restarts = 0
        self.socket = self._open()
        self._worker: threading.Thread | None = None
        self._supervisor = threading.Thread(target=self._supervise, name="replay-supervisor", daemon=True)

    @property
    def alive(self) -> bool:
        """Whether the serving thread is running."""
        return self._worker is not None and self._worker.is_alive()

    def start(self) -> "ReplayServer":
        """Starts serving, and the supervisor that restarts the serving thread if it dies."""
        self._worker = self._spawn(self.socket)
        self._supervisor.start()
        return self

    def stop(self) -> None:
        """Stops serving and joins the threads (closes the socket of a server never started)."""
        self.stop_event.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=10)
        elif self._worker is None:
            self.socket.close(linger=0)

    def answer(self, raw: bytes) -> dict:
        """The reply to one request.

        Raises:
            Exception: Whatever the journal look-up raises (the serving loop replies with an error and logs it).
        """
        try:
            epoch, since, limit, topic = parse_request(raw)
        except ValueError as error:
            log.warning("bad replay request: %s", error)
            return {"error": str(error)}
        epoch = epoch if epoch is not None else self.epoch
        if epoch is None:
            return {"error": "this server publishes several cameras: name the epoch"}
        camera = self.journal.epoch_camera(epoch)
        if camera is None:
            return {"current": self.epoch, "epoch": epoch, "known": False, "events": [], "later_epochs": []}
        epochs = self.journal.epochs(camera)
        events = [json.loads(e.body) for e in self.journal.since(epoch, since, limit, topic)]
        return {"current": self.epoch, "epoch": epoch, "known": True, "events": events,
                "later_epochs": epochs[epochs.index(epoch) + 1 :]}

    def reply(self, frames: list[bytes]) -> list[bytes]:
        """The reply message to one received message: its envelope, then the JSON answer (an error for anything but
        one body frame, or when answering fails)."""
        envelope, body = split_envelope(frames)
        if len(body) != 1:
            log.warning("bad replay request: %d body frames", len(body))
            answer = {"error": "request must be a single frame"}
        else:
            try:
                answer = self.answer(body[0])
            except Exception:  # noqa: BLE001 - one request must never stop the server
                log.exception("replay request %r failed", body[0][:200])
                answer = {"error": "internal error"}
        return [*envelope, json.dumps(answer, separators=(",", ":")).encode()]

    def _open(self) -> zmq.Socket:
        socket = zmq.Context.instance().socket(zmq.ROUTER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        try:
            bind(socket, self.endpoint, self.curve)
        except zmq.ZMQError:
            socket.close(linger=0)
            raise
        return socket

    def _spawn(self, socket: zmq.Socket) -> threading.Thread:
        worker = threading.Thread(target=self._serve, args=(socket,), name="replay", daemon=True)
        worker.start()
        return worker

    def _serve(self, socket: zmq.Socket) -> None:
        """Answers requests until stopped; whatever ends it early is logged (the supervisor restarts it)."""
        monitor = socket.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                            | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        try:
            while not self.stop_event.is_set():
                ready = dict(poller.poll(200))
                if monitor in ready:
                    event = recv_monitor_message(monitor)
                    log.warning("replay server dropped a connection: %s", _DROPPED.get(event["event"], event["event"]))
                if socket in ready:
                    socket.send_multipart(self.reply(socket.recv_multipart()))
        except BaseException:  # noqa: BLE001 - logged here, restarted by the supervisor
            log.exception("replay server thread died")
        finally:
            with contextlib.suppress(zmq.ZMQError):
                socket.disable_monitor()
            monitor.close(linger=0)
            socket.close(linger=0)

    def _supervise(self) -> None:
        """Restarts the serving thread, on a newly bound socket, whenever it dies before a stop."""
        while True:
            assert self._worker is not None
            self._worker.join()
            if self.stop_event.is_set():
                return
            self.restarts += 1
            socket = self._rebind()
            if socket is None:
                return
            self.socket = socket
            self._worker = self._spawn(socket)

    def _rebind(self) -> zmq.Socket | None:
        """The endpoint bound again after a wait that doubles with each restart (None when stopped meanwhile)."""
        delay = min(0.1 * 2 ** (self.restarts - 1), RESTART_MAX_S)
        log.error("replay server thread died; restarting it in %.1f s (restart %d)", delay, self.restarts)
        while not self.stop_event.wait(delay):
            try:
                return self._open()
            except zmq.ZMQError as error:
                log.warning("replay server cannot bind %s again: %s", self.endpoint, error)
                delay = min(delay * 2, RESTART_MAX_S)
        return None
