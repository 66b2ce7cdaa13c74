"""ZeroMQ publishing of the typed messages of :mod:`stream.events` (plate events, alerts, per-frame reads,
heartbeats), as multipart ``[topic, sequence number, JSON]``: the wire format is documented there."""

from __future__ import annotations

import logging
import time

import zmq

from stream.events import TOPICS, WireMessage
from stream.security import Curve, bind, connect

log = logging.getLogger(__name__)


class Publisher:
    """A PUB socket, bound, or connected to a proxy's XSUB endpoint.

    Args:
        endpoint: Endpoint to bind, e.g. ``tcp://127.0.0.1:5556``, or with ``connect_to_proxy`` to connect to.
        connect_to_proxy: Connect to ``endpoint`` (a proxy) instead of binding it.
        curve: CURVE keys (None: plain TCP).

    Raises:
        zmq.ZMQError: If the endpoint cannot be bound.
    """

    def __init__(self, endpoint: str, connect_to_proxy: bool = False, curve: Curve | None = None) -> None:
        self.endpoint = endpoint
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        self.socket.setsockopt(zmq.SNDHWM, 100_000)
        (connect if connect_to_proxy else bind)(self.socket, endpoint, curve)
        self._seq = dict.fromkeys(TOPICS, 0)
        self._last_send = time.monotonic()

    def next_seq(self, topic: str) -> int:
        """The sequence number the next message on ``topic`` will carry."""
        return self._seq[topic] + 1

    def send(self, message: WireMessage) -> int:
        """Publishes one message on its topic.

        Returns:
            The message's sequence number.
        """
        topic = message.topic
        self._seq[topic] += 1
        seq = self._seq[topic]
        self.socket.send_multipart([topic.encode(), str(seq).encode(), message.to_json().encode()])
        self._last_send = time.monotonic()
        return seq

    def close(self, drain_s: float = 0.5) -> None:
        """Gives queued messages ``drain_s`` to leave, then closes with ``linger=0``."""
        remaining = drain_s - (time.monotonic() - self._last_send)
        if remaining > 0:
            time.sleep(remaining)
        self.socket.close(linger=0)
