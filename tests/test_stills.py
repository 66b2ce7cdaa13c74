"""``anpr read`` and ``anpr eval`` on images cut from the demo clip, whose plate boxes are known."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DEMO, anpr
from detector.geometry import iou
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


def overlapping_plate(line: dict, box: list[int]) -> dict | None:
    """The read plate that overlaps the labelled box by the eval's IoU, if any."""
    import numpy as np

    from detector.geometry import iou

    if not line["plates"]:
        return None
    overlaps = iou(np.array([box], float), np.array([p["box"] for p in line["plates"]], float))[0]
    return line["plates"][int(overlaps.argmax())] if overlaps.max() >= 0.4 else None


def overlapping_text(line: dict, box: list[int]) -> str | None:
    """Text of the read plate that overlaps the labelled box by the eval's IoU, if any."""
    plate = overlapping_plate(line, box)
    return None if plate is None else plate["text"]


def test_read_finds_every_plate_and_prints_one_json_line_per_image(demo_stills):
    images = sorted(demo_stills.glob("*.jpg"))
    lines = read_json(images)
    assert [line["file"] for line in lines] == [p.name for p in images]
    boxes = labelled_boxes(demo_stills)
    for line in lines:
        assert line["ms"] > 0
        plate = overlapping_plate(line, boxes[line["file"]])
        assert plate is not None, line
        assert plate["format"] in ("uk_front", "es"), plate  # the demo's British and Spanish plates fit their formats
        for plate in line["plates"]:
            assert set(plate) == {"text", "confidence", "box", "format"} and len(plate["box"]) == 4
            assert 0.0 <= plate["confidence"] <= 1.0


