import numpy as np

from detector.geometry import centre_distance, contained_share, group_overlapping, inside_larger, iou, local_maxima


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
