"""What the system publishes, and the wire format of its messages.

Publishing (:mod:`stream.publisher`) is ZeroMQ PUB/SUB. Every message is three frames::

    [topic, seq, JSON]

``topic`` (UTF-8) names the message; ``seq`` (decimal ASCII) numbers the messages of that topic from 1 within the
publisher's epoch; ``JSON`` is one compact UTF-8 JSON object, the message's fields in the order listed here, each
message's ``type`` being its topic. ``null`` stands for a missing value; a nested record is an object, a list an
array. A subscriber should ignore fields it does not know: later versions add fields at the end.

Topics and fields:

``plate`` (:class:`PlateEvent`): one vehicle's plate, sent once when its track ends; journaled, and replayed to
subscribers that missed it.
    type: ``plate``.
    epoch: The publisher's epoch (new at every start).
    seq: Sequence number of plate events within the epoch, from 1 (the same as the frame's ``seq``).
    camera: Camera name from config or ``--camera``.
    plate: Voted plate text.
    confidence: Probability of the voted text.
    char_confidences: Probability of each character of ``plate``.
    candidates: Next-best texts, best first, as ``{"plate": text, "confidence": probability}``.
    first_seen: ISO 8601 UTC time of the first frame with the plate.
    last_seen: ISO 8601 UTC time of the last frame with the plate.
    frames: Number of frames the plate was read in.
    box: ``[x, y, w, h]`` of the plate in its best frame (pixels).
    best_frame: Index of that frame.
    plate_format: Configured format the text fits, or null.
    source: The source the frames came from.
    plate_image: File name of the plate's JPEG in the snapshot folder, or null.
    vehicle_image: File name of the vehicle's JPEG in the snapshot folder, or null.
    constrained: Whether the formats changed ``plate`` (``read.tie_break``, ``read.constrain``): the network's
        likeliest text fit no configured format, or only a rarer one, and is among ``candidates``.
    zone: Name of the camera's zone the plate was read in (null: the camera has no zones).
    zone_event: ``entering`` or ``leaving`` when that zone names an ``entry`` direction and the plate moved
        with it or against it; else null.
    direction: How the plate moved in the image over its track, as ``{"angle", "labels", "velocity", "growth"}``
        (:class:`stream.direction.Direction`), or null.
    speed_px_s: Speed of the plate's centre in frame pixels per second, or null.
    alerts: The watch lists the plate matched, each as ``{"list", "entry", "distance"}`` (:class:`AlertMatch`;
        empty: none).

``alert`` (:class:`Alert`): a plate on a watch list, sent beside its plate event; journaled and replayed.
    type: ``alert``.
    epoch: The publisher's epoch.
    seq: Sequence number of alerts within the epoch, from 1.
    camera: Camera name.
    list: The watch list's name.
    entry: The list's entry the plate matched, as written (a plate or a pattern).
    distance: Character edits between the plate and the entry (0: exact).
    plate: The plate as read.
    plate_seq: Sequence number of the plate event (topic ``plate``) that raised the alert.
    confidence: Probability of the plate's text.
    first_seen: ISO 8601 UTC time of the first frame with the plate.
    last_seen: ISO 8601 UTC time of the last frame with the plate.
    plate_image: File name of the plate's JPEG in the snapshot folder, or null.
    vehicle_image: File name of the vehicle's JPEG in the snapshot folder, or null.

``read`` (:class:`Read`): one plate read in one frame, before tracking (only with ``publish.reads``).
    type: ``read``.
    camera: Camera name.
    frame: Frame index.
    plate: Best reading of this frame alone.
    confidence: Its probability.
    box: ``[x, y, w, h]`` of the plate in the frame (pixels).
    plate_format: Configured format ``plate`` fits, or null.

``heartbeat`` (:class:`Heartbeat`): the camera's figures, every ``publish.heartbeat_s`` seconds.
    type: ``heartbeat``.
    camera: Camera name.
    frames_read: Frames decoded from the source so far.
    frames_processed: Frames scanned and read so far.
    frames_dropped: Frames replaced by a newer one before processing (live sources and real-time replays only).
    frames_skipped: Corrupt or unreadable frames skipped.
    reconnects: Times a live source was reopened.
    fps: Frames processed per second since the start.
    queue_depth: Frames waiting between capture and processing.
    replay_alive: Whether the camera's replay server is serving (null: the run serves none).

Adding a field is one line in its class (with a default, so that older JSON still reads) and one here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any, ClassVar, TypeVar

import numpy as np
from pydantic import TypeAdapter

from stream.direction import Direction


M = TypeVar("M", bound="WireMessage")


class WireMessage:
    """What every published message shares: its topic, and its JSON both ways."""

    topic: ClassVar[str]

    def to_json(self) -> str:
        """The message as one line of compact JSON, its fields in order."""
        return json.dumps(asdict(self), separators=(",", ":"))  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[M], body: str | bytes | dict[str, Any]) -> M:
        """The message from its JSON text, or from that text already decoded (fields it does not know are
        ignored; those it lacks take their defaults).

        Raises:
            ValueError: If the JSON does not fit the message (:class:`pydantic.ValidationError`).
        """
        return _adapter(cls).validate_python(body if isinstance(body, dict) else json.loads(body))


@cache
def _adapter(cls: type[M]) -> TypeAdapter[M]:
    """Checks and converts JSON values into a message class (built once per class)."""
    return TypeAdapter(cls)


@dataclass(frozen=True)
class PlateRead:
    """One plate candidate read in one frame.

    Attributes:
        frame: Frame index.
        time_s: Stream time of the frame.
        box: ``(x, y, w, h)`` in frame pixels.
        presence: Presence probability.
        chars: ``(P, C)`` character probabilities.
        text: Best reading of this frame alone.
        confidence: Its probability.
        plate_crop: ``(h, w, 3)`` image of the plate, when snapshots are kept.
        vehicle_crop: ``(h, w, 3)`` image of the vehicle around it, when snapshots are kept.
        zone: Name of the camera's zone the plate's centre lies in; None when the camera has no zones.
        plate_format: Name of the configured format ``text`` fits, or None.
    """

    frame: int
    time_s: float
    box: tuple[float, float, float, float]
    presence: float
    chars: np.ndarray
    text: str
    confidence: float
    plate_crop: np.ndarray | None = None
    vehicle_crop: np.ndarray | None = None
    zone: str | None = None
    plate_format: str | None = None


@dataclass(frozen=True)
class AlertMatch:
    """A watch list a plate matched (``stream/alerts.py``).

    Attributes:
        list: The list's name.
        entry: The list's entry it matched, as written (a plate or a pattern).
        distance: Character edits between the plate and the entry (0: exact).
    """

    list: str
    entry: str
    distance: int


@dataclass(frozen=True, kw_only=True)
class PlateEvent(WireMessage):
    """One vehicle's plate, published once when its track ends: topic ``plate``, fields as in the module
    docstring."""

    topic: ClassVar[str] = "plate"

    type: str = "plate"
    epoch: str
    seq: int
    camera: str
    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[dict[str, float | str]]
    first_seen: str
    last_seen: str
    frames: int
    box: list[int]
    best_frame: int
    plate_format: str | None
    source: str
    plate_image: str | None = None
    vehicle_image: str | None = None
    constrained: bool = False
    zone: str | None = None
    zone_event: str | None = None
    direction: Direction | None = None
    speed_px_s: float | None = None
    alerts: tuple[AlertMatch, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Alert(WireMessage):
    """A plate on a watch list: topic ``alert``, fields as in the module docstring."""

    topic: ClassVar[str] = "alert"

    type: str = "alert"
    epoch: str
    seq: int
    camera: str
    list: str
    entry: str
    distance: int
    plate: str
    plate_seq: int
    confidence: float
    first_seen: str
    last_seen: str
    plate_image: str | None = None
    vehicle_image: str | None = None

    @classmethod
    def of(cls, event: PlateEvent, match: AlertMatch, seq: int) -> "Alert":
        """The alert a plate event raises on one list."""
        return cls(epoch=event.epoch, seq=seq, camera=event.camera, list=match.list, entry=match.entry,
                   distance=match.distance, plate=event.plate, plate_seq=event.seq, confidence=event.confidence,
                   first_seen=event.first_seen, last_seen=event.last_seen, plate_image=event.plate_image,
                   vehicle_image=event.vehicle_image)


@dataclass(frozen=True, kw_only=True)
class Read(WireMessage):
    """One plate read in one frame, before tracking: topic ``read``, fields as in the module docstring."""

    topic: ClassVar[str] = "read"

    type: str = "read"
    camera: str
    frame: int
    plate: str
    confidence: float
    box: list[int]
    plate_format: str | None = None

    @classmethod
    def of(cls, read: PlateRead, camera: str) -> "Read":
        """The message of a camera's read."""
        return cls(camera=camera, frame=read.frame, plate=read.text, confidence=round(read.confidence, 4),
                   box=[int(round(v)) for v in read.box], plate_format=read.plate_format)


