"""The crop reader: generated plate crops, cutting a plate box from a frame, and a tiny training run from a real crop
bank through ONNX export to reading crops with ONNX Runtime."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognizer.reader import CropReader, cut_crop, edge_widening, fit_crop
from recognizer.spec import ModelSpec, PlateFormat, ReaderSpec, RendererSpec, TrainSpec
from recognizer.synth.crops import CropGenerator
from recognizer.synth.designs import DESIGNS

READER = ReaderSpec()
CROP_MODEL = READER.crop_model(ModelSpec())


def test_crops_hold_one_row_plates_labelled_with_their_characters():
    generator = CropGenerator(CROP_MODEL, RendererSpec(), seed=3)
    batch = generator.batch(np.random.default_rng(0), 24)
    assert batch.images.shape == (24, 48, 192) and batch.images.dtype == np.uint8
    assert batch.chars.shape == (24, 9)
    blank = len(CROP_MODEL.alphabet)
    for text, chars in zip(batch.texts, batch.chars):
        assert 4 <= len(text) <= 9
        assert "".join(CROP_MODEL.alphabet[c] for c in chars if c != blank) == text
        assert (chars[len(text):] == blank).all()
    assert all(DESIGNS[f.design].rows == 1 for f in generator.formats)
    # The plate box, as shares of the crop, is about the crop: the margins are those of an imprecise detector box.
    widths = batch.boxes[:, 2] - batch.boxes[:, 0]
    assert (widths > 0.7).all() and (widths < 1.1).all()
    assert batch.images.std(axis=(1, 2)).mean() > 10  # not blank


def test_two_row_designs_alone_are_refused():
    two_rows = RendererSpec(formats=[PlateFormat(name="sq", pattern="LLNN LLL", design="uk_square")])
    with pytest.raises(ValueError, match="one-row"):
        CropGenerator(CROP_MODEL, two_rows)


def test_cut_crop_widens_the_box_by_its_margins_and_repeats_the_frame_edge():
    frame = np.zeros((40, 100), np.uint8)
    frame[10:20, 20:60] = 200  # the plate
    spec = ReaderSpec(height=16, width=32, margin_x=0.25, margin_y=0.5)
    crop = cut_crop(frame, (20, 10, 40, 10), spec)  # cut: x 10..70, y 5..25, the plate in its middle two thirds
    assert crop.shape == (16, 32)
    assert crop[8, 16] == 200 and crop[8, 1] == 0 and crop[1, 16] == 0
    edge = cut_crop(frame, (-10, 10, 40, 10), spec)  # past the frame's left edge: its first column repeated
    assert edge.shape == (16, 32) and edge[8, 0] == 0
    np.testing.assert_array_equal(fit_crop(np.full((5, 7), 9, np.uint8), 16, 32), np.full((16, 32), 9, np.uint8))


def test_a_reading_that_reaches_an_end_of_its_crop_widens_the_cut_on_that_side():
    blank = [0.0, 0.0, 1.0]  # classes: two characters and "no character"
    char = [0.9, 0.05, 0.05]
    columns = np.array([[blank, blank, char, blank, char, blank, blank, blank, blank, blank],  # within neither end
                        [blank, char, blank, char, blank, blank, blank, blank, blank, blank],  # the left end
                        [blank, blank, blank, blank, blank, blank, blank, blank, char, blank],  # the right end
                        [char, blank, blank, blank, blank, blank, blank, blank, blank, char],  # both
                        [blank] * 10])  # nothing read
    np.testing.assert_allclose(edge_widening(columns, 1, 0.15),
                               [[0, 0], [0.15, 0], [0, 0.15], [0.15, 0.15], [0, 0]])
    assert not edge_widening(columns, 0, 0.15)[1:3].any()  # one column from the end is not at it


def test_a_tiny_run_renders_a_bank_trains_resumes_exports_and_reads(tmp_path: Path):
    from recognizer.training.bank import render_bank
    from recognizer.training.train_reader import export_reader, train_reader

    bank = tmp_path / "bank"
    render_bank(CROP_MODEL, RendererSpec(), bank, 48, workers=1, shard_size=24, generator=CropGenerator)
    with np.load(bank / "shard_00001.npz") as shard:
        assert shard["images"].shape == (24, 48, 192)
    # Real plates for validation: a crop set (no boxes) of generated crops written as files.
    manifest = tmp_path / "real" / "manifest.csv"
    manifest.parent.mkdir()
    crops = CropGenerator(CROP_MODEL, RendererSpec(), seed=9).batch(np.random.default_rng(1), 4)
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "plate_text", "x", "y", "w", "h"])
        for i, (image, text) in enumerate(zip(crops.images, crops.texts)):
            cv2.imwrite(str(manifest.parent / f"{i}.png"), image)
            writer.writerow([f"{i}.png", text, "", "", "", ""])

    tiny = TrainSpec(batch_size=8, steps_per_epoch=2, epochs=1, val_windows=8, bank=bank, real_crops=manifest, keep="last")
    run = tmp_path / "run"
    train_reader(ModelSpec(), RendererSpec(), READER, tiny, run)
    out = tmp_path / "reader.weights.h5"
    kept = train_reader(ModelSpec(), RendererSpec(), READER, tiny.model_copy(update={"epochs": 2}), run, out)  # resumes
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(r["real_exact"] is not None and np.isfinite(r["loss"]) for r in records)
    assert kept == run / "last.weights.h5" and out.read_bytes() == kept.read_bytes()

    onnx = tmp_path / "reader.onnx"
    export_reader(out, ModelSpec(), READER, onnx)
    reader = CropReader(onnx, CROP_MODEL, READER)
    columns = reader.columns(crops.images)
    assert columns.shape == (4, 48, CROP_MODEL.classes)
    np.testing.assert_allclose(columns.sum(axis=-1), 1.0, atol=1e-4)
    assert reader.chars(crops.images).shape == (4, 9, CROP_MODEL.classes)
    assert len(reader.read(crops.images)) == 4
    frame = np.full((120, 300), 90, np.uint8)
    frame[40:88, 50:242] = crops.images[0]
    assert reader.read_boxes(frame, np.array([[60.0, 45, 170, 38]])).shape == (1, 9, CROP_MODEL.classes)
    assert reader.read_boxes(frame, np.zeros((0, 4))).shape == (0, 9, CROP_MODEL.classes)
    assert reader.read_whole(crops.images[0]).shape == (9, CROP_MODEL.classes)

    # Enabled in a config, it reads every candidate of the scanner and photos that are only the plate, as many
    # positions as the window network reads (7 for a Brazilian camera), fitted to the camera's formats.
    from stream.config import load_config
    from stream.frames import build_scanner, load_crop_reader
    from stream.pipeline import load_network

    config = load_config(Path("configs/dev_br.yaml"))
    config = config.model_copy(update={"reader": READER.model_copy(update={"onnx": onnx})})
    crop_reader = load_crop_reader(config)
    assert crop_reader.fit is not None
    assert crop_reader.read_whole(crops.images[0]).shape == (7, CROP_MODEL.classes)
    network = load_network(config)
    stream, photos = build_scanner(config, network), build_scanner(config, network, photos=True)
    assert stream.read_boxes is not None and stream.spec.reread_widths == ()  # reader.streams: crop
    assert photos.read_boxes is not None and photos.spec.reread_widths  # reader.photos: both
    windows = config.model_copy(update={"reader": config.reader.model_copy(update={"streams": "windows"})})
    assert build_scanner(windows, network).read_boxes is None
