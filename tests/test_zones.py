"""Zones: polygon geometry on small literal arrays, the config's checks, what the scanner scans with zones, and a
zone over one demo car giving that car's event alone."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from conftest import DEMO, anpr, events
from detector.spec import ZoneSpec
from detector.zones import (FrameZones, points_in_polygon, polygon_area, polygon_box, restrict_regions, scan_areas,
                            to_pixels, zone_of)
from stream.config import DEMO_CONFIG, load_config
from stream.frames import FrameReader
from stream.pipeline import load_network

SQUARE = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]])
L_SHAPE = np.array([[0.0, 0.0], [20.0, 0.0], [20.0, 10.0], [10.0, 10.0], [10.0, 20.0], [0.0, 20.0]])


def test_polygon_area_either_way_round():
    assert polygon_area(SQUARE) == 400.0
    assert polygon_area(SQUARE[::-1]) == 400.0
    assert polygon_area(L_SHAPE) == 300.0
    assert polygon_area(np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]])) == 0.0


def test_points_in_a_concave_polygon():
    points = np.array([[5.0, 5.0], [15.0, 5.0], [15.0, 15.0], [5.0, 15.0], [25.0, 5.0], [-1.0, 5.0]])
    assert points_in_polygon(points, L_SHAPE).tolist() == [True, True, False, True, False, False]
    edges = np.array([[10.0, 20.0], [30.0, 20.0], [20.0, 10.0], [20.0, 30.0]])  # left, right, top, bottom edge
    assert points_in_polygon(edges, SQUARE).tolist() == [True, False, True, False]


def test_shares_become_pixels():
    shares = np.array([[0.0, 0.5], [1.0, 0.5], [1.0, 1.0]])
    assert to_pixels(shares, "shares", (360, 640)).tolist() == [[0.0, 180.0], [640.0, 180.0], [640.0, 360.0]]
    assert to_pixels(SQUARE, "pixels", (360, 640)).tolist() == SQUARE.tolist()


def test_each_box_goes_to_the_first_zone_holding_its_centre():
    big = np.array([[0.0, 0.0], [40.0, 0.0], [40.0, 40.0], [0.0, 40.0]])
    boxes = np.array([[12.0, 12.0, 4.0, 4.0],   # centre (14, 14): in the square and in the big square
                      [0.0, 0.0, 6.0, 6.0],     # centre (3, 3): in the L and in the big square
                      [40.0, 40.0, 4.0, 4.0],   # centre (42, 42): nowhere
                      [25.0, 5.0, 10.0, 30.0]])  # centre (30, 20): on the square's right edge, in the big square
    assert zone_of(boxes, [SQUARE, L_SHAPE]).tolist() == [0, 1, -1, -1]
    assert zone_of(boxes, [SQUARE, L_SHAPE, big]).tolist() == [0, 1, -1, 2]
    assert zone_of(boxes, [big, SQUARE]).tolist() == [0, 0, -1, 0]
    assert zone_of(boxes, []).tolist() == [-1, -1, -1, -1]


def test_scan_areas_grow_the_zones_bounding_boxes_and_stay_in_the_frame():
    assert polygon_box(L_SHAPE).tolist() == [0.0, 0.0, 20.0, 20.0]
    areas = scan_areas([SQUARE], (5.0, 2.0), (100, 100))
    assert areas.tolist() == [[5.0, 8.0, 30.0, 24.0]]
    areas = scan_areas([SQUARE, L_SHAPE], (5.0, 5.0), (100, 100))  # overlapping: merged, cut at the frame's edge
    assert areas.tolist() == [[0.0, 0.0, 35.0, 35.0]]


def test_regions_are_cut_to_the_areas():
    areas = np.array([[0.0, 0.0, 10.0, 10.0], [50.0, 0.0, 10.0, 10.0]])
    regions = np.array([[5.0, 5.0, 50.0, 2.0], [20.0, 20.0, 5.0, 5.0]])
    assert restrict_regions(regions, areas).tolist() == [[5.0, 5.0, 5.0, 2.0], [50.0, 5.0, 5.0, 2.0]]
    assert restrict_regions(None, areas).tolist() == areas.tolist()  # a whole-frame scan: the areas alone
    assert restrict_regions(np.zeros((0, 4)), areas).shape == (0, 4)


def test_frame_zones_name_the_zone_of_each_box():
    zones = [ZoneSpec(name="left", units="shares", points=[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]),
             ZoneSpec(name="right", points=[[50, 0], [100, 0], [100, 50]])]
    laid = FrameZones.build(zones, (50, 100), (10.0, 5.0))
    assert laid.locate(np.array([[10.0, 10.0, 10.0, 4.0], [80.0, 10.0, 10.0, 4.0], [60.0, 40.0, 4.0, 4.0]])) == [
        "left", "right", None]
    assert laid.areas.tolist() == [[0.0, 0.0, 100.0, 50.0]]


@pytest.mark.parametrize("points, units, message", [
    ([[0, 0], [10, 0]], "pixels", "at least 3 items"),
    ([[0, 0], [10, 0], [20, 0]], "pixels", "enclose no area"),
    ([[0, 0], [1.5, 0], [0, 1]], "shares", "between 0 and 1"),
    ([[0, 0], [-5, 0], [0, 9]], "pixels", "not negative"),
    ([[0, 0, 1], [5, 0], [0, 9]], "pixels", "at most 2 items"),
])
def test_malformed_polygons_are_refused(points, units, message):
    with pytest.raises(ValidationError, match=message):
        ZoneSpec(name="lane", units=units, points=points)


def test_zone_fields_are_checked():
    with pytest.raises(ValidationError, match="entry"):
        ZoneSpec(name="lane", points=[[0, 0], [5, 0], [0, 5]], entry="north")
    with pytest.raises(ValidationError, match="extra"):
        ZoneSpec(name="lane", points=[[0, 0], [5, 0], [0, 5]], colour="red")


ONE_CAR_ZONE = """
source:
  zones:
    - name: lane
      points: [[0, 276], [640, 276], [640, 284.5], [0, 284.5]]
      entry: right
