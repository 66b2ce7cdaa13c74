"""The one application config: a pydantic model loaded once from YAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, Field, FilePath, SecretStr, ValidationError, field_validator, model_validator

from detector.spec import ScanSpec, ZoneSpec
from recognizer.decode import FormatCheck, weighted_patterns
from recognizer.spec import (GateSpec, ModelSpec, ReaderSpec, ReadSpec, RecognizerSpec, RendererSpec, StrictModel,
                             TrainSpec)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding ``stream/``, ``recognizer/`` and ``configs/``: the repository, or ``site-packages`` of a
non-editable install. The shipped configs and weights are found from it, so both run the same."""

DEFAULT_CONFIG = PACKAGE_ROOT / "configs" / "default.yaml"
"""Every key with its default, documented; used when no ``--config`` is given."""
DEMO_CONFIG = DEFAULT_CONFIG.with_name("demo.yaml")
"""Config of the built-in demo clip's camera: the defaults with its plate sizes."""


class ConfigError(ValueError):
    """A config file that cannot be read or does not validate; the message names the key and value."""


class TrackSpec(StrictModel):
    """How per-frame reads become one event per vehicle.

    Attributes:
        max_age_s: A track not seen for this long (stream time) ends and is published.
        min_reads: Reads a track needs to be published.
        min_confidence: Voted confidence a track needs to be published.
        other_length_confidence: A track whose most-read length votes less sure than ``min_confidence`` (a mark
            read as one more character in most frames) is published with the vote of another length that at least
            ``min_reads`` of its reads have, the most-read first, if that vote is at least this sure; None: never.
        match_iou: Least box overlap that links a read to a live track.
        match_distance: Or: greatest centre distance, in plate widths, from where the track is expected to be (its
            last box moved on at its last speed) that links a read to it.
        match_speed: Plate widths per second the allowed distance grows by with the time since the track's last
            read, for a plate that sped up or was seen once (live cameras drop frames; plates jump between reads).
        direction_min_shift: Plate widths a track's plate must travel for its event to name a direction of travel
            (``left``/``right``/``up``/``down`` and an angle).
        direction_min_growth: Relative change of the plate's width over a track that makes it ``approaching``
            (growing) or ``receding`` (shrinking).
    """

    max_age_s: float = Field(1.0, gt=0)
    min_reads: int = Field(3, ge=1)
    min_confidence: float = Field(0.1, ge=0, le=1)
    other_length_confidence: float | None = Field(0.5, ge=0, le=1)
    match_iou: float = Field(0.1, ge=0, le=1)
    match_distance: float = Field(1.5, gt=0)
    match_speed: float = Field(3.0, ge=0)
    direction_min_shift: float = Field(0.25, ge=0)
    direction_min_growth: float = Field(0.1, ge=0)


class CurveSpec(StrictModel):
    """ZeroMQ CURVE encryption and authentication of every socket (publisher, replay, proxy, subscriber).

    Key files are the certificates ``anpr keys`` writes (ZeroMQ's format): ``NAME.key_secret`` holds a key pair,
    ``NAME.key`` its public half, which is what the other side is given.

    Attributes:
        enabled: Switch CURVE on.
        secret_key: This process's key pair (``NAME.key_secret``).
        server_key: Public key (``NAME.key``) of the server this process connects to; None: this process's own
            public key, as for the camera processes of one supervisor, which share its config.
        authorized_keys: Folder of the public keys (``*.key``) of the clients a server accepts, plus its own;
            None accepts any client that knows the server's public key.
    """

    enabled: bool = False
    secret_key: Path | None = None
    server_key: Path | None = None
    authorized_keys: Path | None = None

    @model_validator(mode="after")
    def _keys_given(self) -> "CurveSpec":
        if self.enabled and self.secret_key is None:
            raise ValueError("curve.enabled needs curve.secret_key (a key pair made by `anpr keys`)")
        return self


