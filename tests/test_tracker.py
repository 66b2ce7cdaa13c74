import numpy as np

from recognizer.spec import ModelSpec
from stream.config import TrackSpec
from stream.events import PlateRead
from stream.tracker import Tracker

SMALL = ModelSpec(alphabet="AB0", positions=3)


def probs(text: str, sure: float = 0.9) -> np.ndarray:
    p = np.full((3, 4), (1 - sure) / 3)
    for i in range(3):
        p[i, SMALL.alphabet.index(text[i]) if i < len(text) else 3] = sure
    return p


def read(frame: int, x: float, text: str, presence: float = 0.99) -> PlateRead:
    return PlateRead(frame, frame * 0.1, (x, 50.0, 90.0, 30.0), presence, probs(text), text, 0.7)


def test_one_vehicle_one_event_with_minority_misread():
    tracker = Tracker(TrackSpec(max_age_s=0.5, min_reads=2), SMALL)
    finished = []
    for f, text in enumerate(["AB0", "AB0", "BB0", "AB0", "AA0"]):
        finished += tracker.update([read(f, 10.0 + 8 * f, text)], f * 0.1)
    assert finished == []
    finished += tracker.update([], 2.0)
    assert len(finished) == 1
    track = finished[0]
    assert track.reading.text == "AB0" and track.frames == 5
    assert track.first_s == 0.0 and abs(track.last_s - 0.4) < 1e-9


def test_two_plates_in_one_frame_make_two_tracks():
    tracker = Tracker(TrackSpec(max_age_s=0.5, min_reads=2), SMALL)
    for f in range(3):
        tracker.update([read(f, 10.0 + 5 * f, "AB0"), read(f, 400.0 - 5 * f, "BA0")], f * 0.1)
    finished = tracker.flush()
    assert sorted(t.reading.text for t in finished) == ["AB0", "BA0"]


def test_fleeting_hit_is_not_published():
    tracker = Tracker(TrackSpec(max_age_s=0.5, min_reads=2), SMALL)
    tracker.update([read(0, 10.0, "AB0")], 0.0)
    assert tracker.update([], 1.0) == []


def test_unsure_track_is_not_published():
    tracker = Tracker(TrackSpec(max_age_s=0.5, min_reads=1, min_confidence=0.5), SMALL)
    unsure = PlateRead(0, 0.0, (0.0, 0.0, 90.0, 30.0), 0.99, np.full((3, 4), 0.25), "", 0.0)
    tracker.update([unsure], 0.0)
    assert tracker.flush() == []


def test_far_apart_reads_do_not_join():
    tracker = Tracker(TrackSpec(max_age_s=5, min_reads=1), SMALL)
    tracker.update([read(0, 0.0, "AB0")], 0.0)
    tracker.update([read(1, 600.0, "AB0")], 0.1)
    assert len(tracker.flush()) == 2


def test_extrapolate_boxes_moves_at_last_speed():
    from stream.tracker import extrapolate_boxes

    before = np.array([[0.0, 10.0, 90.0, 30.0], [5.0, 5.0, 50.0, 20.0]])
    last = np.array([[20.0, 10.0, 90.0, 30.0], [5.0, 5.0, 50.0, 20.0]])
    moved = extrapolate_boxes(before, last, np.array([0.0, 0.5]), np.array([0.1, 0.5]), 0.4)
    np.testing.assert_allclose(moved, [[80.0, 10.0, 90.0, 30.0], [5.0, 5.0, 50.0, 20.0]])


def test_plate_jumping_between_dropped_frames_stays_one_track():
    # A live camera processed every 6th frame: the plate moves 40 px a frame, 240 px (2.7 plate widths) a read.
    tracker = Tracker(TrackSpec(max_age_s=1.0, min_reads=2), SMALL)
    for f in range(0, 30, 6):
        tracker.update([read(f, 40.0 * f, "AB0")], f * 0.1)
    assert [t.frames for t in tracker.flush()] == [5]


def test_far_jump_soon_after_a_read_is_a_new_track():
    tracker = Tracker(TrackSpec(max_age_s=5, min_reads=1), SMALL)
    tracker.update([read(0, 0.0, "AB0")], 0.0)
    tracker.update([read(1, 300.0, "AB0")], 0.1)
    assert len(tracker.flush()) == 2


def candidate(text: str, box: tuple[float, float, float, float] = (10.0, 20.0, 90.0, 30.0)):
    """A scanner's candidate that reads ``text`` surely, with the default config's alphabet and positions."""
    from detector.types import Candidate
    from stream.config import AppConfig

    model = AppConfig().model
    chars = np.full((model.positions, model.classes), 0.01)
    for i in range(model.positions):
        chars[i, model.alphabet.index(text[i]) if i < len(text) else model.classes - 1] = 1.0
    return Candidate(box, 0.99, chars / chars.sum(axis=-1, keepdims=True), 3)


