import numpy as np

from detector.geometry import centre_distance, group_overlapping, iou


def test_iou_of_literal_boxes():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    np.testing.assert_allclose(iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_iou_with_zero_area_box_is_zero():
    assert iou(np.array([[0, 0, 0, 0]]), np.array([[0, 0, 0, 0]]))[0, 0] == 0.0


def test_group_overlapping_seeds_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 10, 10], [2, 1, 10, 10]])
    scores = np.array([0.5, 0.9, 0.8, 0.7])
    groups = group_overlapping(boxes, scores, 0.5)
    assert [g.tolist() for g in groups] == [[1, 3, 0], [2]]


def test_centre_distance():
    d = centre_distance(np.array([[0, 0, 2, 2]]), np.array([[3, 4, 2, 2]]))
    np.testing.assert_allclose(d, [[5.0]])