class MqttSpec(StrictModel):
    """Publishing plate and alert events to an MQTT broker (e.g. Home Assistant's), from the journal.

    Attributes:
        url: ``mqtt://host[:port]`` (1883), or ``mqtts://host[:port]`` (8883, TLS).
        topic_prefix: Events go to ``PREFIX/CAMERA/plate`` and ``PREFIX/CAMERA/alert``; ``PREFIX/CAMERA/availability``
            and ``PREFIX/CAMERA/heartbeat`` are retained.
        username: Broker user name (None: anonymous).
        password: Its password.
        tls: Connect with TLS (also implied by ``mqtts://``).
        ca_file: Certificate authorities to check the broker against (None: the system's).
        client_id: MQTT client id prefix (the camera name is appended).
        discovery: Publish Home Assistant MQTT discovery: a sensor per camera holding its last plate.
        discovery_prefix: Home Assistant's discovery topic prefix.
        retry_max_s: Longest wait between attempts to reach the broker (the wait doubles from 1 s).
        drain_s: At the end of a run, how long to wait for the broker to acknowledge what is left.
    """

    url: str
    topic_prefix: str = Field("anpr", pattern=r"^[^#+\s]+$")
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: FilePath | None = None
    client_id: str = Field("anpr", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    discovery: bool = False
    discovery_prefix: str = Field("homeassistant", pattern=r"^[^#+\s]+$")
    retry_max_s: float = Field(30.0, ge=1)
    drain_s: float = Field(5.0, ge=0)

    @field_validator("url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("mqtt", "mqtts") and bool(parts.hostname) and parts.path in ("", "/")
            valid = valid and (parts.port or 1) > 0  # .port raises ValueError when out of range
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(f"url must look like mqtt://host:1883 or mqtts://host:8883: {value!r}")
        return value


class PublishSpec(StrictModel):
    """Where events go.

    Attributes:
        endpoint: ZeroMQ PUB endpoint to bind (a multi-camera supervisor binds its XPUB here).
        replay_endpoint: ZeroMQ endpoint (a ROUTER socket; subscribers ask with REQ) serving missed events from the
            journal.
        upstream: Connect the PUB socket to this XSUB endpoint (an ``anpr proxy`` on another host) instead of
            binding ``endpoint``.
        collect_endpoint: XSUB endpoint that a multi-camera supervisor and ``anpr proxy`` bind, and that the
            camera processes publish into.
        reads: Also publish per-frame reads on topic ``read``.
        heartbeat_s: Seconds between heartbeats.
        journal: SQLite file every plate event is written to before it is published (``~`` expands).
        snapshot_quota_mb: Disk quota of the JPEG crops of each event's plate and vehicle, kept in
            ``snapshots/`` beside the journal, oldest deleted first; 0 keeps none.
        curve: CURVE encryption and authentication (off by default).
        mqtt: Also publish plate and alert events to an MQTT broker (None: off).
    """

    endpoint: str = "tcp://127.0.0.1:5556"
    replay_endpoint: str = "tcp://127.0.0.1:5557"
    upstream: str | None = None
    collect_endpoint: str = "tcp://127.0.0.1:5558"
    reads: bool = False
    heartbeat_s: float = Field(1.0, gt=0)
    journal: Path = Path("~/.local/share/anpr/events.db")
    snapshot_quota_mb: float = Field(500.0, ge=0)
    curve: CurveSpec = CurveSpec()
    mqtt: MqttSpec | None = None

    @field_validator("endpoint", "replay_endpoint", "upstream", "collect_endpoint")
    @classmethod
    def _zmq_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("tcp://", "ipc://", "inproc://")):
            raise ValueError(f"endpoint must start with tcp://, ipc:// or inproc://: {value!r}")
        return value


class SourceSpec(StrictModel):
    """How frames are read.

    Attributes:
        camera: Camera name put in every event.
        reconnect_initial_s: First wait before reopening a dead live source.
        reconnect_max_s: Longest wait between reopen attempts.
        stall_s: A live source with no frame for this long is reopened.
        max_pixels: Frames larger than this are skipped as corrupt.
        zones: The parts of the frame where plates are read (``docs/zones.md``); empty: the whole frame.
    """

    camera: str = "cam0"
    reconnect_initial_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(10.0, gt=0)
    stall_s: float = Field(5.0, gt=0)
    max_pixels: int = Field(4096 * 4096, gt=0)
    zones: tuple[ZoneSpec, ...] = ()

    @field_validator("zones")
    @classmethod
    def _zone_names_differ(cls, zones: tuple[ZoneSpec, ...]) -> tuple[ZoneSpec, ...]:
        return _unique_zones(zones)


def _unique_zones(zones: tuple[ZoneSpec, ...]) -> tuple[ZoneSpec, ...]:
    names = [z.name for z in zones]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"zone name {name!r} is used twice")
    return zones


