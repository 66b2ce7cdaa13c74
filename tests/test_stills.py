"""``anpr read`` and ``anpr eval`` on images cut from the demo clip, whose plate boxes are known."""

import csv
import json
from pathlib import Path

import cv2
import pytest

from conftest import DEMO, anpr
from recognizer.clip import load_truth


@pytest.fixture(scope="module")
def demo_stills(tmp_path_factory) -> Path:
    """Folder with one frame per demo vehicle, a plate crop of each, and manifests for both."""
    folder = tmp_path_factory.mktemp("stills")
    crops = folder / "crops"
    crops.mkdir()
    capture = cv2.VideoCapture(str(DEMO))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    rows, crop_rows = [], []
    for vehicle in load_truth(DEMO):
        index = (vehicle.first_frame + vehicle.last_frame) // 2
        x, y, w, h = vehicle.boxes[str(index)]
        name = f"{vehicle.plate}.jpg"
        cv2.imwrite(str(folder / name), frames[index])
        mx, my = w // 12, h // 3
        cv2.imwrite(str(crops / name), frames[index][y - my : y + h + my, x - mx : x + w + mx])
        rows.append([name, vehicle.plate, x, y, w, h, "XX", "demo", name])
        crop_rows.append([name, vehicle.plate, "", "", "", "", "XX", "demo", name])
    header = ["file", "plate_text", "x", "y", "w", "h", "country", "source_repo", "source_path"]
    for path, content in ((folder / "manifest.csv", rows), (crops / "manifest.csv", crop_rows)):
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *content])
    return folder


def test_read_prints_one_json_line_per_image(demo_stills):
    images = sorted(demo_stills.glob("*.jpg"))
    result = anpr("read", *map(str, images), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [p.name for p in images]
    for line, path in zip(lines, images):
        assert line["ms"] > 0
        texts = [p["text"] for p in line["plates"]]
        assert path.stem in texts, line
        plate = line["plates"][texts.index(path.stem)]
        assert set(plate) == {"text", "confidence", "box"} and len(plate["box"]) == 4


def test_eval_scores_end_to_end_and_crop_sets(demo_stills):
    result = anpr("eval", str(demo_stills / "manifest.csv"))
    assert result.returncode == 0, result.stderr
    assert "3 plates  exact 100.0%  O/0-insensitive 100.0%  found 100.0%" in result.stdout
    crops = anpr("eval", str(demo_stills / "crops" / "manifest.csv"))
    assert crops.returncode == 0, crops.stderr
    assert "3 plates  exact 100.0%" in crops.stdout and "found n/a (crops)" in crops.stdout


def test_read_missing_path_fails_clearly(tmp_path):
    result = anpr("read", str(tmp_path / "none.jpg"))
    assert result.returncode == 2 and "anpr: error: not found" in result.stderr
