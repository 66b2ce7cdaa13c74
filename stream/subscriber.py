"""Receiving events from a running system, for other programs and for ``anpr subscribe``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

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
