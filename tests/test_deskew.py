import math

import cv2
import numpy as np
import pytest

from recognizer.deskew import Pose, level_cut, plate_roll, plate_slant, unturned_size
from recognizer.reader import box_cut, cut_crop, posed_crop
from recognizer.spec import ReaderSpec

CENTRE = (200.0, 150.0)
PLATE = (240, 60)


def plate_frame(degrees: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 400x300 frame holding a light plate with dark characters, turned clockwise (as seen) by ``degrees``
    about its centre, and the plate's axis-aligned box."""
    frame = np.full((300, 400), 90, np.uint8)
    pw, ph = PLATE
    x0, y0 = int(CENTRE[0] - pw / 2), int(CENTRE[1] - ph / 2)
    cv2.rectangle(frame, (x0, y0), (x0 + pw, y0 + ph), 230, -1)
    cv2.rectangle(frame, (x0, y0), (x0 + pw, y0 + ph), 20, 2)
    for k in range(7):
        cv2.rectangle(frame, (x0 + 18 + 31 * k, y0 + 10), (x0 + 34 + 31 * k, y0 + 50), 25, -1)
    turn = cv2.getRotationMatrix2D(CENTRE, -degrees, 1.0)
    turned = cv2.warpAffine(frame, turn, (400, 300), flags=cv2.INTER_LINEAR, borderValue=90)
    corners = np.array([[x0, y0, 1], [x0 + pw, y0, 1], [x0, y0 + ph, 1], [x0 + pw, y0 + ph, 1]], float) @ turn.T
    (bx0, by0), (bx1, by1) = corners.min(axis=0), corners.max(axis=0)
    return turned, (bx0, by0, bx1 - bx0, by1 - by0)


def likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two images' pixels."""
    return float(np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1])


def shear(image: np.ndarray, slant: float) -> np.ndarray:
    """``image`` sheared about its middle row: each row moved ``slant`` pixels right per pixel below it."""
    h, w = image.shape
    matrix = np.array([[1.0, slant, -slant * h / 2], [0.0, 1.0, 0.0]])
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("degrees", [-15.0, -8.0, 10.0, 20.0])
def test_the_size_of_a_turned_rectangle_comes_back_from_its_box(degrees):
    a = math.radians(abs(degrees))
    w, h = 200.0, 50.0
    box_w, box_h = w * math.cos(a) + h * math.sin(a), w * math.sin(a) + h * math.cos(a)
    assert unturned_size(box_w, box_h, degrees) == pytest.approx((w, h))


def test_a_box_too_flat_for_the_angle_gets_a_plate_like_height():
    c, s = math.cos(math.radians(20.0)), math.sin(math.radians(20.0))
    w, h = unturned_size(200.0, 40.0, 20.0)  # no rectangle turned by 20 degrees has a box this flat
    assert w == pytest.approx((200.0 * c - 40.0 * s) / (c * c - s * s)) and h == pytest.approx(0.2 * w)


@pytest.mark.parametrize("degrees", [-14.0, -7.0, 0.0, 9.0, 16.0])
def test_a_plate_s_roll_is_measured_from_its_edges(degrees):
    frame, box = plate_frame(degrees)
    assert plate_roll(frame, box, 25.0) == pytest.approx(degrees, abs=1.5)


def test_no_edge_no_roll():
    assert plate_roll(np.full((300, 400), 90, np.uint8), (100.0, 100.0, 200.0, 60.0), 25.0) == 0.0


def test_a_turned_plate_is_cut_level_like_the_same_plate_upright():
    spec = ReaderSpec()
    upright, upright_box = plate_frame(0.0)
    turned, turned_box = plate_frame(14.0)
    expected = cut_crop(upright, upright_box, spec).astype(float)
    levelled = level_cut(turned, turned_box, plate_roll(turned, turned_box, 25.0), spec.margin_x, spec.margin_y,
                         spec.height, spec.width).astype(float)
    plain = cut_crop(turned, turned_box, spec.model_copy(update={"deskew_max_degrees": 0.0})).astype(float)

    assert likeness(levelled, expected) > 0.85 > likeness(plain, expected) + 0.2
    assert np.array_equal(cut_crop(turned, turned_box, spec), levelled.astype(np.uint8))  # cut_crop levels it itself


def test_streams_cut_turned_and_slanted_plates_upright_only_when_configured():
    from stream.config import load_config
    from stream.frames import load_crop_reader

    config = load_config()
    assert load_crop_reader(config).spec.deskew_max_degrees == 25.0  # photos
    stream = load_crop_reader(config, photos=False).spec
    assert stream.deskew_max_degrees == 0.0 and stream.slant_max_degrees == 0.0
    streams_too = config.model_copy(update={"reader": config.reader.model_copy(update={"deskew_streams": True})})
    assert load_crop_reader(streams_too, photos=False).spec.deskew_max_degrees == 25.0


@pytest.mark.parametrize("lean", [-0.5, -0.2, 0.0, 0.3, 0.6])
def test_a_crop_s_slant_is_measured_from_its_upright_strokes(lean):
    crop = np.full((48, 192), 220, np.uint8)
    cv2.putText(crop, "KT 7425", (14, 38), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 4)  # diagonals in 7, 4, 2, K
    assert plate_slant(shear(crop, lean), 0.8) == pytest.approx(-lean, abs=0.05)


def test_a_flat_crop_has_no_slant():
    assert plate_slant(np.full((48, 192), 128, np.uint8), 0.8) == 0.0


def test_a_plate_seen_from_the_side_is_cut_with_its_characters_upright():
    spec = ReaderSpec()
    upright, _ = plate_frame(0.0)
    sheared = shear(upright, 0.4)  # its long edges stay level, its upright strokes lean
    pw, ph = PLATE
    box = (CENTRE[0] - pw / 2 - 0.2 * ph, CENTRE[1] - ph / 2, pw + 0.4 * ph, float(ph))  # the sheared plate's box
    pose = posed_crop(sheared, box, spec)[0]
    assert pose.roll == 0.0 and pose.slant == pytest.approx(-0.4, abs=0.05)
    expected = box_cut(upright, box, spec)
    plain = box_cut(sheared, box, spec)
    assert likeness(cut_crop(sheared, box, spec), expected) > 0.9 > likeness(plain, expected) + 0.1
    assert posed_crop(upright, box, spec)[0] == Pose()  # upright: cut as it lies


def test_a_widened_cut_adds_the_plate_s_width_on_one_side_only():
    spec = ReaderSpec()
    frame, box = plate_frame(0.0)
    for widen in [(0.25, 0.0), (0.0, 0.25)]:
        levelled = level_cut(frame, box, 0.0, spec.margin_x, spec.margin_y, spec.height, spec.width, 0.0, widen)
        assert likeness(levelled, box_cut(frame, box, spec, widen)) > 0.95
    assert likeness(box_cut(frame, box, spec, (0.25, 0.0)), box_cut(frame, box, spec, (0.0, 0.25))) < 0.9
