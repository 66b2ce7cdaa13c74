"""Scanning only where plates can be: motion regions, region-restricted scans, the full-scan schedule.

The stand-in network of test_scanner.py (a plate is a bright rectangle) scores the windows; its fully convolutional
form scores the windows of whatever image it is given on the 16x8 grid, as the real one does, and reads each window
from its own pixels, so a window scored at the wrong place or read from the wrong cell shows.
"""

from dataclasses import dataclass, field

import numpy as np
import pytest
from test_scanner import C, FakeScores, P, bright_rectangle_network, dense_fake

from detector.geometry import clip_boxes, merge_boxes
from detector.motion import MotionDetector, moving_regions
from detector.regions import (
    WHOLE_LEVEL_SHARE,
    band_blocks,
    block_pixels,
    level_blocks,
    merge_blocks,
    touched_blocks,
)
from detector.scanner import Scanner, window_grid
from detector.pyramid import build_pyramid
from detector.schedule import FocusedScanner, level_regions, track_levels, track_regions
from detector.spec import ScanSpec
from detector.types import Candidate

WINDOW = (64, 128)
STRIDE = (16, 8)
SPEC = ScanSpec(min_plate_width=80, max_plate_width=100, presence_threshold=0.5, refine=True, max_level_pixels=10**7)


@dataclass
class RecordingNetwork:
    """The stand-in network, fully convolutional, noting the shape of every image it scores. Its character
    probabilities follow the brightness of the window's column quarters, so each window reads its own."""

    shapes: list[tuple[int, int]] = field(default_factory=list)

    def score_image(self, image: np.ndarray) -> FakeScores:
        self.shapes.append(image.shape)
        grid = window_grid(image.shape, WINDOW, STRIDE)
        windows = np.stack([image[y : y + WINDOW[0], x : x + WINDOW[1]] for x, y in grid.reshape(-1, 2)])
        s = bright_rectangle_network(windows)
        shape = grid.shape[:2]
        quarters = windows.reshape(len(windows), WINDOW[0], C, -1).mean(axis=(1, 3)) + 1.0  # (N, C)
        chars = np.stack([quarters, quarters[:, ::-1]], axis=1)  # (N, P, C)
        chars /= chars.sum(axis=-1, keepdims=True)
        return FakeScores(s.presence.reshape(shape), s.boxes.reshape(*shape, 4), chars.reshape(*shape, P, C))

    @property
    def pixels(self) -> int:
        return sum(h * w for h, w in self.shapes)


def dense_scanner(spec: ScanSpec = SPEC) -> tuple[Scanner, RecordingNetwork]:
    net = RecordingNetwork()
    return Scanner(spec, WINDOW, STRIDE, bright_rectangle_network, net.score_image), net


