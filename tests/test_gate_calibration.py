"""Gate calibration: the share of labelled plates a threshold keeps, and of clip windows it passes."""

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.spec import ScanSpec
from stream.gate_calibration import above, calibrate, plate_score

DEMO = Path(__file__).resolve().parents[1] / "stream" / "demo" / "demo.mp4"
WINDOW, STRIDE = (64, 128), 16


def coverage_gate(image: np.ndarray) -> np.ndarray:
    """A stand-in gate: each window's score is the share of the image's bright pixels that lie inside it (1 for a
    window that holds a lone bright plate wholly)."""
    bright = (image > 128).astype(np.float64)
    integral = cv2.integral(bright)
    rows, cols = (image.shape[0] - WINDOW[0]) // STRIDE + 1, (image.shape[1] - WINDOW[1]) // STRIDE + 1
    y, x = np.arange(rows)[:, None] * STRIDE, np.arange(cols)[None, :] * STRIDE
    inside = (integral[y + WINDOW[0], x + WINDOW[1]] - integral[y, x + WINDOW[1]] - integral[y + WINDOW[0], x]
              + integral[y, x])
    return inside / max(bright.sum(), 1.0)


def photo_with_plate(box: tuple[int, int, int, int]) -> np.ndarray:
    """A dark 400x600 photo with one bright plate."""
    image = np.full((400, 600), 30, np.uint8)
    x, y, w, h = box
    image[y : y + h, x : x + w] = 230
    return image


def test_shares_above_each_threshold():
    assert above(np.array([0.2, 0.6, 0.99]), (0.1, 0.5, 0.995)) == (1.0, pytest.approx(2 / 3), 0.0)
    assert above(np.zeros(0), (0.5,)) == (0.0,)


def test_a_plate_scores_what_the_best_window_holding_it_scores():
    box = (200, 150, 120, 30)
    photo = photo_with_plate(box)
    assert plate_score(coverage_gate, photo, box, WINDOW, STRIDE, 0.7) == pytest.approx(1.0)
    assert plate_score(coverage_gate, photo, (40, 300, 120, 30), WINDOW, STRIDE, 0.7) == 0.0  # nothing bright there
    assert plate_score(lambda image: np.zeros((1, 1)), photo, box, WINDOW, STRIDE, 0.7) == 0.0


def test_calibration_covers_photo_sets_with_boxes_and_clips(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    plate, empty = (200, 150, 120, 30), (40, 300, 120, 30)
    cv2.imwrite(str(photos / "car.png"), photo_with_plate(plate))
    with (photos / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "plate_text", "x", "y", "w", "h"])
        writer.writerows([["car.png", "AB123CD", *plate], ["car.png", "XY987ZW", *empty]])
    crops = tmp_path / "crops"  # no boxes: left out
    crops.mkdir()
    (crops / "manifest.csv").write_text("file,plate_text\ncar.png,AB123CD\n")
    clip = tmp_path / "video_demo"
    clip.mkdir()
    shutil.copy(DEMO, clip / "clip.mp4")
    (clip / "truth.csv").write_text("file,plate_text\nclip.mp4,AB12CDE\n")

    rows = list(calibrate(tmp_path, coverage_gate, STRIDE, ScanSpec(full_scan_every=30), WINDOW))
    assert [(row.name, row.kind) for row in rows] == [("photos", "plates"), ("video_demo", "windows")]
    assert rows[0].items == 2 and rows[0].shares[:3] == (0.5, 0.5, 0.5)
    assert rows[1].items > 1000 and list(rows[1].shares) == sorted(rows[1].shares, reverse=True)
    assert 0 < rows[1].shares[0] < 1


def test_an_unreadable_photo_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.csv").write_text("file,plate_text,x,y,w,h\nmissing.png,AB123CD,10,10,100,25\n")
    with pytest.raises(FileNotFoundError, match="cannot read image .*missing.png"):
        list(calibrate(tmp_path, coverage_gate, STRIDE, ScanSpec(), WINDOW))


def test_the_command_prints_a_row_per_set_with_the_shipped_gate(tmp_path):
    from conftest import anpr

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "car.png"), photo_with_plate((200, 150, 120, 30)))
    (photos / "manifest.csv").write_text("file,plate_text,x,y,w,h\ncar.png,AB123CD,200,150,120,30\n")
    result = anpr("calibrate-gate", str(tmp_path))
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["set", "kind", "items"] and "0.995" in header
    assert row.split()[:3] == ["photos", "plates", "1"] and len(row.split()) == 3 + 10
