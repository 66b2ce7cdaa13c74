"""A ZeroMQ XSUB/XPUB proxy: camera processes (on this host or others) publish into one endpoint that
subscribers use."""

from __future__ import annotations

import logging
import threading

import zmq

from stream.security import Curve, bind

log = logging.getLogger(__name__)


class Proxy:
    """Forwards messages from publishers that connect to ``collect_endpoint`` to subscribers of ``endpoint``,
    and subscriptions the other way, on a thread of its own.

    Args:
        collect_endpoint: XSUB endpoint to bind; publishers connect here.
        endpoint: XPUB endpoint to bind; subscribers connect here.
        curve: CURVE keys (None: plain TCP); both sockets are then CURVE servers.

    Raises:
        zmq.ZMQError: If an endpoint cannot be bound.
    """

    def __init__(self, collect_endpoint: str, endpoint: str, curve: Curve | None = None) -> None:
        context = zmq.Context.instance()
        self.xsub, self.xpub = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
        self.stop_event = threading.Event()
        self.forwarded = 0
        try:
            for socket, address in ((self.xsub, collect_endpoint), (self.xpub, endpoint)):
                socket.setsockopt(zmq.SNDHWM, 100_000)
                socket.setsockopt(zmq.RCVHWM, 100_000)
                bind(socket, address, curve)
        except zmq.ZMQError:
            self.xsub.close(linger=0)
            self.xpub.close(linger=0)
            raise
        self._thread = threading.Thread(target=self._forward, name="proxy", daemon=True)

    def start(self) -> "Proxy":
        """Starts forwarding."""
        self._thread.start()
        return self

    def _forward(self) -> None:
        poller = zmq.Poller()
        poller.register(self.xsub, zmq.POLLIN)
        poller.register(self.xpub, zmq.POLLIN)
        while not self.stop_event.is_set():
            ready = dict(poller.poll(200))
            if self.xsub in ready:
                self.xpub.send_multipart(self.xsub.recv_multipart())
                self.forwarded += 1
            if self.xpub in ready:
                self.xsub.send_multipart(self.xpub.recv_multipart())  # a (un)subscription
        self.xsub.close(linger=0)
        self.xpub.close(linger=0)

    def stop(self) -> None:
        """Stops forwarding, closes the sockets and joins the thread."""
        self.stop_event.set()
        self._thread.join(timeout=5)