class CameraSpec(StrictModel):
    """One camera of a multi-camera config: ``anpr run --config FILE`` runs each in a process of its own.

    Attributes:
        name: Camera name put in its events.
        source: Camera index, rtsp/http URL, video file, image or folder of images.
        realtime: Replay a file source as a live camera: at its frame rate, dropping frames it cannot keep up with.
        scan: The ``scan`` settings that differ for this camera (e.g. its plate widths).
        zones: This camera's zones (``source.zones`` when empty).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    source: str = Field(min_length=1)
    realtime: bool = False
    scan: dict[str, Any] = {}
    zones: tuple[ZoneSpec, ...] = ()

    @field_validator("zones")
    @classmethod
    def _zone_names_differ(cls, zones: tuple[ZoneSpec, ...]) -> tuple[ZoneSpec, ...]:
        return _unique_zones(zones)

    @field_validator("source", mode="before")
    @classmethod
    def _index_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def plate_entry(text: str) -> str:
    """A watch list entry checked: letters, digits, spaces, hyphens and the wildcards ``*`` and ``?``.

    Raises:
        ValueError: Naming the entry.
    """
    if not re.fullmatch(r"[A-Za-z0-9*? -]*[A-Za-z0-9*?][A-Za-z0-9*? -]*", text):
        raise ValueError(f"not a plate or pattern (letters, digits, spaces, -, * and ?): {text!r}")
    return text


def parse_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"22:00-06:00"`` (or several, comma-separated) as minute-of-day ranges, end exclusive: ``((1320, 360),)``.

    Raises:
        ValueError: Naming the text.
    """
    ranges = []
    for part in text.split(","):
        found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", part)
        if not found:
            raise ValueError(f"hours must look like 22:00-06:00: {text!r}")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if max(m1, m2) > 59 or max(start, end) > 1440:
            raise ValueError(f"hours must be times of day from 00:00 to 24:00: {text!r}")
        ranges.append((start % 1440, end % 1440))
    return tuple(ranges)


