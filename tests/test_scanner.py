"""The scanner with a stand-in network: a plate is a bright rectangle, read as "AB"."""

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from detector.pyramid import build_level, build_pyramid, halving_sources, pyramid_scales
from detector.regions import gate_blocks, gate_crop, intersect_blocks
from detector.scanner import Scanner, centred_windows, gate_in_bands, merge_hits, plate_boxes, window_grid
from detector.spec import ScanSpec
from detector.types import Hits

P, C = 2, 4


@dataclass(frozen=True)
class FakeScores:
    presence: np.ndarray
    boxes: np.ndarray
    chars: np.ndarray

    def chars_at(self, indices: np.ndarray) -> np.ndarray:
        return self.chars.reshape(-1, P, C)[indices]


def bright_rectangle_network(windows: np.ndarray) -> FakeScores:
    """Present when the window's middle 60% of columns is bright and its border columns are dark."""
    n, h, w = windows.shape
    inner = windows[:, h // 4 : 3 * h // 4, int(0.25 * w) : int(0.75 * w)].mean(axis=(1, 2))
    edge = np.concatenate([windows[:, :, : int(0.08 * w)], windows[:, :, -int(0.08 * w) :]], axis=2).mean(axis=(1, 2))
    presence = ((inner > 200) & (edge < 50)).astype(np.float64) * 0.99
    boxes = np.tile([0.15, 0.25, 0.85, 0.75], (n, 1))
    chars = np.tile(np.array([[0.9, 0.05, 0.03, 0.02], [0.05, 0.9, 0.03, 0.02]]), (n, 1, 1))
    return FakeScores(presence, boxes, chars)


def dense_fake(image: np.ndarray, stride: tuple[int, int] = (16, 16)) -> FakeScores:
    """The stand-in network run over every window of an image, ``stride`` apart."""
    grid = window_grid(image.shape, (64, 128), stride)
    s = bright_rectangle_network(np.stack([image[y : y + 64, x : x + 128] for x, y in grid.reshape(-1, 2)]))
    shape = grid.shape[:2]
    return FakeScores(s.presence.reshape(shape), s.boxes.reshape(*shape, 4), s.chars.reshape(*shape, P, C))


SPEC = ScanSpec(min_plate_width=80, max_plate_width=100, scales_per_octave=4, presence_threshold=0.5, refine=True)


def test_pyramid_scales_cover_plate_widths():
    scales = pyramid_scales(ScanSpec(min_plate_width=50, max_plate_width=200, scales_per_octave=2), 128)
    target = 0.7 * 128
    assert scales[0] == target / 50
    assert scales[-1] >= target / 200 - 1e-9
    np.testing.assert_allclose(np.diff(np.log2(scales)), -0.5)


def test_build_pyramid_skips_levels_smaller_than_a_window():
    levels = build_pyramid(np.zeros((100, 200), np.uint8), [2.0, 1.0, 0.5], (64, 128))
    assert [l.image.shape for l in levels] == [(200, 400), (100, 200)]


def test_small_levels_are_halved_from_the_level_an_octave_up():
    scales = pyramid_scales(ScanSpec(min_plate_width=40, max_plate_width=300, scales_per_octave=2), 128)
    # 2.24, 1.58, 1.12, 0.79, 0.56, 0.40: the two below 0.7 come from the levels at twice their scale
    assert halving_sources(scales) == [None, None, None, None, 2, 3]
    frame = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7) * 7
    above = frame.astype(int)
    halved = build_level(frame, 0.25, (1, 1), above=frame).image  # the odd last row and column are left out
    sums = above[0:4:2, 0:6:2] + above[1:4:2, 0:6:2] + above[0:4:2, 1:6:2] + above[1:4:2, 1:6:2]
    np.testing.assert_array_equal(halved, (sums + 2) // 4)  # the mean of each 2x2 block, rounded
    assert build_level(frame, 0.25, (3, 1), above=frame) is None  # two rows: smaller than the window


def test_build_pyramid_makes_levels_as_the_scanner_does():
    frame = np.random.default_rng(0).integers(0, 256, (240, 320), np.uint8)
    scales = [1.0, 0.8, 0.5, 0.4, 0.25]
    levels = build_pyramid(frame, scales, (64, 128))
    assert [l.scale for l in levels] == [1.0, 0.8, 0.5, 0.4]  # 0.25 is smaller than a window
    np.testing.assert_array_equal(levels[2].image, build_level(frame, 0.5, (64, 128), above=frame).image)
    np.testing.assert_array_equal(levels[3].image, build_level(frame, 0.4, (64, 128), above=levels[1].image).image)


def test_window_grid_literal():
    grid = window_grid((80, 160), (64, 128), (16, 8))
    assert grid.shape == (2, 5, 2)
    assert grid[1, 2].tolist() == [16, 16]


def test_plate_boxes_from_window_shares():
    boxes = plate_boxes(np.array([[10.0, 20.0, 100.0, 50.0]]), np.array([[0.1, 0.2, 0.9, 0.8]]))
    np.testing.assert_allclose(boxes, [[20.0, 30.0, 80.0, 30.0]])


def test_merge_hits_makes_one_candidate_per_plate():
    windows = np.array([[0, 0, 128, 64], [16, 0, 128, 64], [400, 300, 128, 64]], np.float64)
    plates = np.array([[20, 10, 90, 30], [22, 12, 90, 30], [420, 310, 90, 30]], np.float64)
    chars = np.full((3, P, C), 1.0 / C)
    chars[:, 0, 0] = 0.7
    hits = Hits(windows, plates, np.array([0.95, 0.99, 0.9]), chars / chars.sum(-1, keepdims=True))
    candidates = merge_hits(hits, ScanSpec(merge_iou=0.3))
    assert len(candidates) == 2
    assert candidates[0].hits == 2 and candidates[1].hits == 1
    assert candidates[0].presence == 0.99
    np.testing.assert_allclose(candidates[0].box[0], (0.95 * 20 + 0.99 * 22) / (0.95 + 0.99))
    np.testing.assert_allclose(candidates[0].chars.sum(axis=-1), 1.0)


def test_merge_hits_drops_a_read_of_part_of_a_plate():
    windows = np.array([[150, 560, 128, 64], [120, 560, 128, 64]], np.float64)
    plates = np.array([[166, 593, 132, 36], [141, 587, 101, 37]], np.float64)  # whole plate; its first characters
    chars = np.full((2, P, C), 0.1 / C)
    chars[:, :, 0] = 0.9
    chars[1, -1, :] = chars[1, -1, ::-1]  # the part reads one character fewer
    hits = Hits(windows, plates, np.array([0.99, 0.94]), chars)
    [candidate] = merge_hits(hits, ScanSpec(merge_iou=0.6))
    assert candidate.box == (166.0, 593.0, 132.0, 36.0)
    assert len(merge_hits(hits, ScanSpec(merge_iou=0.6, merge_contained=0.7))) == 2
    as_long = Hits(windows, plates, hits.presence, np.full((2, P, C), 1.0 / C))  # reads as many: a plate of its own
    assert len(merge_hits(as_long, ScanSpec(merge_iou=0.6))) == 2


def test_scanner_finds_a_bright_plate_with_batched_windows():
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 100:190] = 255  # a 90x30 "plate"
    scanner = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network)
    candidates = scanner.scan(frame)
    assert len(candidates) == 1
    x, y, w, h = candidates[0].box
    assert abs((x + w / 2) - 145) < 20 and abs((y + h / 2) - 115) < 20
    assert candidates[0].chars.argmax(axis=-1).tolist() == [0, 1]


