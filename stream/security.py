"""ZeroMQ CURVE encryption and authentication, switched on by the config's ``publish.curve`` section.

Binding sockets (publisher, replay server, proxy) are CURVE servers; connecting sockets (subscribers, replay
requests, a publisher sending to a proxy) are CURVE clients. A server with ``authorized_keys`` accepts only
the clients whose public keys are in that folder, and its own key.
"""

from __future__ import annotations

import logging
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from stream.config import ConfigError, CurveSpec

log = logging.getLogger(__name__)


def make_keys(folder: Path, name: str) -> tuple[Path, Path]:
    """Writes a new key pair: ``NAME.key`` (public, for the other side) and ``NAME.key_secret``.

    Returns:
        The paths of the public and the secret key files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(folder), name)
    return Path(public), Path(secret)


def _load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    try:
        public, secret_key = zmq.auth.load_certificate(str(path.expanduser()))
    except (OSError, ValueError) as error:
        raise ConfigError(f"curve key {path}: {error}") from error
    if secret and secret_key is None:
        raise ConfigError(f"curve key {path} holds no secret key (use the NAME.key_secret file)")
    return public, secret_key


class _Allowed:
    """The ZAP callback: a client is let in when its public key is one of ``keys``."""

    def __init__(self, keys: set[bytes]) -> None:
        self.keys = keys

    def callback(self, domain: str, key: bytes) -> bool:
        allowed = key in self.keys
        if not allowed:
            log.warning("refused a CURVE client whose key is not authorized")
        return allowed


class Curve:
    """The keys of one process, applied to its sockets.

    Args:
        spec: The ``publish.curve`` config section (enabled).
        context: ZeroMQ context whose sockets it secures (the global one when None).

    Raises:
        ConfigError: If a key file cannot be read.
    """

    def __init__(self, spec: CurveSpec, context: zmq.Context | None = None) -> None:
        assert spec.secret_key is not None
        self.public, self.secret = _load(spec.secret_key, secret=True)
        self.server_public = _load(spec.server_key, secret=False)[0] if spec.server_key else self.public
        self.context = context or zmq.Context.instance()
        self.authenticator: ThreadAuthenticator | None = None
        self.authorized_keys = spec.authorized_keys

    def _authenticate(self) -> None:
        if self.authenticator is not None:
            return
        self.authenticator = ThreadAuthenticator(self.context)
        self.authenticator.start()
        if self.authorized_keys is None:
            self.authenticator.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
            return
        folder = self.authorized_keys.expanduser()
        if not folder.is_dir():
            raise ConfigError(f"curve.authorized_keys is not a folder: {folder}")
        keys = set(zmq.auth.load_certificates(str(folder))) | {self.public}
        self.authenticator.configure_curve_callback(domain="*", credentials_provider=_Allowed(keys))

    def server(self, socket: zmq.Socket) -> None:
        """Makes a socket, before it binds, a CURVE server that authenticates its clients."""
        self._authenticate()
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def client(self, socket: zmq.Socket) -> None:
        """Makes a socket, before it connects, a CURVE client of the configured server."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_serverkey = self.server_public

    def close(self) -> None:
        """Stops the authenticator thread."""
        if self.authenticator is not None:
            self.authenticator.stop()
            self.authenticator = None


def bind(socket: zmq.Socket, endpoint: str, curve: Curve | None) -> None:
    """Binds a socket, as a CURVE server when ``curve`` is given."""
    if curve is not None:
        curve.server(socket)
    socket.bind(endpoint)


def connect(socket: zmq.Socket, endpoint: str, curve: Curve | None) -> None:
    """Connects a socket, as a CURVE client when ``curve`` is given."""
    if curve is not None:
        curve.client(socket)
    socket.connect(endpoint)


def load_curve(spec: CurveSpec) -> Curve | None:
    """The process's CURVE keys when the config switches CURVE on, else None."""
    return Curve(spec) if spec.enabled else None