def eval_json(*args: str) -> list[dict]:
    result = anpr("eval", *args, "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_eval_agrees_with_read(demo_stills):
    images = sorted(demo_stills.glob("*.jpg"))
    boxes = labelled_boxes(demo_stills)
    lines = read_json(images)
    exact = sum(overlapping_text(line, boxes[line["file"]]) == Path(line["file"]).stem for line in lines)
    found = sum(overlapping_text(line, boxes[line["file"]]) is not None for line in lines)
    false = sum(len(line["plates"]) for line in lines) - found
    [row] = eval_json(str(demo_stills / "manifest.csv"))
    assert row["kind"] == "stills" and row["items"] == 3 and row["ms"] > 0, row
    assert (row["exact"], row["found"], row["false_reads"]) == (exact / 3, found / 3, false), (row, lines)
    [crops] = eval_json(str(demo_stills / "crops" / "manifest.csv"))
    assert crops["kind"] == "crops" and crops["items"] == 3 and crops["found"] is None, crops


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
    [row] = eval_json(str(demo_stills / "crops" / "manifest.csv"), "--config", str(path))
    assert row["exact"] == np.mean([t == r.text for t, r in zip(texts, rows)]), row


def test_a_large_photo_is_shrunk_and_its_large_plate_found(demo_stills, tmp_path):
    """A demo frame enlarged 6x (3840x2160, plates 700-800 pixels wide, past the widths a 1280x720 camera scans):
    ``anpr read`` scans it at ``scan.still_max_side`` with plate widths relative to the photo, finds each plate at
    its enlarged box and reads it as in the small frame, in about the time of the small frame."""
    names = sorted(p.name for p in demo_stills.glob("*.jpg"))
    big = tmp_path / "big"
    big.mkdir()
    for name in names:
        image = cv2.imread(str(demo_stills / name))
        cv2.imwrite(str(big / name), cv2.resize(image, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC))
    small, large = read_json([demo_stills / n for n in names]), read_json([big / n for n in names])
    boxes = labelled_boxes(demo_stills)
    for small_line, large_line in zip(small, large):
        box = [6 * v for v in boxes[small_line["file"]]]
        assert overlapping_text(large_line, box) == Path(large_line["file"]).stem, large_line
    assert sum(line["ms"] for line in large) < 3 * sum(line["ms"] for line in small) + 1500, (small, large)


def test_a_photo_of_the_plate_alone_is_read_whole(demo_stills):
    """A crop (plate-shaped, the plate filling it) is read as one plate, with the reading of the reader alone, its
    box where the window network's box head places the plate in the crop (the fixture's margins around it)."""
    from recognizer.realdata import read_crops
    from stream.config import load_config
    from stream.pipeline import load_network

    crops = sorted((demo_stills / "crops").glob("*.jpg"))
    config = load_config(None)
    texts = read_crops(load_network(config), [cv2.imread(str(c), cv2.IMREAD_GRAYSCALE) for c in crops], config.model,
                       config.format_check, config.scan.reread_widths, config.scan.reread_shifts)
    for crop, text, line in zip(crops, texts, read_json(crops)):
        height, width = cv2.imread(str(crop)).shape[:2]
        w = next(v for v in range(width, 0, -1) if v + 2 * (v // 12) == width)
        h = next(v for v in range(height, 0, -1) if v + 2 * (v // 3) == height)
        [plate] = line["plates"]
        assert plate["text"] == text, line
        assert iou(np.array([plate["box"]], float), np.array([[w // 12, h // 3, w, h]], float))[0, 0] > 0.7, line
    assert sum(t == c.stem for t, c in zip(texts, crops)) >= 2, texts


def test_a_plate_too_wide_for_a_window_in_the_photo_is_found_with_room_added_around_it(demo_stills, tmp_path):
    """A photo taken so close that its plate spans 77% of its width (a window holds a plate at 70% of its own
    width, so none fits in the photo): the scan finds nothing, scans again with the photo's edges repeated around
    it, and finds the plate at its box, not the whole photo read as a plate."""
    from stream.stills import window_padding

    assert window_padding((480, 640), 0.9 * 640 / 0.7, 0.5) == (92, 0)
    assert window_padding((480, 640), 0.7 * 640 / 0.7, 0.5) == (0, 0)
    boxes = labelled_boxes(demo_stills)
    close = tmp_path / "close"
    close.mkdir()
    expected = {}
    for name, (x, y, w, h) in boxes.items():
        width = round(w / 0.77)
        height = round(0.75 * width)
        x0, y0 = x - (width - w) // 2, y - (height - h) // 2
        photo = cv2.imread(str(demo_stills / name))[y0 : y0 + height, x0 : x0 + width]
        cv2.imwrite(str(close / name), cv2.resize(photo, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC))
        expected[name] = [4 * (x - x0), 4 * (y - y0), 4 * w, 4 * h]
    lines = read_json(sorted(close.glob("*.jpg")))
    found = [overlapping_text(line, expected[line["file"]]) for line in lines]
    assert sum(text == Path(line["file"]).stem for text, line in zip(found, lines)) >= 2, lines  # 1 without the room


def test_a_photo_where_only_text_that_fits_no_format_is_read_is_scanned_again_with_room(monkeypatch):
    """A close-up whose plate no window holds, but whose dealer frame's text is read (``HANSJONGERIUS.NL`` under
    ``96-LKH-9`` in ``nl_delft_frames``): it is scanned again with room around it, and those reads count where they
    find a plate, their boxes back in the photo's pixels; where they find none either, the first reads stay."""
    from detector.types import StageTimes
    from stream.config import load_config
    from stream.events import PlateRead
    from stream.frames import FrameReader, FrameReads
    from stream.pipeline import load_network
    from stream.stills import StillReader

    def read(text: str, box: tuple[float, float, float, float], plate_format: str | None) -> PlateRead:
        return PlateRead(0, 0.0, box, 0.99, np.zeros((7, 37)), text, 0.9, plate_format=plate_format)

    frame_text = read("HANSJNGER", (194.0, 222.0, 117.0, 25.0), None)
    padded_reads = {"plate": [read("96LKH9", (164.0, 109.0, 479.0, 117.0), "nl"), frame_text], "none": [frame_text]}
    scanned = []

    def fake_read(self, image, index=0, time_s=0.0, track_boxes=None):
        scanned.append(image.shape)
        reads = [frame_text] if image.shape == (480, 640) else padded_reads[case]
        return FrameReads(tuple(reads), StageTimes(0.0, 0.0, 0.0), 0.0, 0.0)

    monkeypatch.setattr(FrameReader, "read", fake_read)
    config = load_config(None)
    photo = np.zeros((480, 640), np.uint8)
    with StillReader(config, load_network(config)) as reader:
        case = "plate"
        [plate, text] = reader.read(photo)
        assert len(scanned) == 2 and scanned[1][1] > 640, scanned
        pad = (scanned[1][1] - 640) // 2
        assert plate.text == "96LKH9" and plate.box == (164.0 - pad, 109.0, 479.0, 117.0)
        assert text.box == (194.0 - pad, 222.0, 117.0, 25.0)
        case = "none"
        [text] = reader.read(photo)
        assert text.box == frame_text.box  # the first scan's read, where it was


def test_photo_plate_widths_follow_the_photo_unless_the_config_sets_them(tmp_path):
    import numpy as np

    from stream.config import load_config
    from stream.stills import looks_like_plate, still_scan, working_image

    work, factor = working_image(np.zeros((3888, 5184), np.uint8), 1920)
    assert work.shape == (1440, 1920) and factor == 1920 / 5184
    scan = load_config(None).scan
    assert not scan.widths_given
    relative = still_scan(scan, 1920, factor)
    assert (relative.min_plate_width, relative.max_plate_width) == (round(0.047 * 1920), 1440)
    path = tmp_path / "camera.yaml"
    path.write_text("scan:\n  min_plate_width: 100\n  max_plate_width: 480\n")
    absolute = still_scan(load_config(path).scan, 1920, 0.5)
    assert (absolute.min_plate_width, absolute.max_plate_width) == (50, 240)
    assert looks_like_plate((80, 160)) and not looks_like_plate((720, 1280)) and not looks_like_plate((960, 1280))


def test_read_missing_path_fails_clearly(tmp_path):
    result = anpr("read", str(tmp_path / "none.jpg"))
    assert result.returncode == 2 and "anpr: error: not found" in result.stderr


def test_read_reads_the_readable_images_and_fails_for_an_unreadable_one(demo_stills, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    photo = sorted(demo_stills.glob("*.jpg"))[0]
    result = anpr("read", str(broken), str(photo))
    assert result.returncode == 2
    assert "skipping unreadable image" in result.stderr and "anpr: error: 1 of 2 images could not be read" in result.stderr
    assert result.stdout.startswith(f"{photo.name}: ")


def test_boxes_are_cut_to_the_photo():
    from stream.stills import photo_box

    assert photo_box((-20.0, 10.0, 100.0, 30.0), (480, 640)) == (0.0, 10.0, 80.0, 30.0)
    assert photo_box((10.0, 470.0, 20.0, 20.0), (480, 640)) == (10.0, 470.0, 20.0, 10.0)
    assert photo_box((700.0, 10.0, 50.0, 20.0), (480, 640)) is None
