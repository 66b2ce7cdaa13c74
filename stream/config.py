"""The one application config: a pydantic model loaded once from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from detector.spec import ScanSpec
from recognizer.decode import FormatCheck
from recognizer.spec import GateSpec, ModelSpec, ReadSpec, RecognizerSpec, RendererSpec, StrictModel, TrainSpec

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
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
        match_iou: Least box overlap that links a read to a live track.
        match_distance: Or: greatest centre distance, in plate widths, from where the track is expected to be (its
            last box moved on at its last speed) that links a read to it.
        match_speed: Plate widths per second the allowed distance grows by with the time since the track's last
            read, for a plate that sped up or was seen once (live cameras drop frames; plates jump between reads).
    """

    max_age_s: float = Field(1.0, gt=0)
    min_reads: int = Field(2, ge=1)
    min_confidence: float = Field(0.1, ge=0, le=1)
    match_iou: float = Field(0.1, ge=0, le=1)
    match_distance: float = Field(1.5, gt=0)
    match_speed: float = Field(3.0, ge=0)


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


class PublishSpec(StrictModel):
    """Where events go.

    Attributes:
        endpoint: ZeroMQ PUB endpoint to bind (a multi-camera supervisor binds its XPUB here).
        replay_endpoint: ZeroMQ REP endpoint serving missed events from the journal.
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
    """

    camera: str = "cam0"
    reconnect_initial_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(10.0, gt=0)
    stall_s: float = Field(5.0, gt=0)
    max_pixels: int = Field(4096 * 4096, gt=0)


class CameraSpec(StrictModel):
    """One camera of a multi-camera config: ``anpr run --config FILE`` runs each in a process of its own.

    Attributes:
        name: Camera name put in its events.
        source: Camera index, rtsp/http URL, video file, image or folder of images.
        realtime: Replay a file source as a live camera: at its frame rate, dropping frames it cannot keep up with.
        scan: The ``scan`` settings that differ for this camera (e.g. its plate widths).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    source: str = Field(min_length=1)
    realtime: bool = False
    scan: dict[str, Any] = {}

    @field_validator("source", mode="before")
    @classmethod
    def _index_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class AppConfig(StrictModel):
    """Everything the system reads from its config file.

    Attributes:
        cameras: Cameras run by one supervisor, one process each (empty: one camera given on the command line).
    """

    model: ModelSpec = ModelSpec()
    renderer: RendererSpec = RendererSpec()
    train: TrainSpec = TrainSpec()
    recognizer: RecognizerSpec = RecognizerSpec()
    gate: GateSpec = GateSpec()
    read: ReadSpec = ReadSpec()
    scan: ScanSpec = ScanSpec()
    track: TrackSpec = TrackSpec()
    publish: PublishSpec = PublishSpec()
    source: SourceSpec = SourceSpec()
    cameras: list[CameraSpec] = []

    @model_validator(mode="after")
    def _read_formats_known(self) -> "AppConfig":
        known = [f.name for f in self.renderer.formats]
        for name in self.read.formats or []:
            if name not in known:
                raise ValueError(f"read.formats: {name!r} is not one of renderer.formats {known}")
        return self

    @property
    def format_check(self) -> FormatCheck:
        """The formats reads are flagged with (``read.formats`` of ``renderer.formats``), whether they constrain, and
        the fewest characters of a plate."""
        names = self.read.formats
        chosen = [f for f in self.renderer.formats if names is None or f.name in names]
        return FormatCheck(tuple(chosen), self.read.constrain, self.read.min_length)

    @model_validator(mode="after")
    def _cameras_valid(self) -> "AppConfig":
        names = [c.name for c in self.cameras]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"cameras: name {name!r} is used twice")
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
        """This config as one listed camera's process sees it: its name and its scan settings."""
        source = self.source.model_copy(update={"camera": camera.name})
        return self.model_copy(update={"scan": self.camera_scan(camera), "source": source})


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
    """A config path made absolute: relative paths are taken from the repository root."""
    return path if path.is_absolute() else DEFAULT_CONFIG.parent.parent / path