def frame_with_plates(*corners: tuple[int, int], shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A dark frame with a bright 90x30 "plate" at each ``(x, y)``."""
    frame = np.zeros(shape, np.uint8)
    for x, y in corners:
        frame[y : y + 30, x : x + 90] = 255
    return frame


def assert_same(a: Candidate, b: Candidate) -> None:
    assert a.box == b.box and a.presence == b.presence and a.hits == b.hits
    np.testing.assert_array_equal(a.chars, b.chars)


def near(candidates: list[Candidate], x: float, y: float) -> list[Candidate]:
    """The candidates whose box centre lies within 30 px of the plate whose top-left corner is ``(x, y)``."""
    return [c for c in candidates if abs(c.box[0] + c.box[2] / 2 - x - 45) < 30 and abs(c.box[1] + c.box[3] / 2 - y - 15) < 30]


# Motion


def test_moving_square_is_found_and_still_frames_give_nothing():
    before = np.full((240, 320), 40, np.uint8)
    after = before.copy()
    before[100:120, 60:80] = 220
    after[104:124, 66:86] = 220  # moved 6 right, 4 down
    [box] = moving_regions(before, after, threshold=16, margin=0, frame_shape=(240, 320))
    x, y, w, h = box
    assert x <= 60 and y <= 100 and x + w >= 86 and y + h >= 124  # both positions of the square
    assert x >= 58 and y >= 98 and x + w <= 88 and y + h <= 126  # and little more (one pixel of dilation)
    assert moving_regions(after, after, threshold=16, margin=0, frame_shape=(240, 320)).shape == (0, 4)


def test_motion_detector_scales_pads_and_merges():
    detector = MotionDetector(threshold=16, factor=4, margin=10)
    still = np.full((240, 320), 40, np.uint8)
    np.testing.assert_array_equal(detector.update(still), [[0, 0, 320, 240]])  # first frame: nothing to compare
    assert detector.update(still.copy()).shape == (0, 4)
    noisy = still + np.random.default_rng(0).integers(0, 6, still.shape).astype(np.uint8)  # sensor noise
    assert detector.update(noisy).shape == (0, 4)
    moved = noisy.copy()
    moved[100:140, 200:260] = 250
    moved[100:140, 150:170] = 250  # a second patch, within the margins of the first: one region
    [(x, y, w, h)] = detector.update(moved)
    assert x <= 150 - 10 and y <= 100 - 10 and x + w >= 260 + 10 and y + h >= 140 + 10
    assert x >= 150 - 10 - 8 and x + w <= 260 + 10 + 8  # at most a shrunk pixel of dilation each side
    np.testing.assert_array_equal(detector.update(np.zeros((120, 160), np.uint8)), [[0, 0, 160, 120]])  # new size


def test_merge_and_clip_boxes_literal():
    boxes = np.array([[0, 0, 10, 10], [12, 0, 10, 10], [100, 100, 5, 5]], np.float64)
    np.testing.assert_array_equal(merge_boxes(boxes), boxes)
    np.testing.assert_array_equal(merge_boxes(boxes, gap=2), [[0, 0, 22, 10], [100, 100, 5, 5]])
    np.testing.assert_array_equal(clip_boxes([[-5, -5, 10, 10], [50, 50, 10, 10], [5, 5, 100, 100]], (20, 30)),
                                  [[0, 0, 5, 5], [5, 5, 25, 15]])


def test_track_regions_grow_by_plate_widths():
    np.testing.assert_array_equal(track_regions(np.array([[100, 50, 40, 10]]), 0.5), [[80, 30, 80, 50]])


# Which windows a region selects


def test_touched_blocks_are_exactly_the_windows_touching_the_region():
    grid_shape = (10, 40)  # rows, cols of a 208 x 440 level
    region = np.array([[150.0, 70.0, 20.0, 10.0]])
    [(r0, c0, r1, c1)] = touched_blocks(region, 1.0, grid_shape, WINDOW, STRIDE)
    xs, ys = np.arange(40) * 8, np.arange(10) * 16
    touching_cols = np.flatnonzero((xs < 170) & (xs + 128 > 150))
    touching_rows = np.flatnonzero((ys < 80) & (ys + 64 > 70))
    assert (c0, c1) == (touching_cols[0], touching_cols[-1] + 1)
    assert (r0, r1) == (touching_rows[0], touching_rows[-1] + 1)
    # Scale 0.5: the region spans [75, 85) x [35, 40) level pixels.
    [(r0, c0, r1, c1)] = touched_blocks(region, 0.5, grid_shape, WINDOW, STRIDE)
    assert (r0, c0, r1, c1) == (0, 0, 3, 11)


def test_a_region_no_window_reaches_still_gets_one():
    # A 300-wide level has windows at x = 0..168; a 1-pixel region at x = 299 is touched by the last one only,
    # and one past the level's edge by none: it gets the nearest.
    [block] = touched_blocks(np.array([[299.0, 0.0, 1.0, 1.0]]), 1.0, (1, 22), WINDOW, STRIDE)
    assert block.tolist() == [0, 21, 1, 22]
    [block] = touched_blocks(np.array([[0.0, 0.0, 1.0, 1.0]]), 1.0, (3, 22), WINDOW, STRIDE)
    assert block.tolist() == [0, 0, 1, 1]
    y0, x0, y1, x1 = block_pixels(block, WINDOW, STRIDE)[0]
    assert (y1 - y0, x1 - x0) == WINDOW


def test_blocks_merge_when_cheaper_and_give_way_to_the_whole_level():
    far = np.array([[0, 0, 1, 1], [0, 30, 1, 31]])
    np.testing.assert_array_equal(merge_blocks(far, WINDOW, STRIDE), far)  # 128 + 128 wide < one 368 wide crop
    close = np.array([[0, 0, 1, 1], [0, 2, 1, 3]])
    np.testing.assert_array_equal(merge_blocks(close, WINDOW, STRIDE), [[0, 0, 1, 3]])  # 144 wide < 128 + 128
    level = (208, 440)
    assert level_blocks(np.array([[0.0, 0.0, 10.0, 10.0]]), 1.0, level, WINDOW, STRIDE) is not None
    assert level_blocks(np.array([[0.0, 0.0, 440.0 * WHOLE_LEVEL_SHARE, 208.0]]), 1.0, level, WINDOW, STRIDE) is None


# Region-restricted scan


@pytest.mark.parametrize("dense", [True, False])
def test_region_scan_gives_the_full_scan_candidate_of_a_plate_inside_it(dense: bool):
    frame = frame_with_plates((100, 100), (403, 341))
    scanner = dense_scanner()[0] if dense else Scanner(SPEC, WINDOW, STRIDE, bright_rectangle_network)
    full = scanner.scan(frame)
    assert len(full) == 2
    for region in ([95, 95, 100, 40], [120, 110, 10, 5]):  # around the first plate; a speck inside it
        [found] = scanner.scan(frame, np.array([region], np.float64))
        assert_same(found, *near(full, 100, 100))
    [found] = scanner.scan(frame, np.array([[400, 340, 96, 32]], np.float64))
    assert_same(found, *near(full, 403, 341))
    both = scanner.scan(frame, np.array([[95, 95, 100, 40], [400, 340, 96, 32]], np.float64))
    for a, b in zip(both, full):
        assert_same(a, b)


def test_region_scan_matches_full_scan_at_random_places():
    rng = np.random.default_rng(7)
    scanner, _ = dense_scanner()
    for _ in range(12):
        x, y = int(rng.integers(0, 540)), int(rng.integers(0, 440))
        other = (int(rng.integers(0, 540)), int(rng.integers(0, 440)))
        frame = frame_with_plates((x, y), other)
        full = near(scanner.scan(frame), x, y)
        if len(full) != 1 or abs(other[0] - x) < 200 and abs(other[1] - y) < 100:
            continue  # only lone plates the full scan finds
        grow = rng.uniform(0, 40, 4)
        region = np.array([[x - grow[0], y - grow[1], 90 + grow[0] + grow[2], 30 + grow[1] + grow[3]]])
        assert_same(*near(scanner.scan(frame, region), x, y), *full)


def test_region_scan_scores_only_crops_and_nothing_for_no_region():
    frame = frame_with_plates((100, 100))
    scanner, net = dense_scanner()
    scanner.scan(frame)
    full_pixels, full_calls = net.pixels, len(net.shapes)
    net.shapes.clear()
    scanner.scan(frame, np.array([[95.0, 95.0, 100.0, 40.0]]))
    assert len(net.shapes) == full_calls  # one crop per level
    assert net.pixels < 0.5 * full_pixels
    net.shapes.clear()
    assert scanner.scan(frame, np.zeros((0, 4))) == [] and net.shapes == []


def test_large_levels_are_scored_in_bands_with_the_same_candidates():
    frame = frame_with_plates((100, 100), (403, 341), (30, 400))
    whole, _ = dense_scanner()
    banded, net = dense_scanner(SPEC.model_copy(update={"max_level_pixels": 100_000}))
    expected, found = whole.scan(frame), banded.scan(frame)
    assert len(expected) == 3 and len(found) == 3
    for a, b in zip(found, expected):
        assert_same(a, b)
    assert max(h * w for h, w in net.shapes) <= 100_000 and len(net.shapes) > 3 * len(whole.scales)
    bands = band_blocks(np.array([[0, 0, 20, 30]]), WINDOW, STRIDE, 40_000)  # crops 360 px wide, at most 111 high
    np.testing.assert_array_equal(bands[:, 0], [0, 3, 6, 9, 12, 15, 18])  # 3 rows of windows each
    np.testing.assert_array_equal(bands[:, 2], [3, 6, 9, 12, 15, 18, 20])
    assert (bands[:, 1] == 0).all() and (bands[:, 3] == 30).all()
    small_and_wide = band_blocks(np.array([[2, 4, 4, 8], [5, 0, 12, 30]]), WINDOW, STRIDE, 40_000)
    np.testing.assert_array_equal(small_and_wide, [[2, 4, 4, 8], [5, 0, 8, 30], [8, 0, 11, 30], [11, 0, 12, 30]])


# The schedule


def test_full_scan_every_one_is_the_plain_scanner():
    rng = np.random.default_rng(3)
    plain, plain_net = dense_scanner()
    focused_scanner, focused_net = dense_scanner()
    focused = FocusedScanner(focused_scanner, SPEC.model_copy(update={"full_scan_every": 1}))
    for k in range(4):
        frame = frame_with_plates((100 + 13 * k, 100 + 7 * k), (int(rng.integers(300, 500)), 350))
        expected = plain.scan(frame)
        got = focused.scan(frame, np.zeros((0, 4)))
        assert len(got) == len(expected) == 2
        for a, b in zip(got, expected):
            assert_same(a, b)
        assert focused.regions is None and focused.timings is focused_scanner.timings
    assert focused_net.shapes == plain_net.shapes


def test_track_levels_literal():
    scales = [2.0, 1.0, 0.5, 0.25]  # a 100 px plate is 200, 100, 50 and 25 px wide on them; the target is 50
    near = track_levels(np.array([100.0, 400.0, 20.0]), scales, 50.0, 1.0)
    np.testing.assert_array_equal(near, [[False, True, True, True],  # within one octave of 0.5
                                         [False, False, False, True],  # 400 px wants 0.125: the nearest level
                                         [True, False, False, False]])  # 20 px wants 2.5: the nearest level
    assert track_levels(np.array([100.0]), scales, 50.0, None).all()


def test_level_regions_take_turns_and_keep_tracks_near_their_scale():
    spec = SPEC.model_copy(update={"full_scan_every": 3, "motion_level_step": 2, "track_margin": 0.0, "track_octaves": 0.3})
    scales = [2.0, 1.0, 0.5, 0.25]
    moved = np.array([[10.0, 10.0, 20.0, 20.0]])
    track = np.array([[100.0, 50.0, 100.0, 20.0]])  # plate 100 px wide: 50 px on level 2, the target (0.5 * 100)
    spec_target = spec.model_copy(update={"plate_width_in_window": 0.5})
    per_level = level_regions(moved, track, scales, 4, spec_target, 100, (480, 640))
    assert per_level[1] is None  # frame 4: level 1 (4 % 3) whole
    np.testing.assert_array_equal(per_level[0], moved)  # motion on the even levels (4 % 2)
    np.testing.assert_array_equal(per_level[2], np.concatenate([track, moved]))
    assert per_level[3].shape == (0, 4)  # neither moving nor near the track's scale: not even built
    frame_5 = level_regions(moved, track, scales, 5, spec_target, 100, (480, 640))
    assert frame_5[2] is None and frame_5[0].shape == (0, 4)  # level 2 whole; motion on the odd levels
    np.testing.assert_array_equal(frame_5[1], moved)
    np.testing.assert_array_equal(frame_5[3], moved)
    whole = [level_regions(moved, track, scales, f, spec_target, 100, (480, 640)) for f in range(3)]
    assert all(any(frame[k] is None for frame in whole) for k in range(4))  # each level whole once in 3 frames


def test_schedule_scans_each_level_whole_in_turn_and_only_motion_and_tracks_besides():
    spec = SPEC.model_copy(update={"full_scan_every": 2, "motion_downscale": 4, "motion_margin": 8,
                                   "motion_level_step": 1, "min_plate_width": 70})
    scanner, net = dense_scanner(spec)
    focused = FocusedScanner(scanner, spec)
    still = frame_with_plates((400, 340))
    arrived = frame_with_plates((400, 340), (100, 100))
    reference = dense_scanner(spec)[0]
    levels = [level.image.shape for level in build_pyramid(still, scanner.scales, WINDOW)]
    assert len(levels) == 3

    def scan(frame: np.ndarray, tracks: np.ndarray | None = None) -> tuple[list[tuple[int, int]], list[Candidate]]:
        net.shapes.clear()
        candidates = focused.scan(frame, np.zeros((0, 4)) if tracks is None else tracks)
        return list(net.shapes), candidates

    shapes, [parked] = scan(still)  # frame 0: every level whole
    assert focused.regions is None and shapes == levels
    assert_same(parked, *reference.scan(still))
    assert scan(still)[0] == [levels[1]]  # frame 1: nothing moves or is tracked: only level 1, whole
    assert focused.regions.shape == (0, 4)
    shapes, found = scan(still, np.array([parked.box]))  # frame 2: levels 0 and 2 whole, level 1 around the track
    assert shapes[0] == levels[0] and shapes[-1] == levels[2] and len(shapes) == 3
    assert_same(*near(found, 400, 340), parked)
    shapes, found = scan(arrived)  # frame 3: a plate drives in; level 1 whole, the others around it
    assert levels[1] in shapes and sum(h * w for h, w in shapes) < sum(h * w for h, w in levels) / 2
    assert_same(*near(found, 100, 100), *near(reference.scan(arrived), 100, 100))
    assert focused.timings.motion >= 0


def test_a_stream_scanned_in_focus_gates_at_the_stream_threshold():
    frame = frame_with_plates((100, 100))
    spec = SPEC.model_copy(update={"full_scan_every": 2, "gate_threshold": 0.5, "stream_gate_threshold": 0.9})

    def found(update: dict) -> list[Candidate]:
        """The candidates near the plate on the first frame, the gate scoring its windows 0.7."""
        gated = spec.model_copy(update=update)
        scanner = Scanner(gated, WINDOW, STRIDE, bright_rectangle_network, RecordingNetwork().score_image,
                          gate=lambda image: 0.7 * dense_fake(image).presence, gate_stride=(16, 16))
        return near(FocusedScanner(scanner, gated).scan(frame, np.zeros((0, 4))), 100, 100)

    assert found({}) == []  # a stream in focus: 0.7 is below the stream's threshold
    assert len(found({"stream_gate_threshold": None})) == 1  # ... or the photo's, 0.5
    assert len(found({"full_scan_every": 1})) == 1  # every frame whole: the photo's threshold