def test_scanner_dense_path_matches_batched_path():
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 100:190] = 255
    batched = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network).scan(frame)
    dense = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network, dense_fake).scan(frame)
    assert len(batched) == len(dense) == 1
    np.testing.assert_allclose(batched[0].box, dense[0].box)


def test_gate_blocks_select_the_scanner_windows_near_a_passed_one():
    gate = np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 0.9]])  # passes the window at (32, 16) only
    blocks = gate_blocks(gate, 0.5, (16, 16), (4, 10), (16, 8))
    np.testing.assert_array_equal(blocks, [[0, 2, 3, 7]])  # corners within 16 px: x 16..48, y 0..32
    assert gate_blocks(gate, 0.95, (16, 16), (4, 10), (16, 8)).shape == (0, 4)


def test_gate_crop_covers_the_blocks_and_one_gate_stride_around_on_the_gate_grid():
    blocks = np.array([[2, 3, 4, 6], [5, 1, 6, 2]])  # window corners y 32..48, x 24..40; y 80, x 8
    crop = gate_crop(blocks, (200, 300), (64, 128), (16, 8), (16, 16))
    np.testing.assert_array_equal(crop, [16, 0, 160, 184])  # pixels y 32..144 x 8..168, grown by 16, corner snapped


def test_intersect_blocks_literal():
    a = np.array([[0, 0, 4, 4], [10, 10, 12, 12]])
    b = np.array([[2, 3, 6, 9]])
    np.testing.assert_array_equal(intersect_blocks(a, b), [[2, 3, 4, 4]])


