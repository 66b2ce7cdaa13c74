"""The one application config: a pydantic model loaded once from YAML."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator

from detector.spec import ScanSpec
from recognizer.spec import ModelSpec, RecognizerSpec, RendererSpec, StrictModel, TrainSpec

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
        match_distance: Or: greatest centre distance, in plate widths, that links a read to a track.
    """

    max_age_s: float = Field(1.0, gt=0)
    min_reads: int = Field(2, ge=1)
    min_confidence: float = Field(0.1, ge=0, le=1)
    match_iou: float = Field(0.1, ge=0, le=1)
    match_distance: float = Field(1.5, gt=0)


class PublishSpec(StrictModel):
    """Where events go.

    Attributes:
        endpoint: ZeroMQ PUB endpoint to bind.
        replay_endpoint: ZeroMQ REP endpoint serving missed events from the journal.
        reads: Also publish per-frame reads on topic ``read``.
        heartbeat_s: Seconds between heartbeats.
        journal: SQLite file every plate event is written to before it is published (``~`` expands).
        snapshot_quota_mb: Disk quota of the JPEG crops of each event's plate and vehicle, kept in
            ``snapshots/`` beside the journal, oldest deleted first; 0 keeps none.
    """

    endpoint: str = "tcp://127.0.0.1:5556"
    replay_endpoint: str = "tcp://127.0.0.1:5557"
    reads: bool = False
    heartbeat_s: float = Field(1.0, gt=0)
    journal: Path = Path("~/.local/share/anpr/events.db")
    snapshot_quota_mb: float = Field(500.0, ge=0)

    @field_validator("endpoint", "replay_endpoint")
    @classmethod
    def _zmq_endpoint(cls, value: str) -> str:
        if not value.startswith(("tcp://", "ipc://", "inproc://")):
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


class AppConfig(StrictModel):
    """Everything the system reads from its config file."""

    model: ModelSpec = ModelSpec()
    renderer: RendererSpec = RendererSpec()
    train: TrainSpec = TrainSpec()
    recognizer: RecognizerSpec = RecognizerSpec()
    scan: ScanSpec = ScanSpec()
    track: TrackSpec = TrackSpec()
    publish: PublishSpec = PublishSpec()
    source: SourceSpec = SourceSpec()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        value = item.get("input")
        parts.append(f"{key}={value!r}: {item['msg']}")
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
