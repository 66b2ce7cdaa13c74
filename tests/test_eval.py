"""``anpr eval`` over a folder of labelled sets (photos with boxes, photos without, crops, a clip) in one table, and
``anpr bench`` scoring a clip's plate events against its truth."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from conftest import DEMO, anpr
from recognizer.synth.clip import load_truth
from stream.bench import EventScore, clip_of, score_events
from stream.stills import ItemError, with_other_labels
from test_stills import demo_stills  # noqa: F401 (the fixture)

DEMO_PLATES = [v.plate for v in load_truth(DEMO)]
UNSEEN = "ZZ99ZZZ"
"""A truth row of a plate the demo clip never shows."""


@pytest.fixture(scope="module")
def dev_folder(demo_stills, tmp_path_factory) -> Path:  # noqa: F811
    """A folder of sets laid out as the dev data: photos with boxes, the same photos without, plate crops, and the
    demo clip with a ``truth.csv`` that also lists a plate it never shows."""
    root = tmp_path_factory.mktemp("dev")
    shutil.copytree(demo_stills, root / "boxes", ignore=shutil.ignore_patterns("crops"))
    shutil.copytree(demo_stills / "crops", root / "crops")
    shutil.copytree(demo_stills, root / "no_boxes", ignore=shutil.ignore_patterns("crops"))
    manifest = root / "no_boxes" / "manifest.csv"
    with manifest.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with manifest.open("w", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *([r[0], r[1], "", "", "", "", *r[6:]] for r in rows[1:])])
    video = root / "video_demo"
    video.mkdir()
    shutil.copy(DEMO, video / "clip.mp4")
    with (video / "truth.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["file", "plate_text", "seen_at_seconds", "note"],
                                      *(["clip.mp4", p, "", ""] for p in [*DEMO_PLATES, UNSEEN])])
    return root


def test_events_are_scored_by_the_dev_data_rule():
    plates = ("AB12CDE", "XY34ZZZ", "JLN390")
    score = score_events(("AB12CDE", "AB12CDE", "JLN39O", "NOPLATE"), plates)
    assert (score.read, score.read_o0, score.false, score.duplicates) == (1, 2, 2, 1)
    assert score_events((), plates) == EventScore(0, 0, 0, 0)


def test_an_error_read_as_another_item_is_labelled_is_flagged():
    labels = {"AFV1534", "AEV1534", "ART3532"}
    errors = (ItemError("1.jpg", "AEV1534", "AFV1534", 0.9), ItemError("2.jpg", "AFV1534", "AFV153", 0.5),
              ItemError("3.jpg", "ART3532", "XY12 AEV1534"), ItemError("4.jpg", "ART3532", ""))
    assert [e.another_label for e in with_other_labels(errors, labels)] == [True, False, True, False]
    assert with_other_labels(errors, labels)[0] == ItemError("1.jpg", "AEV1534", "AFV1534", 0.9, another_label=True)


def test_one_table_of_every_set(dev_folder, tmp_path):
    errors_csv = tmp_path / "errors.csv"
    result = anpr("eval", str(dev_folder), "--config", "configs/demo.yaml", "--json", "--errors", str(errors_csv),
                  timeout=600)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert {name: row["kind"] for name, row in rows.items()} == {
        "boxes": "stills", "crops": "crops", "no_boxes": "stills", "video_demo": "video"}
    assert all(row["items"] == 3 for name, row in rows.items() if name != "video_demo"), rows
    boxes, no_boxes = rows["boxes"], rows["no_boxes"]
    assert boxes["found"] is not None and no_boxes["found"] is None
    assert no_boxes["exact"] >= boxes["exact"]  # matched by text, a read anywhere in the photo counts
    video = rows["video_demo"]
    assert video["items"] == 4 and video["exact"] == 0.75, video  # every demo plate, not the unseen one
    assert (video["false_reads"], video["duplicates"]) == (0, 0) and video["ms"] > 0, video
    # the errors file lists each plate not read exactly: as many per set as the table's exact share leaves
    with errors_csv.open(newline="") as handle:
        errors = list(csv.DictReader(handle))
    for name, row in rows.items():
        assert sum(e["set"] == name for e in errors) == round(row["items"] * (1 - row["exact"])), (name, errors)
    assert {"set": "video_demo", "file": "clip.mp4", "truth": UNSEEN, "read": "", "confidence": "",
            "another_label": ""} in errors
    table = anpr("eval", str(dev_folder / "crops"), "--lengths", "8", timeout=600)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["set", "kind", "items", "exact"] and row.split()[:3] == ["crops", "crops", "0"]


def test_a_folder_without_sets_fails_clearly(tmp_path):
    result = anpr("eval", str(tmp_path))
    assert result.returncode == 2 and "anpr: error: no labelled set" in result.stderr


def test_an_errors_file_that_cannot_be_written_fails_before_scoring(dev_folder, tmp_path):
    result = anpr("eval", str(dev_folder / "crops"), "--errors", str(tmp_path / "missing" / "errors.csv"))
    assert result.returncode == 2 and "anpr: error:" in result.stderr and result.stdout == ""


def test_bench_scores_a_clip_against_its_truth(dev_folder):
    clip = clip_of(dev_folder / "video_demo")
    assert clip.video.name == "clip.mp4" and clip.plates == (*DEMO_PLATES, UNSEEN)
    result = anpr("bench", str(dev_folder / "video_demo"), "--config", "configs/demo.yaml", "--no-live", timeout=600)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("video_demo"))
    assert "3/0/0 of 4:" in row and all(p in row for p in DEMO_PLATES), result.stdout
    assert result.stdout.startswith("cpu: "), result.stdout  # the figures name the CPU they were measured on


def test_machine_line_names_the_cpu_and_its_vector_features():
    import onnxruntime

    from stream.bench import machine_line

    intel = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6338\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"
    line = machine_line(intel)
    assert line.startswith("cpu: Intel(R) Xeon(R) Gold 6338 (avx2, avx512f, avx512_vnni), ")
    assert line.endswith(f" cores, onnxruntime {onnxruntime.__version__}")
    arm = "processor\t: 0\nFeatures\t: fp asimd asimddp\nModel\t: Raspberry Pi 5\n"
    assert machine_line(arm).startswith("cpu: Raspberry Pi 5 (asimddp), ")
    assert "(no vector features listed)" in machine_line("model name\t: Old CPU\nflags\t: fpu sse2\n")
