import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.geometry import (centre_distance, contained_share, group_overlapping, inside_larger, iou, join_pairs,
                               linked_groups, local_maxima, merge_boxes)


def test_iou_of_literal_boxes():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    np.testing.assert_allclose(iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_iou_with_zero_area_box_is_zero():
    assert iou(np.array([[0, 0, 0, 0]]), np.array([[0, 0, 0, 0]]))[0, 0] == 0.0


def test_contained_share_is_of_the_first_box():
    small, large = np.array([[0, 0, 10, 10]]), np.array([[5, 0, 20, 10]])
    np.testing.assert_allclose(contained_share(small, large), [[0.5]])
    np.testing.assert_allclose(contained_share(large, small), [[0.25]])


def test_inside_larger_marks_part_reads_only():
    boxes = np.array([[141, 587, 101, 37], [166, 593, 132, 36], [600, 590, 130, 36], [0, 0, 10, 10]])
    # the first lies 63% inside the second (a read of the plate's first characters); the others stand alone
    np.testing.assert_array_equal(inside_larger(boxes, 0.6), [True, False, False, False])
    np.testing.assert_array_equal(inside_larger(boxes, 0.7), [False, False, False, False])
    assert inside_larger(np.zeros((0, 4)), 0.6).shape == (0,)
    # a plate (6 characters) inside a bumper a coarse level took for a plate (read as 4 stray characters) is kept
    plate_in_bumper = np.array([[630, 634, 82, 41], [559, 611, 250, 120]])
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, np.array([6, 4])), [False, False])
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, np.array([3, 7])), [True, False])
    # only the boxes marked as hosts hold others
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, hosts=np.array([True, False])), [False, False])
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, hosts=np.array([False, True])), [True, False])
    # ... and only a box at least 1 / max_height times as tall (41 / 120 = 0.34)
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, max_height=0.3), [False, False])
    np.testing.assert_array_equal(inside_larger(plate_in_bumper, 0.6, max_height=0.4), [True, False])


def test_group_overlapping_seeds_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 10, 10], [2, 1, 10, 10]])
    scores = np.array([0.5, 0.9, 0.8, 0.7])
    groups = group_overlapping(boxes, scores, 0.5)
    assert [g.tolist() for g in groups] == [[1, 3, 0], [2]]


def test_centre_distance():
    d = centre_distance(np.array([[0, 0, 2, 2]]), np.array([[3, 4, 2, 2]]))
    np.testing.assert_allclose(d, [[5.0]])


def test_local_maxima_keep_the_best_point_of_each_neighbourhood():
    corners = np.array([[0, 0], [8, 0], [16, 0], [64, 32], [72, 32]])
    scores = np.array([0.91, 0.99, 0.95, 0.97, 0.97])
    # (8, 0) beats both neighbours; (64, 32) and (72, 32) tie: the first listed wins; (16, 0) is 48 px from (64, 32)
    np.testing.assert_array_equal(local_maxima(corners, scores, (16, 8)), [False, True, False, True, False])


def test_linked_groups_follow_chains_of_links():
    linked = np.eye(6, dtype=bool)
    for a, b in [(0, 4), (4, 2), (1, 5)]:
        linked[a, b] = linked[b, a] = True
    np.testing.assert_array_equal(linked_groups(linked), [0, 1, 0, 2, 0, 1])


def pairwise_merge(boxes: np.ndarray, gap: float) -> np.ndarray:
    """Merging a pair at a time, the plain way that :func:`merge_boxes` must agree with."""

    def bounding(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        if not (a[0] <= b[0] + b[2] + gap and b[0] <= a[0] + a[2] + gap
                and a[1] <= b[1] + b[3] + gap and b[1] <= a[1] + a[3] + gap):
            return None
        x0, y0 = min(a[0], b[0]), min(a[1], b[1])
        return np.array([x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0])

    return np.array(join_pairs(list(boxes), bounding), np.float64).reshape(-1, 4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(1, 40), st.integers(1, 40)),
                max_size=30), st.sampled_from([0.0, 3.0]))
def test_merging_all_linked_boxes_at_once_gives_what_merging_pairs_gives(boxes, gap):
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    merged, expected = merge_boxes(boxes, gap), pairwise_merge(boxes, gap)
    np.testing.assert_array_equal(merged[np.lexsort(merged.T[::-1])], expected[np.lexsort(expected.T[::-1])])
