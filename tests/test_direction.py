"""Direction of travel: the pure function over a track's boxes, entering/leaving a zone, and every demo event
against the clip's known motion."""

import math

import numpy as np
import pytest

from conftest import DEMO, anpr, events
from recognizer.synth.clip import load_truth
from stream.config import DEMO_CONFIG
from stream.direction import Direction, least_squares_slopes, track_direction, zone_event

TIMES = np.array([0.0, 0.1, 0.2, 0.3])


def test_least_squares_slopes_per_column():
    values = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0], [6.5, 5.0]])
    assert least_squares_slopes(np.array([0.0, 1.0, 2.0, 3.0]), values) == pytest.approx([2.15, 0.0])


def test_a_plate_moving_right_at_a_steady_speed():
    boxes = np.array([[0, 100, 100, 20], [30, 100, 100, 20], [60, 100, 100, 20], [90, 100, 100, 20]])
    d = track_direction(boxes, TIMES)
    assert d.labels == ("right",)
    assert d.angle == 0.0 and d.velocity == (300.0, 0.0) and d.speed_px_s == 300.0 and d.growth == 0.0


def test_up_and_left_in_image_coordinates():
    boxes = np.array([[90, 90, 50, 10], [60, 60, 50, 10], [30, 30, 50, 10], [0, 0, 50, 10]])
    d = track_direction(boxes, TIMES)
    assert d.labels == ("left", "up")
    assert d.angle == 135.0  # counter-clockwise from the right: up-left
    assert d.speed_px_s == pytest.approx(300 * math.sqrt(2), abs=0.1)


def test_the_lesser_axis_is_named_only_when_at_least_half_the_greater():
    boxes = np.array([[0, 0, 50, 10], [0, 40, 50, 10], [0, 80, 50, 10], [10, 120, 50, 10]])  # mostly down
    d = track_direction(boxes, TIMES)
    assert d.labels == ("down",)
    assert 260 < d.angle < 280


def test_a_growing_plate_approaches_and_a_shrinking_one_recedes():
    growing = np.array([[100, 100, 40, 10], [98, 99, 44, 11], [96, 98, 48, 12], [94, 97, 52, 13]])  # centre still
    d = track_direction(growing, TIMES)
    assert d.labels == ("approaching",) and d.angle is None and d.growth == pytest.approx(0.3, abs=0.02)
    assert track_direction(growing[::-1], TIMES).labels == ("receding",)


def test_a_still_or_single_read_plate_has_no_direction():
    still = np.array([[100, 100, 50, 10], [101, 100, 50, 10], [100, 101, 50, 10], [100, 100, 50, 10]])
    d = track_direction(still, TIMES)
    assert d.labels == () and d.angle is None
    single = track_direction(still[:1], TIMES[:1])
    assert single == Direction(None, (), (0.0, 0.0), 0.0)


def test_least_squares_ignore_one_jittered_box():
    boxes = np.array([[0, 100, 100, 20], [30, 104, 100, 20], [60, 96, 100, 20], [90, 100, 100, 20]])
    d = track_direction(boxes, TIMES)
    assert d.labels == ("right",) and abs(d.velocity[1]) < 20


def test_entering_and_leaving_a_zone():
    right = Direction(0.0, ("right",), (300.0, 0.0), 0.0)
    assert zone_event(right, "right") == "entering"
    assert zone_event(right, "left") == "leaving"
    assert zone_event(right, "up") is None
    assert zone_event(right, None) is None
    coming = Direction(None, ("approaching",), (0.0, 0.0), 0.3)
    assert zone_event(coming, "approaching") == "entering" and zone_event(coming, "receding") == "leaving"


def test_every_demo_event_carries_the_direction_its_car_moved(endpoint, io_args):
    result = anpr("run", str(DEMO), "--config", str(DEMO_CONFIG), "--json", *io_args)
    assert result.returncode == 0, result.stderr
    found = {e["plate"]: e for e in events(result.stdout)}
    truth = load_truth(DEMO)
    assert set(found) == {v.plate for v in truth}, result.stderr[-2000:]
    fps = 10.0  # the demo clip's frame rate
    for vehicle in truth:
        frames = sorted(vehicle.boxes, key=int)
        first, last = np.array(vehicle.boxes[frames[0]], float), np.array(vehicle.boxes[frames[-1]], float)
        seconds = (int(frames[-1]) - int(frames[0])) / fps
        dx, dy = (last[:2] + last[2:] / 2) - (first[:2] + first[2:] / 2)
        event = found[vehicle.plate]
        expected = ("right" if dx > 0 else "left",)
        assert event["direction"]["labels"] == list(expected), event
        true_angle = math.degrees(math.atan2(-dy, dx)) % 360
        assert min(abs(event["direction"]["angle"] - true_angle), 360 - abs(event["direction"]["angle"] - true_angle)) < 5
        assert event["speed_px_s"] == pytest.approx(math.hypot(dx, dy) / seconds, rel=0.1)
        assert event["zone"] is None and event["zone_event"] is None