def test_gated_scanner_finds_what_the_plain_one_does_and_skips_what_the_gate_rejects():
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 100:190] = 255
    fine = lambda image: dense_fake(image, (16, 8))  # noqa: E731
    plain = Scanner(SPEC, (64, 128), (16, 8), bright_rectangle_network, fine).scan(frame)
    gated_scanner = Scanner(SPEC, (64, 128), (16, 8), bright_rectangle_network, fine,
                            gate=lambda image: dense_fake(image).presence, gate_stride=(16, 16))
    gated = gated_scanner.scan(frame)
    assert len(plain) == len(gated) == 1
    np.testing.assert_allclose(plain[0].box, gated[0].box, atol=4)
    assert gated_scanner.timings.gate > 0
    seen: list[tuple[int, int]] = []
    gate_in_regions = Scanner(SPEC, (64, 128), (16, 8), bright_rectangle_network, fine, gate_stride=(16, 16),
                              gate=lambda image: seen.append(image.shape) or dense_fake(image).presence)
    focused = gate_in_regions.scan(frame, np.array([[120, 105, 40, 20]]))
    assert [c.box for c in focused] == [c.box for c in gated]
    assert all(h * w < 240 * 320 for h, w in seen)  # the gate looked at crops around the region only

    def never(image: np.ndarray) -> FakeScores:
        raise AssertionError("the plate network ran where the gate passed nothing")

    closed = Scanner(SPEC, (64, 128), (16, 8), never, never, gate=lambda image: np.zeros((1, 1)))
    assert closed.scan(frame) == []


def test_centred_windows_put_the_plate_mid_window_at_each_share():
    frame = np.zeros((200, 400), np.uint8)
    frame[90:110, 150:250] = 255  # a 100x20 plate
    windows = centred_windows(frame, np.array([[150.0, 90.0, 100.0, 20.0]]), (0.5, 0.75), (64, 128))
    assert windows.shape == (2, 64, 128)
    for window, share in zip(windows, (0.5, 0.75)):
        columns = np.flatnonzero(window.max(axis=0) > 127)
        assert abs(len(columns) - share * 128) <= 2 and abs(columns.mean() - 63.5) <= 1.5
        rows = np.flatnonzero(window.max(axis=1) > 127)
        assert abs(rows.mean() - 31.5) <= 1.5
    frame[:, 0] = 255  # a stroke along the frame's left edge
    edge = centred_windows(frame, np.array([[0.0, 0.0, 100.0, 20.0]]), (0.7,), (64, 128))
    assert edge.shape == (1, 64, 128) and edge[0, 40, :5].max() == 0  # beyond the frame a flat fill, not the stroke