"""
"""A strip of the demo frame that the centre of VA48DFV's plate crosses, and no other car's (their centres pass a
few pixels lower)."""


def zone_config(tmp_path: Path, zones: str = ONE_CAR_ZONE) -> Path:
    path = tmp_path / "zone.yaml"
    path.write_text(DEMO_CONFIG.read_text() + zones)
    return path


def test_a_zone_over_one_demo_car_gives_that_cars_event_alone(tmp_path, io_args):
    result = anpr("run", str(DEMO), "--config", str(zone_config(tmp_path)), "--json", *io_args)
    assert result.returncode == 0, result.stderr
    found = events(result.stdout)
    assert [(e["plate"], e["zone"], e["zone_event"]) for e in found] == [("VA48DFV", "lane", "entering")], result.stderr
    assert found[0]["direction"]["labels"] == ["right"]


def test_a_zone_scans_only_its_part_of_the_frame(tmp_path):
    config = load_config(zone_config(tmp_path))
    network = load_network(config)
    capture = cv2.VideoCapture(str(DEMO))
    scanned, texts = [], set()
    with FrameReader(config, network) as reader:
        zones = None
        for index in range(40):
            ok, image = capture.read()
            assert ok
            reads = reader.read(image, index, index / 10).reads
            texts |= {r.text for r in reads}
            zones = reader.scanner.frame_zones(image.shape[:2])
            regions = reader.scanner.regions
            assert regions is not None  # never the whole frame, the first frame neither
            inside = restrict_regions(regions, zones.areas)
            assert np.isclose((inside[:, 2] * inside[:, 3]).sum(), (regions[:, 2] * regions[:, 3]).sum())
            scanned.append((regions[:, 2] * regions[:, 3]).sum() / (360 * 640))
            assert all(r.zone == "lane" for r in reads)
    # The strip's scan area: the strip grown by half the widest plate's window height (170 / 0.7 / 2 / 2 = 61 px).
    assert zones.areas.tolist() == [[0.0, pytest.approx(215.3, abs=0.1), 640.0, pytest.approx(129.9, abs=0.1)]]
    assert max(scanned) < 0.37
    assert "VA48DFV" in texts and all(t in "VA48DFV" for t in texts), texts  # that car's plate (or part of it) only


def test_a_malformed_polygon_is_a_config_error_naming_it(tmp_path):
    bad = zone_config(tmp_path, "source:\n  zones:\n    - {name: lane, points: [[0, 10], [640, 10], [1280, 10]]}\n")
    result = anpr("run", str(DEMO), "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"anpr: error: config {bad}: source.zones.0.points=[[0, 10], [640, 10], [1280, 10]]: "
        "Value error, points enclose no area")
    unknown = zone_config(tmp_path, "cameras:\n  - {name: gate, source: x.mp4, zones: [{name: a, points: [[0, 0], [9, 0], [0, 9]], colour: red}]}\n")
    result = anpr("run", "--config", str(unknown))
    assert result.returncode == 2 and "cameras.0.zones.0.colour='red'" in result.stderr, result.stderr