def test_readings_shorter_than_a_plate_are_not_reads():
    from stream.config import AppConfig
    from stream.frames import to_reads

    config = AppConfig()
    reads = to_reads([candidate("H"), candidate("AB12"), candidate("TS5"), candidate("AB12CDE")], config, 7, 0.3)
    assert [r.text for r in reads] == ["AB12", "AB12CDE"]
    assert config.model_copy(update={"read": config.read.model_copy(update={"min_length": 1})}).format_check.min_length == 1


def test_text_on_a_plate_that_fits_no_format_is_not_a_plate():
    """A city line read inside a Brazilian plate's box (as in ``openalpr_br``) is dropped; the same text alone,
    inside a box whose reading fits no format either, or half as tall as the box around it, is kept."""
    from stream.config import AppConfig
    from stream.frames import to_reads

    config = AppConfig()
    plate, city_line = (224.0, 333.0, 775.0, 280.0), (506.0, 377.0, 217.0, 49.0)
    texts = lambda candidates: [r.text for r in to_reads(candidates, config, 0, 0.0)]
    assert texts([candidate("JGZ3298", plate), candidate("DFBRASLIA", city_line)]) == ["JGZ3298"]
    assert texts([candidate("DFBRASLIA", city_line)]) == ["DFBRASLIA"]
    assert texts([candidate("1H1H1H1H1", plate), candidate("DFBRASLIA", city_line)]) == ["1H1H1H1H1", "DFBRASLIA"]
    # a plate (NEILDMND, 8 characters, fitting no default format) inside a large false read that fits one
    assert texts([candidate("CD07", (714.0, 584.0, 574.0, 232.0)), candidate("NEILDMND", (841.0, 666.0, 227.0, 113.0))]) \
        == ["CD07", "NEILDMND"]
    # a read that fits a format is kept wherever it lies
    assert texts([candidate("JGZ3298", plate), candidate("ABC1234", city_line)]) == ["JGZ3298", "ABC1234"]


def test_only_the_most_present_read_of_a_live_track_keeps_its_snapshot_crops():
    """A long track holds one frame's snapshot crops, not every frame's; the event's snapshot is the most present
    read's (the first on a tie)."""
    tracker = Tracker(TrackSpec(max_age_s=0.5, min_reads=2), SMALL)
    presences = [0.90, 0.97, 0.95, 0.97, 0.92]
    for f, presence in enumerate(presences):
        snapshot = np.full((4, 4, 3), f, np.uint8)
        tracker.update([PlateRead(f, f * 0.1, (10.0 + 8 * f, 50.0, 90.0, 30.0), presence, probs("AB0"), "AB0", 0.7,
                                  plate_crop=snapshot, vehicle_crop=snapshot)], f * 0.1)
        [live] = tracker._live
        assert sum(r.plate_crop is not None for r in live.reads) == 1
        assert sum(r.vehicle_crop is not None for r in live.reads) == 1
    [track] = tracker.flush()
    assert track.best.frame == 1 and track.best.presence == 0.97
    assert (track.best.plate_crop == 1).all() and (track.best.vehicle_crop == 1).all()


def unsure_long_read(frame: int, x: float) -> PlateRead:
    """A read of three characters none of which it is sure of (a plate's mark read as a character)."""
    p = np.array([[0.4, 0.3, 0.2, 0.1], [0.3, 0.4, 0.2, 0.1], [0.2, 0.3, 0.4, 0.1]])
    return PlateRead(frame, frame * 0.1, (x, 50.0, 90.0, 30.0), 0.99, p, "AB0", 0.0)


def sure_short_read(frame: int, x: float, sure: float = 0.95) -> PlateRead:
    return PlateRead(frame, frame * 0.1, (x, 50.0, 90.0, 30.0), 0.99, probs("B0", sure), "B0", 0.9)


def track_of(reads: list[PlateRead], spec: TrackSpec) -> list[str]:
    tracker = Tracker(spec, SMALL)
    for r in reads:
        tracker.update([r], r.time_s)
    return [t.reading.text for t in tracker.flush()]


def test_a_track_unsure_at_its_most_read_length_takes_a_sure_vote_of_another():
    spec = TrackSpec(max_age_s=0.5, min_reads=3, min_confidence=0.5, other_length_confidence=0.5)
    long_reads = [unsure_long_read(f, 10.0 + 2 * f) for f in range(5)]
    short = [sure_short_read(f, 20.0 + 2 * f) for f in range(5, 8)]
    assert track_of(long_reads + short, spec) == ["B0"]
    assert track_of(long_reads + short[:2], spec) == []  # too few reads of that length
    assert track_of(long_reads + [sure_short_read(f, 20.0 + 2 * f, sure=0.7) for f in range(5, 8)], spec) == []
    assert track_of(long_reads + short, spec.model_copy(update={"other_length_confidence": None})) == []