def test_centred_windows_shift_each_width_vertically():
    frame = np.zeros((200, 400), np.uint8)
    frame[90:110, 150:250] = 255
    windows = centred_windows(frame, np.array([[150.0, 90.0, 100.0, 20.0]]), (0.5, 0.75), (64, 128), (-0.1, 0.0, 0.1))
    assert windows.shape == (6, 64, 128)
    for k, window in enumerate(windows):
        share, shift = (0.5, 0.75)[k // 3], (-0.1, 0.0, 0.1)[k % 3]
        columns = np.flatnonzero(window.max(axis=0) > 127)
        assert abs(len(columns) - share * 128) <= 2 and abs(columns.mean() - 63.5) <= 1.5
        rows = np.flatnonzero(window.max(axis=1) > 127)
        assert abs(rows.mean() - (31.5 - shift * 64)) <= 1.5  # a window lower down shows the plate higher in it


def test_reread_shifts_must_be_offsets_within_the_window():
    for shifts in ((), (0.0, 0.5)):
        with pytest.raises(ValueError, match="reread_shifts"):
            ScanSpec(reread_shifts=shifts)


def off_centre_misreading_network(windows: np.ndarray) -> FakeScores:
    """:func:`bright_rectangle_network`, but it reads "AB" only where the bright area is centred, "BA" elsewhere."""
    scores = bright_rectangle_network(windows)
    bright = windows.max(axis=1) > 127
    centre = np.array([np.flatnonzero(b).mean() if b.any() else 0.0 for b in bright])
    centred = np.abs(centre - (windows.shape[2] - 1) / 2) <= 2
    chars = np.where(centred[:, None, None], scores.chars, scores.chars[:, ::-1])
    return FakeScores(scores.presence, scores.boxes, chars)


def test_reread_reads_each_candidate_from_windows_centred_on_it():
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 109:199] = 255  # off the 16-pixel grid, so the scan's windows see it off-centre
    spec = SPEC.model_copy(update={"refine": False})
    [scanned] = Scanner(spec.model_copy(update={"reread_widths": ()}), (64, 128), (16, 16), off_centre_misreading_network).scan(frame)
    [reread] = Scanner(spec, (64, 128), (16, 16), off_centre_misreading_network).scan(frame)
    assert scanned.chars.argmax(axis=-1).tolist() == [1, 0]
    assert reread.chars.argmax(axis=-1).tolist() == [0, 1] and reread.box == scanned.box


def test_reread_reads_through_read_batch():
    """The candidates' final readings come from ``read_batch`` (where a camera's formats fit them); the scan that
    finds them does not use it."""
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 109:199] = 255

    def reversed_reading(windows: np.ndarray) -> FakeScores:
        scores = bright_rectangle_network(windows)
        return FakeScores(scores.presence, scores.boxes, scores.chars[:, ::-1])

    [found] = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network).scan(frame)
    [read] = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network, read_batch=reversed_reading).scan(frame)
    assert found.chars.argmax(axis=-1).tolist() == [0, 1]
    assert read.chars.argmax(axis=-1).tolist() == [1, 0] and read.box == found.box
    no_reread = SPEC.model_copy(update={"reread_widths": ()})
    [scanned] = Scanner(no_reread, (64, 128), (16, 16), bright_rectangle_network, read_batch=reversed_reading).scan(frame)
    assert scanned.chars.argmax(axis=-1).tolist() == [0, 1]


def test_read_boxes_reads_each_candidate_from_its_box_in_the_frame():
    """A crop reader (``read_boxes``) gets the full-resolution frame and the candidates' plate boxes, and its reading
    replaces the windows' re-read."""
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 109:199] = 255
    seen = []

    def bright_share(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        seen.append((gray.shape, boxes.copy()))
        x, y, w, h = boxes[0].astype(int)
        bright = float((gray[y : y + h, x : x + w] == 255).mean())  # 1 where the box lies on the plate
        return np.array([[[bright, 1 - bright], [1 - bright, bright]]])

    crop_alone = SPEC.model_copy(update={"reread_widths": ()})
    [found] = Scanner(crop_alone, (64, 128), (16, 16), bright_rectangle_network).scan(frame)
    [read] = Scanner(crop_alone, (64, 128), (16, 16), bright_rectangle_network, read_boxes=bright_share).scan(frame)
    [(shape, boxes)] = seen
    assert shape == (240, 320) and boxes.shape == (1, 4) and tuple(boxes[0]) == found.box == read.box
    assert read.chars.shape == (2, 2) and read.chars[0, 0] > 0.9 and read.chars[1, 1] > 0.9

    # With windows re-read too, the surer of the two readings counts.
    def unsure(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return np.full((len(boxes), *windows.chars.shape), 1 / windows.chars.shape[1])

    def certain_reversed(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return np.stack([np.eye(*windows.chars.shape)[::-1]] * len(boxes))

    [windows] = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network).scan(frame)
    [kept] = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network, read_boxes=unsure).scan(frame)
    [replaced] = Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network, read_boxes=certain_reversed).scan(frame)
    np.testing.assert_array_equal(kept.chars, windows.chars)
    assert replaced.chars.argmax(axis=-1).tolist() == [1, 0]


