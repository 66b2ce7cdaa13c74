"""Following plates across frames and deciding when a vehicle's plate is final."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from detector.geometry import centre_distance, iou
from detector.voting import votes_by_length
from recognizer.decode import FormatCheck, Reading, decode
from recognizer.spec import ModelSpec
from stream.config import TrackSpec
from stream.direction import Direction, track_direction
from stream.events import PlateRead

log = logging.getLogger(__name__)


def extrapolate_boxes(before: np.ndarray, last: np.ndarray, before_s: np.ndarray, last_s: np.ndarray,
                      time_s: float) -> np.ndarray:
    """Boxes moved on at constant velocity to a later time.

    Args:
        before: ``(T, 4)`` boxes ``[x, y, w, h]`` of each track's second-last read.
        last: ``(T, 4)`` boxes of its last read.
        before_s: ``(T,)`` times of the second-last reads.
        last_s: ``(T,)`` times of the last reads; where equal to ``before_s`` the box stays where it was.
        time_s: The time to extrapolate to.

    Returns:
        ``(T, 4)`` boxes: ``last`` with its corner moved by the velocity between the two reads times the time since
        the last; width and height are kept.
    """
    gap = np.where(last_s > before_s, last_s - before_s, np.inf)
    velocity = (last[:, :2] - before[:, :2]) / gap[:, None]
    moved = last.copy()
    moved[:, :2] += velocity * np.maximum(time_s - last_s, 0.0)[:, None]
    return moved


@dataclass(frozen=True)
class FinishedTrack:
    """A track that ended and passed the publishing thresholds.

    Attributes:
        track_id: Tracker-local id.
        reading: The voted reading.
        first_s: Stream time of its first read.
        last_s: Stream time of its last read.
        frames: Number of reads.
        best: The read with the highest presence.
        direction: How its plate moved over the track (:func:`~stream.direction.track_direction`).
        zone: The zone most of its reads lie in (None: the camera has no zones).
    """

    track_id: int
    reading: Reading
    first_s: float
    last_s: float
    frames: int
    best: PlateRead
    direction: Direction
    zone: str | None = None


@dataclass
class _Track:
    """A live track: its reads, of which only the most present (``best``, the first on a tie) keeps its snapshot
    crops, so that a long track holds one frame's crops, not every frame's."""

    track_id: int
    reads: list[PlateRead] = field(default_factory=list)
    best: int = 0

    @property
    def last(self) -> PlateRead:
        return self.reads[-1]

    def add(self, read: PlateRead) -> None:
        """Appends a read, moving the snapshot crops to it if it is the most present so far."""
        if read.presence > self.reads[self.best].presence:
            self.reads[self.best] = replace(self.reads[self.best], plate_crop=None, vehicle_crop=None)
            self.best = len(self.reads)
        else:
            read = replace(read, plate_crop=None, vehicle_crop=None)
        self.reads.append(read)


class Tracker:
    """Associates reads into tracks and votes each track's text when it ends.

    Args:
        spec: Matching and publishing thresholds.
        model: Alphabet for decoding.
        check: Plate formats to flag reads with, and whether they constrain the reading.
    """

    def __init__(self, spec: TrackSpec, model: ModelSpec, check: FormatCheck = FormatCheck()) -> None:
        self.spec = spec
        self.model = model
        self.check = check
        self._live: list[_Track] = []
        self._next_id = 1

    def boxes_at(self, time_s: float) -> np.ndarray:
        """``(T, 4)`` boxes where the live tracks are expected at a stream time: each last box moved on at the
        speed between the track's last two reads (:func:`extrapolate_boxes`)."""
        pairs = [(t.reads[-2] if len(t.reads) > 1 else t.last, t.last) for t in self._live]
        before = np.array([b.box for b, _ in pairs], np.float64).reshape(-1, 4)
        last = np.array([a.box for _, a in pairs], np.float64).reshape(-1, 4)
        times = np.array([(b.time_s, a.time_s) for b, a in pairs], np.float64).reshape(-1, 2)
        return extrapolate_boxes(before, last, times[:, 0], times[:, 1], time_s)

    def update(self, reads: list[PlateRead], now_s: float) -> list[FinishedTrack]:
        """Adds one frame's reads and ends tracks not seen for ``max_age_s``.

        Args:
            reads: The frame's reads.
            now_s: The frame's stream time.

        Returns:
            Tracks that ended now and qualify for publishing, oldest first.
        """
        self._associate(sorted(reads, key=lambda r: -r.presence), now_s)
        ended = [t for t in self._live if now_s - t.last.time_s > self.spec.max_age_s]
        self._live = [t for t in self._live if t not in ended]
        return self._finish(ended)

    def flush(self) -> list[FinishedTrack]:
        """Ends every live track (end of stream or shutdown)."""
        ended, self._live = self._live, []
        return self._finish(ended)

    def _associate(self, reads: list[PlateRead], now_s: float) -> None:
        """Links each read, most present first, to the free live track it overlaps most (or lies nearest to) where
        that track is expected now; a read that fits none starts a track."""
        if not reads:
            return
        boxes = np.array([r.box for r in reads], np.float64)
        track_boxes = self.boxes_at(now_s)
        overlap = iou(boxes, track_boxes)
        distance = centre_distance(boxes, track_boxes) / np.maximum(track_boxes[:, 2], 1.0)[None, :]
        since = np.array([now_s - t.last.time_s for t in self._live], np.float64)
        reach = self.spec.match_distance + self.spec.match_speed * np.maximum(since, 0.0)
        used: set[int] = set()
        for i, read in enumerate(reads):
            choice = None
            if len(track_boxes):
                score = np.where((overlap[i] >= self.spec.match_iou) | (distance[i] <= reach),
                                 overlap[i] - 0.01 * distance[i], -np.inf)
                score[list(used)] = -np.inf
                best = int(np.argmax(score))
                if np.isfinite(score[best]):
                    choice = best
            if choice is None:
                self._live.append(_Track(self._next_id, [read]))
                self._next_id += 1
            else:
                used.add(choice)
                self._live[choice].add(read)

    def _reading(self, track: _Track) -> Reading | None:
        """The track's voted reading: its most-read length's vote if sure enough (``spec.min_confidence``), else
        the first other length's vote of enough reads that is ``spec.other_length_confidence`` sure; None if none."""
        votes = votes_by_length(np.stack([r.chars for r in track.reads]), np.array([r.presence for r in track.reads]))
        first = decode(votes[0].chars, self.model, self.check)
        if first.confidence >= self.spec.min_confidence and first.text:
            return first
        if self.spec.other_length_confidence is not None:
            for other in (v for v in votes[1:] if v.reads >= self.spec.min_reads):
                reading = decode(other.chars, self.model, self.check)
                if reading.confidence >= self.spec.other_length_confidence and reading.text:
                    log.debug("track %d: %r at %.2f for the unsure %r", track.track_id, reading.text,
                              reading.confidence, first.text)
                    return reading
        log.debug("track %d dropped: %r at %.2f", track.track_id, first.text, first.confidence)
        return None

    def _finish(self, tracks: list[_Track]) -> list[FinishedTrack]:
        finished = []
        for track in sorted(tracks, key=lambda t: t.reads[0].time_s):
            if len(track.reads) < self.spec.min_reads:
                continue
            reading = self._reading(track)
            if reading is None:
                continue
            best = track.reads[track.best]
            direction = track_direction(np.array([r.box for r in track.reads]), np.array([r.time_s for r in track.reads]),
                                        self.spec.direction_min_shift, self.spec.direction_min_growth)
            zones = [r.zone for r in track.reads]
            finished.append(FinishedTrack(track.track_id, reading, track.reads[0].time_s, track.last.time_s,
                                          len(track.reads), best, direction, max(zones, key=zones.count)))
        return finished