class AlertListSpec(StrictModel):
    """One watch list: plates that raise an alert when read (see ``stream/alerts.py``).

    Attributes:
        name: The list's name, put in every alert it raises.
        plates: Plates, or patterns with ``*`` (any run of characters) and ``?`` (any one).
        plates_file: A file of more entries, one a line (``#`` comments); a relative path is taken from the config
            file's folder. Read again when it changes.
        max_distance: Most single-character edits between a read plate and an entry that still match (1: one
            misread character still raises the alert).
        cameras: Cameras the list applies to (None: all).
        hours: Local times the list applies, e.g. ``"22:00-06:00"`` or ``"07:00-09:00,16:00-18:00"`` (None: always).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    plates: list[Annotated[str, AfterValidator(plate_entry)]] = []
    plates_file: Path | None = None
    max_distance: int = Field(1, ge=0, le=3)
    cameras: list[str] | None = None
    hours: str | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value

    @model_validator(mode="after")
    def _some_plates(self) -> "AlertListSpec":
        if not self.plates and self.plates_file is None:
            raise ValueError(f"alert list {self.name!r} needs plates or plates_file")
        return self


class WebSpec(StrictModel):
    """The live view in the browser (``docs/web.md``): the camera's frames with its plate reads and zones drawn,
    its last events and its heartbeat figures, served by ``anpr run``.

    Attributes:
        enabled: Serve it (``anpr run --web HOST:PORT`` switches it on too).
        host: Address to listen on; loopback unless the page is meant to be seen from other hosts.
        port: TCP port; the cameras of a multi-camera config serve on ``port``, ``port + 1``, ... in their order.
        token: Secret the page asks for: as the password of HTTP basic auth (any user name) or as a bearer token
            (``Authorization: Bearer TOKEN``). None: no login.
        fps: Most frames per second drawn and encoded for the page (it costs the camera's thread nothing: the
            web server's thread draws them).
        jpeg_quality: JPEG quality of those frames.
        max_width: Frames wider than this are shrunk to it for the page.
        events: Events listed on the page.
    """

    enabled: bool = False
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8080, ge=1, le=65535)
    token: str | None = Field(None, min_length=8)
    fps: float = Field(5.0, gt=0, le=30)
    jpeg_quality: int = Field(75, ge=10, le=100)
    max_width: int = Field(960, ge=160)
    events: int = Field(20, ge=1, le=200)


class AppConfig(StrictModel):
    """Everything the system reads from its config file.

    Attributes:
        cameras: Cameras run by one supervisor, one process each (empty: one camera given on the command line).
        alerts: Watch lists: plates that raise an ``alert`` message when read.
    """

    model: ModelSpec = ModelSpec()
    renderer: RendererSpec = RendererSpec()
    train: TrainSpec = TrainSpec()
    recognizer: RecognizerSpec = RecognizerSpec()
    gate: GateSpec = GateSpec()
    reader: ReaderSpec = ReaderSpec()
    read: ReadSpec = ReadSpec()
    scan: ScanSpec = ScanSpec()
    track: TrackSpec = TrackSpec()
    publish: PublishSpec = PublishSpec()
    source: SourceSpec = SourceSpec()
    cameras: list[CameraSpec] = []
    alerts: list[AlertListSpec] = []
    web: WebSpec = WebSpec()

    @model_validator(mode="after")
    def _read_formats_known(self) -> "AppConfig":
        known = [f.name for f in self.renderer.formats]
        for name in self.read.formats or []:
            if name not in known:
                raise ValueError(f"read.formats: {name!r} is not one of renderer.formats {known}")
        return self

    @model_validator(mode="after")
    def _positions_fit_formats(self) -> "AppConfig":
        """Reads are as long as the longest plate format the camera reads: ``model.positions`` is raised to it (the
        default formats hold plates of 8 and 9 characters), so that a longer plate is never cut at its end."""
        longest = max((len(symbols) for _, symbols, _ in weighted_patterns(self.format_check.formats)), default=0)
        if longest > self.model.positions:  # the model is frozen: set once, while the config is being built
            object.__setattr__(self, "model", self.model.model_copy(update={"positions": longest}))
        return self

    @property
    def format_check(self) -> FormatCheck:
        """The formats reads are flagged with (``read.formats`` of ``renderer.formats``), whether they constrain, and
        the fewest characters of a plate."""
        names = self.read.formats
        chosen = [f for f in self.renderer.formats if names is None or f.name in names]
        return FormatCheck(tuple(chosen), self.read.constrain, self.read.min_length, self.read.tie_break,
                           self.read.tie_ratio, self.read.readers_tie_weight)

    @model_validator(mode="after")
    def _cameras_valid(self) -> "AppConfig":
        names = [c.name for c in self.cameras]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"cameras: name {name!r} is used twice")
        lists = [a.name for a in self.alerts]
        for name in lists:
            if lists.count(name) > 1:
                raise ValueError(f"alerts: list name {name!r} is used twice")
        for index, camera in enumerate(self.cameras):
            try:
                self.camera_scan(camera)
            except ValidationError as error:
                raise ValueError(f"cameras.{index}.scan.{_describe(error)}") from None
        return self

    def camera(self, name: str) -> "CameraSpec | None":
        """The listed camera of that name, if any."""
        return next((c for c in self.cameras if c.name == name), None)

    def camera_scan(self, camera: CameraSpec) -> ScanSpec:
        """The ``scan`` section with a listed camera's own settings over it, validated.

        Raises:
            ValidationError: If the merged settings are invalid.
        """
        return ScanSpec.model_validate({**self.scan.model_dump(), **camera.scan})

    def for_camera(self, camera: CameraSpec) -> "AppConfig":
        """This config as one listed camera's process sees it: its name, its scan settings, its zones and its live
        view's port (``web.port`` plus the camera's place in ``cameras``)."""
        source = self.source.model_copy(update={"camera": camera.name, "zones": camera.zones or self.source.zones})
        web = self.web.model_copy(update={"port": self.web.port + self.cameras.index(camera)})
        return self.model_copy(update={"web": web, "scan": self.camera_scan(camera), "source": source})


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        if not key:  # a check across fields: its message names the key and value
            parts.append(item["msg"].removeprefix("Value error, "))
            continue
        parts.append(f"{key}={item.get('input')!r}: {item['msg']}")
    return "; ".join(parts)


def load_config(path: Path | None = None) -> AppConfig:
    """Loads and validates a config file.

    Args:
        path: YAML file; ``configs/default.yaml`` when None.

    Returns:
        The validated config.

    Raises:
        ConfigError: If the file is missing, is not YAML, or has unknown keys or bad values.
    """
    path = path or DEFAULT_CONFIG
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config {path} is not valid YAML: {str(error).splitlines()[0]}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of sections, got {type(data).__name__}")
    try:
        return AppConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"config {path}: {_describe(error)}") from error


def resolve(path: Path) -> Path:
    """A config path made absolute: relative paths are taken from :data:`PACKAGE_ROOT` (the repository root)."""
    return path if path.is_absolute() else PACKAGE_ROOT / path
