"""Replay of journaled events to subscribers that missed some (the ZeroMQ guide's Clone pattern).

A REP socket beside the PUB socket answers JSON requests ``{"epoch": E, "since": N, "limit": L}`` with
``{"current": C, "epoch": E, "known": K, "events": [...], "later_epochs": [...]}``: the events of epoch ``E``
after sequence number ``N``, the publisher's current epoch (None for a multi-camera supervisor), whether the
journal knows ``E``, and the epochs of ``E``'s camera that started after it. Malformed or oversized requests
get ``{"error": "..."}``; they never stop the server.
"""

from __future__ import annotations

import json
import logging
import threading

import zmq

from stream.journal import Journal
from stream.security import Curve, bind

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096
MAX_LIMIT = 1000


def parse_request(raw: bytes) -> tuple[str | None, int, int]:
    """Validates a replay request.

    Args:
        raw: The request bytes.

    Returns:
        ``(epoch or None, since, limit)``.

    Raises:
        ValueError: With a message saying what is wrong.
    """
    if len(raw) > MAX_REQUEST_BYTES:
        raise ValueError(f"request of {len(raw)} bytes exceeds {MAX_REQUEST_BYTES}")
    try:
        request = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"request is not JSON: {error}") from error
    if not isinstance(request, dict):
        raise ValueError("request must be a JSON object")
    unknown = set(request) - {"epoch", "since", "limit"}
    if unknown:
        raise ValueError(f"unknown request keys: {sorted(unknown)}")
    epoch, since, limit = request.get("epoch"), request.get("since", 0), request.get("limit", MAX_LIMIT)
    if epoch is not None and (not isinstance(epoch, str) or len(epoch) > 64):
        raise ValueError(f"epoch must be a string of at most 64 characters: {epoch!r}")
    for name, value in (("since", since), ("limit", limit)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer: {value!r}")
    return epoch, since, min(limit, MAX_LIMIT)


class ReplayServer:
    """Serves replay requests from the journal on a thread of its own.

    Args:
        endpoint: REP endpoint to bind.
        journal: The event journal.
        epoch: The running publisher's epoch (None for a supervisor serving its cameras' shared journal).
        curve: CURVE keys (None: plain TCP).
    """

    def __init__(self, endpoint: str, journal: Journal, epoch: str | None, curve: Curve | None = None) -> None:
        self.journal = journal
        self.epoch = epoch
        self.stop_event = threading.Event()
        self.socket = zmq.Context.instance().socket(zmq.REP)
        bind(self.socket, endpoint, curve)
        self._thread = threading.Thread(target=self._serve, name="replay", daemon=True)

    def start(self) -> "ReplayServer":
        """Starts serving."""
        self._thread.start()
        return self

    def answer(self, raw: bytes) -> dict:
        """The reply to one request."""
        try:
            epoch, since, limit = parse_request(raw)
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
        events = [json.loads(e.body) for e in self.journal.since(epoch, since, limit)]
        return {"current": self.epoch, "epoch": epoch, "known": True, "events": events,
                "later_epochs": epochs[epochs.index(epoch) + 1 :]}

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self.stop_event.is_set():
            if not poller.poll(200):
                continue
            parts = self.socket.recv_multipart()
            reply = self.answer(parts[0]) if len(parts) == 1 else {"error": "request must be a single frame"}
            self.socket.send_string(json.dumps(reply, separators=(",", ":")))
        self.socket.close(linger=0)

    def stop(self) -> None:
        """Stops serving and joins the thread."""
        self.stop_event.set()
        self._thread.join(timeout=5)