@dataclass(frozen=True, kw_only=True)
class Heartbeat(WireMessage):
    """A camera's figures, sent every ``publish.heartbeat_s``: topic ``heartbeat``, fields as in the module
    docstring."""

    topic: ClassVar[str] = "heartbeat"

    type: str = "heartbeat"
    camera: str
    frames_read: int
    frames_processed: int
    frames_dropped: int
    frames_skipped: int
    reconnects: int
    fps: float
    queue_depth: int
    replay_alive: bool | None = None


MESSAGES: dict[str, type[WireMessage]] = {m.topic: m for m in (PlateEvent, Alert, Read, Heartbeat)}
"""The message class of each topic."""

TOPICS = tuple(MESSAGES)
"""Every topic a publisher sends."""


def decode(topic: str, body: str | bytes | dict[str, Any]) -> WireMessage:
    """The typed message of a topic from its JSON (fields it does not know are ignored).

    Raises:
        ValueError: If the topic is unknown or the JSON does not fit its message.
    """
    if topic not in MESSAGES:
        raise ValueError(f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
    return MESSAGES[topic].from_json(body)


def iso_utc(epoch_s: float) -> str:
    """ISO 8601 UTC timestamp with milliseconds, e.g. ``2026-11-24T10:00:00.123Z``."""
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
