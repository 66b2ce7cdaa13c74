"""What the system publishes: per-frame reads and one event per vehicle."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np


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


@dataclass(frozen=True)
class PlateEvent:
    """One vehicle's plate, published once when its track ends.

    Attributes:
        type: Always ``plate``.
        epoch: The publisher's epoch (new at every start).
        seq: Publisher sequence number of plate events within the epoch, from 1.
        camera: Camera name from config or ``--camera``.
        plate: Voted plate text.
        confidence: Probability of the voted text.
        char_confidences: Probability of each character of ``plate``.
        candidates: Next-best texts with probabilities, best first.
        first_seen: ISO 8601 UTC time of the first frame with the plate.
        last_seen: ISO 8601 UTC time of the last frame with the plate.
        frames: Number of frames the plate was read in.
        box: ``[x, y, w, h]`` of the plate in its best frame (pixels).
        best_frame: Index of that frame.
        plate_format: Configured format the text fits, or None.
        source: The source the frames came from.
        plate_image: File name of the plate's JPEG in the snapshot folder, or None.
        vehicle_image: File name of the vehicle's JPEG in the snapshot folder, or None.
        constrained: Whether ``plate`` was read under a format constraint (``read.constrain``): the network's
            likeliest text fit no configured format and is among ``candidates``.
    """

    type: str
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

    def to_json(self) -> str:
        """The event as one line of JSON."""
        return json.dumps(asdict(self), separators=(",", ":"))


def iso_utc(epoch_s: float) -> str:
    """ISO 8601 UTC timestamp with milliseconds, e.g. ``2026-11-24T10:00:00.123Z``."""
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