def test_empty_frame_has_no_candidates():
    assert Scanner(SPEC, (64, 128), (16, 16), bright_rectangle_network).scan(np.zeros((240, 320), np.uint8)) == []


def test_merge_hits_reads_from_the_best_centred_windows_that_agree():
    # Three windows over one plate; the plate sits mid-window in the first two, at the edge in the third,
    # which misreads it and is the most present.
    windows = np.array([[0, 0, 128, 64], [4, 0, 128, 64], [60, 0, 128, 64]], np.float64)
    plates = np.array([[20, 20, 88, 24], [21, 20, 88, 24], [61, 20, 88, 24]], np.float64)
    chars = np.full((3, P, C), 0.02)
    chars[:2, 0, 0] = chars[:2, 1, 1] = 0.94  # "AB"
    chars[2, 0, 1] = chars[2, 1, 1] = 0.94    # "BB"
    hits = Hits(windows, plates, np.array([0.95, 0.96, 0.99]), chars)
    [candidate] = merge_hits(hits, ScanSpec(merge_iou=0.3))
    assert candidate.chars.argmax(axis=-1).tolist() == [0, 1]
    assert candidate.hits == 3 and candidate.presence == 0.99


def test_levels_scanned_on_worker_threads_give_the_candidates_of_one_thread():
    frame = np.zeros((240, 320), np.uint8)
    frame[100:130, 100:190] = 255
    frame[30:50, 200:260] = 255  # a smaller second plate, found on other levels
    threads: set[str] = set()

    def fine(image: np.ndarray) -> FakeScores:
        threads.add(threading.current_thread().name)
        return dense_fake(image, (16, 8))

    spec = SPEC.model_copy(update={"min_plate_width": 50})
    gate = lambda image: dense_fake(image).presence  # noqa: E731
    with Scanner(spec, (64, 128), (16, 8), bright_rectangle_network, fine, gate=gate) as one, \
            Scanner(spec, (64, 128), (16, 8), bright_rectangle_network, fine, gate=gate, workers=2) as two:
        for regions in (None, np.array([[120.0, 105.0, 40.0, 20.0], [210.0, 35.0, 30.0, 10.0]])):
            serial, parallel = one.scan(frame, regions), two.scan(frame, regions)
            assert len(serial) >= 2 and [c.box for c in parallel] == [c.box for c in serial]
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a.chars, b.chars)
                assert (a.presence, a.hits) == (b.presence, b.hits)
    assert threading.main_thread().name in threads and any(name.startswith("scan-level") for name in threads)


def test_gate_in_bands_gives_the_scores_of_one_call():
    frame = np.zeros((300, 500), np.uint8)
    frame[100:130, 100:190] = 255
    frame[200:225, 330:400] = 255
    gate = lambda image: dense_fake(image).presence  # noqa: E731
    rows = (300 - 64) // 16 + 1
    whole = gate(frame)[:rows]
    assert whole.max() > 0
    calls: list[tuple[int, int]] = []
    banded = gate_in_bands(lambda image: calls.append(image.shape) or gate(image), frame, (64, 128), (16, 16), 50_000)
    np.testing.assert_array_equal(banded, whole)
    assert len(calls) > 1 and all(h * w <= 50_000 for h, w in calls)
    np.testing.assert_array_equal(gate_in_bands(gate, frame, (64, 128), (16, 16), 10**7), whole)
