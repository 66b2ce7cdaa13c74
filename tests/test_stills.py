"""``anpr read`` and ``anpr eval`` on images cut from the demo clip, whose plate boxes are known."""

import csv
import json
from pathlib import Path

import cv2
import pytest

from conftest import DEMO, anpr
from recognizer.synth.clip import load_truth


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


def read_json(paths: list[Path]) -> list[dict]:
    result = anpr("read", *map(str, paths), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def labelled_boxes(folder: Path) -> dict[str, list[int]]:
    """File name to labelled plate box, from the folder's manifest."""
    with (folder / "manifest.csv").open(newline="") as handle:
        return {row["file"]: [int(row[k]) for k in ("x", "y", "w", "h")] for row in csv.DictReader(handle)}


def overlapping_text(line: dict, box: list[int]) -> str | None:
    """Text of the read plate that overlaps the labelled box by the eval's IoU, if any."""
    import numpy as np

    from detector.geometry import iou

    if not line["plates"]:
        return None
    overlaps = iou(np.array([box], float), np.array([p["box"] for p in line["plates"]], float))[0]
    return line["plates"][int(overlaps.argmax())]["text"] if overlaps.max() >= 0.4 else None


def test_read_finds_every_plate_and_prints_one_json_line_per_image(demo_stills):
    images = sorted(demo_stills.glob("*.jpg"))
    lines = read_json(images)
    assert [line["file"] for line in lines] == [p.name for p in images]
    boxes = labelled_boxes(demo_stills)
    for line in lines:
        assert line["ms"] > 0
        assert overlapping_text(line, boxes[line["file"]]) is not None, line
        for plate in line["plates"]:
            assert set(plate) == {"text", "confidence", "box"} and len(plate["box"]) == 4
            assert 0.0 <= plate["confidence"] <= 1.0


def test_eval_agrees_with_read(demo_stills):
    images = sorted(demo_stills.glob("*.jpg"))
    boxes = labelled_boxes(demo_stills)
    lines = read_json(images)
    exact = sum(overlapping_text(line, boxes[line["file"]]) == Path(line["file"]).stem for line in lines)
    found = sum(overlapping_text(line, boxes[line["file"]]) is not None for line in lines)
    result = anpr("eval", str(demo_stills / "manifest.csv"))
    assert result.returncode == 0, result.stderr
    assert f"3 plates  exact {exact / 3:.1%}" in result.stdout and f"found {found / 3:.1%}" in result.stdout, result.stdout
    crops = anpr("eval", str(demo_stills / "crops" / "manifest.csv"))
    assert crops.returncode == 0, crops.stderr
    assert "3 plates  exact" in crops.stdout and "found n/a (crops)" in crops.stdout


def test_a_constrained_camera_reads_every_crop_in_its_format(demo_stills, tmp_path):
    """With ``read.constrain``, the network reads through the format fit, and every demo crop (UK plates) reads as a
    UK plate; ``anpr eval`` scores the same camera."""
    import numpy as np

    from recognizer.decode import matching_format
    from recognizer.realdata import load_manifest, read_crops
    from stream.config import load_config
    from stream.pipeline import load_network

    path = tmp_path / "uk.yaml"
    path.write_text("read:\n  formats: [uk_front, uk_rear]\n  constrain: true\n")
    config = load_config(path)
    network = load_network(config)
    assert network.fit is not None and network.fit.lengths.tolist() == [7]
    rows = load_manifest(demo_stills / "crops" / "manifest.csv")
    grays = [cv2.imread(str(r.path), cv2.IMREAD_GRAYSCALE) for r in rows]
    texts = read_crops(network, grays, config.model, config.format_check)
    assert all(matching_format(t, list(config.format_check.formats)) for t in texts), texts
    assert load_network(load_config(None)).fit is None  # the default camera does not constrain
    result = anpr("eval", str(demo_stills / "crops" / "manifest.csv"), "--config", str(path))
    exact = np.mean([t == r.text for t, r in zip(texts, rows)])
    assert result.returncode == 0 and f"exact {exact:.1%}" in result.stdout, result.stdout + result.stderr


def test_read_missing_path_fails_clearly(tmp_path):
    result = anpr("read", str(tmp_path / "none.jpg"))
    assert result.returncode == 2 and "anpr: error: not found" in result.stderr
