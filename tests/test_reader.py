"""The crop reader: generated plate crops, cutting a plate box from a frame, and a tiny training run from a real crop
bank through ONNX export to reading crops with ONNX Runtime."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.fill import pad_flat
from recognizer.reader import (CropReader, cut_crop, edge_widening, fit_crop, grown_boxes, jittered, one_or_two_rows,
                               unroll_rows)
from recognizer.spec import ModelSpec, PlateFormat, ReaderSpec, RendererSpec, TrainSpec
from recognizer.synth.crops import CropGenerator

READER = ReaderSpec()
CROP_MODEL = READER.crop_model(ModelSpec())


def test_crops_hold_plates_labelled_with_their_characters():
    generator = CropGenerator(CROP_MODEL, RendererSpec(), seed=3)
    batch = generator.batch(np.random.default_rng(0), 24)
    assert batch.images.shape == (24, 48, 192) and batch.images.dtype == np.uint8
    assert batch.chars.shape == (24, 9)
    blank = len(CROP_MODEL.alphabet)
    for text, chars in zip(batch.texts, batch.chars):
        assert 4 <= len(text) <= 9
        assert "".join(CROP_MODEL.alphabet[c] for c in chars if c != blank) == text
        assert (chars[len(text):] == blank).all()
    # The plate box, as shares of the crop, is about the crop: the margins are those of an imprecise detector box.
    widths = batch.boxes[:, 2] - batch.boxes[:, 0]
    assert (widths > 0.7).all() and (widths < 1.1).all()
    assert batch.images.std(axis=(1, 2)).mean() > 10  # not blank


def test_two_row_plates_are_drawn_in_their_share_of_the_crops_whatever_their_formats_weigh():
    rng = np.random.default_rng(0)
    for share in (0.15, 0.0):
        generator = CropGenerator(CROP_MODEL, RendererSpec(two_row_crops=share), seed=3)
        rows = []
        for _ in range(400):
            generator.plate(rng)
            rows.append(generator.rows)
        assert abs(rows.count(2) / 400 - share) < 0.05  # the default formats weigh them at about 2%
    two_rows = RendererSpec(formats=[PlateFormat(name="sq", pattern="LLNN LLL", design="uk_square")])
    batch = CropGenerator(CROP_MODEL, two_rows, seed=3).batch(rng, 4)
    assert batch.images.shape == (4, 48, 192) and all(len(t) == 7 for t in batch.texts)  # both rows, in one label


def test_unrolled_rows_put_the_top_row_left_and_the_bottom_row_right():
    cut = np.zeros((20, 8), np.uint8)
    cut[:10], cut[10:] = 50, 200  # the top row, the bottom row
    np.testing.assert_array_equal(unroll_rows(cut, 0.5, 0.0, 4, 16),
                                  np.hstack([np.full((4, 8), 50), np.full((4, 8), 200)]))
    overlapping = unroll_rows(cut, 0.5, 0.2, 12, 16)  # each strip reaches 4 rows of the other row
    assert (overlapping[:, :8] == 50).mean() < 1 and overlapping[0, 0] == 50 and overlapping[-1, 0] == 200
    assert overlapping[0, 8] == 50 and overlapping[-1, 8] == 200
    assert unroll_rows(cut, 0.0, 0.0, 4, 16).shape == (4, 16)  # a split at an edge leaves a strip of one row


def test_a_plate_is_read_as_two_rows_where_that_reads_more_characters_and_is_surer():
    sure, a, b, blank = [0.99, 0.01, 0.0], [0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0]
    one = np.array([[b, blank, blank],  # one character: the two rows read three, surer (0.97 against 0.8)
                    [a, b, blank],  # two characters, surer (0.72) than the two rows' three (0.58)
                    [a, b, blank],  # two characters: the two rows read as many, surer
                    [b, blank, blank]])  # one character: the two rows read none, surely
    two = np.array([[sure, sure, sure], [a, b, b], [sure, sure, blank], [blank, blank, blank]])
    np.testing.assert_array_equal(one_or_two_rows(one, two), np.stack([two[0], one[1], one[2], one[3]]))


def test_cut_crop_widens_the_box_by_its_margins_and_fills_beyond_the_frame_flat():
    frame = np.zeros((40, 100), np.uint8)
    frame[10:20, 20:60] = 200  # the plate
    spec = ReaderSpec(height=16, width=32, margin_x=0.25, margin_y=0.5)
    crop = cut_crop(frame, (20, 10, 40, 10), spec)  # cut: x 10..70, y 5..25, the plate in its middle two thirds
    assert crop.shape == (16, 32)
    assert crop[8, 16] == 200 and crop[8, 1] == 0 and crop[1, 16] == 0
    frame[:, :2] = 255  # a stroke along the frame's left edge
    edge = cut_crop(frame, (-10, 10, 40, 10), spec)  # past that edge: the cut's median gray, not the stroke repeated
    assert edge.shape == (16, 32) and edge[8, :10].max() == 0 and edge[8, 11] > 150  # the stroke where it lies
    np.testing.assert_array_equal(pad_flat(np.array([[1, 9, 9]], np.uint8), 1, 0, 0, 2),
                                  [[9, 9, 9, 9, 9], [1, 9, 9, 9, 9]])
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


def test_jittered_copies_move_and_scale_the_crop_about_its_centre():
    crop = np.zeros((8, 16), np.uint8)
    crop[2:6, 6:10] = 200  # a 4x4 square in the middle, its edges the background
    copies = jittered(crop, ((0, 0, 1.0), (2, 0, 1.0), (0, -1, 1.0), (0, 0, 0.5)))
    assert copies.shape == (4, 8, 16) and copies.dtype == np.uint8
    np.testing.assert_array_equal(copies[0], crop)
    np.testing.assert_array_equal(copies[1][:, 2:], crop[:, :-2])  # two pixels right
    np.testing.assert_array_equal(copies[2][:-1], crop[1:])  # one pixel up
    rows, cols = np.nonzero(copies[3] > 100)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 4, 7, 8)  # halved about the centre
    assert jittered(crop, ()).shape == (0, 8, 16)


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

    # A second reader, given for two-row plates, reads the plates laid out as two rows and nothing else.
    from recognizer.training.reader_network import build_reader

    untrained = tmp_path / "untrained.weights.h5"
    build_reader(ModelSpec(), READER).save_weights(untrained)
    export_reader(untrained, ModelSpec(), READER, tmp_path / "two_rows.onnx")
    other = CropReader(tmp_path / "two_rows.onnx", CROP_MODEL, READER)
    with_two_rows = CropReader(onnx, CROP_MODEL, READER, two_rows=tmp_path / "two_rows.onnx")
    np.testing.assert_array_equal(with_two_rows.columns(crops.images), columns)
    np.testing.assert_array_equal(with_two_rows.columns(crops.images, two_rows=True), other.columns(crops.images))
    assert not np.allclose(other.columns(crops.images), columns)
    cuts = list(crops.images)
    np.testing.assert_array_equal(with_two_rows.two_row_slots(cuts), other.two_row_slots(cuts))
    with pytest.raises(FileNotFoundError, match="nowhere.onnx"):
        CropReader(onnx, CROP_MODEL, READER, two_rows=tmp_path / "nowhere.onnx")

    # A second reader's readings of unsure crops and their copies join the vote (every crop unsure here): each crop
    # is read as the text most of the 18 readings agree on (ties: its own), and a second reader that reads as the
    # first does changes no reading.
    voting = READER.model_copy(update={"jitter_below": 2.0})
    alone = CropReader(onnx, CROP_MODEL, voting).chars(crops.images)
    np.testing.assert_allclose(CropReader(onnx, CROP_MODEL, voting, second=onnx).chars(crops.images), alone, atol=1e-6)
    with_other = CropReader(onnx, CROP_MODEL, voting, second=tmp_path / "two_rows.onnx")
    voted = with_other.chars(crops.images).argmax(axis=-1)
    for crop, text in zip(crops.images, voted):
        views = np.concatenate([crop[None], jittered(crop, voting.jitter)])
        readings = [tuple(t) for t in np.concatenate([reader.slots(reader.columns(views)).argmax(axis=-1)
                                                      for reader in (with_other, other)])]
        counts = {r: readings.count(r) for r in readings}
        most = max(counts.values())
        assert counts[tuple(text)] == most and (text == readings[0]).all() == (counts[readings[0]] == most)
    with pytest.raises(FileNotFoundError, match="nowhere.onnx"):
        CropReader(onnx, CROP_MODEL, READER, second=tmp_path / "nowhere.onnx")

    # Enabled in a config, it reads every candidate of the scanner and photos that are only the plate, as many
    # positions as the window network reads (7 for a Brazilian camera), fitted to the camera's formats.
    from stream.config import load_config
    from stream.frames import build_scanner, load_crop_reader
    from stream.pipeline import load_network

    config = load_config(Path("configs/dev_br.yaml"))
    config = config.model_copy(update={"reader": READER.model_copy(update={"onnx": onnx, "two_rows_onnx": None})})
    crop_reader = load_crop_reader(config)
    assert crop_reader.fit is not None and crop_reader.two_rows_session is crop_reader.session
    two_rows = config.reader.model_copy(update={"two_rows_onnx": tmp_path / "two_rows.onnx"})
    np.testing.assert_array_equal(load_crop_reader(config.model_copy(update={"reader": two_rows})).columns(
        crops.images, two_rows=True), other.columns(crops.images))
    assert crop_reader.read_whole(crops.images[0]).shape == (7, CROP_MODEL.classes)
    network = load_network(config)
    stream, photos = build_scanner(config, network), build_scanner(config, network, photos=True)
    assert stream.read_boxes is not None and stream.spec.reread_widths == ()  # reader.streams: crop
    assert photos.read_boxes is not None and photos.spec.reread_widths  # reader.photos: both
    windows = config.model_copy(update={"reader": config.reader.model_copy(update={"streams": "windows"})})
    assert build_scanner(windows, network).read_boxes is None


def test_context_blocks_start_from_a_reader_without_them_and_frozen_stages_keep_its_weights(tmp_path: Path):
    from recognizer.training.bank import render_bank
    from recognizer.training.reader_network import build_reader
    from recognizer.training.train_reader import load_reader_weights, train_reader

    parent_file = tmp_path / "parent.weights.h5"
    parent = build_reader(CROP_MODEL, READER)
    parent.save_weights(parent_file)
    wide = READER.model_copy(update={"context_dilations": (2, 4)})
    net = build_reader(CROP_MODEL, wide)
    load_reader_weights(net, parent_file, CROP_MODEL, wide)
    crops = CropGenerator(CROP_MODEL, RendererSpec(), seed=3).batch(np.random.default_rng(2), 3).images[..., None]
    np.testing.assert_array_equal(np.asarray(net(crops)), np.asarray(parent(crops)))  # the blocks add nothing yet
    with pytest.raises(ValueError):  # a file of another layout still fails
        load_reader_weights(build_reader(CROP_MODEL, READER.model_copy(update={"widths": (8, 16, 32, 48, 64)})),
                            parent_file, CROP_MODEL, READER)

    bank = tmp_path / "bank"
    render_bank(CROP_MODEL, RendererSpec(), bank, 16, workers=1, shard_size=16, generator=CropGenerator)
    tiny = TrainSpec(batch_size=8, steps_per_epoch=2, epochs=1, val_windows=4, bank=bank, keep="last",
                     init_weights=parent_file, frozen=("scale", "stage"), learning_rate=1e-2)
    out = tmp_path / "wide.weights.h5"
    train_reader(ModelSpec(), RendererSpec(), wide, tiny, tmp_path / "run", out)
    trained = build_reader(CROP_MODEL, wide)
    trained.load_weights(out)
    for layer in parent.layers:
        kept = [np.array_equal(a, b) for a, b in zip(layer.get_weights(), trained.get_layer(layer.name).get_weights())]
        assert all(kept) == layer.name.startswith(("scale", "stage")) or not layer.weights, layer.name


def test_a_box_that_may_be_one_row_of_a_two_row_plate_is_grown_up_then_down():
    assert grown_boxes((10, 20, 30, 10), (0.5, 1.0)) == [(10, 15, 30, 15), (10, 10, 30, 20), (10, 20, 30, 15),
                                                         (10, 20, 30, 20)]


def test_the_shipped_readers_read_two_row_plates_at_their_boxes_and_one_row_plates_as_before():
    """Square and motorcycle plates drawn plain into a frame and read at their boxes: laid out as one row, most are
    read by the two-row reader, fewer by the one-row reader (trained on one-row plates only); with two-row reading
    off, the reader reads one of their rows or a jumble. One-row plates of a US plate's shape (2:1, within the
    two-row limit) keep their one-row reading."""
    from recognizer.decode import decode
    from recognizer.synth.fonts import renderer_fonts
    from recognizer.synth.plates import render_plate
    from stream.config import load_config
    from stream.frames import load_crop_reader

    config = load_config(None)

    def reader_with(**update: object) -> CropReader:
        return load_crop_reader(config.model_copy(update={"reader": config.reader.model_copy(update=update)}))

    reader = load_crop_reader(config)
    assert reader.second_session is not None  # votes on photos' unsure crops; a stream's crops are read as cut
    assert load_crop_reader(config, photos=False).second_session is None
    one_row = reader_with(two_rows_max_aspect=0.0, two_rows_grow=())
    one_row_reader = reader_with(two_rows_onnx=None)
    fonts = renderer_fonts(config.renderer, config.model.alphabet)
    formats = {f.name: f for f in config.renderer.formats}

    def frame_of(names: list[str], seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Plates 150 pixels wide side by side on a gray frame: the frame, their boxes, their texts."""
        rng = np.random.default_rng(seed)
        frame, boxes, truth = np.full((200, 260 * len(names)), 120, np.uint8), [], []
        for i, name in enumerate(names):
            plate = render_plate(rng, formats[name], fonts)
            height = int(round(150 * plate.image.shape[0] / plate.image.shape[1]))
            frame[20 : 20 + height, 40 + 260 * i : 190 + 260 * i] = cv2.resize(plate.image, (150, height),
                                                                               interpolation=cv2.INTER_AREA)
            boxes.append([40 + 260 * i, 20, 150, height])
            truth.append(plate.text)
        return frame, np.array(boxes, np.float64), truth

    def texts(crop_reader: CropReader, frame: np.ndarray, boxes: np.ndarray) -> list[str]:
        return [decode(slots, crop_reader.model).text for slots in crop_reader.read_boxes(frame, boxes)]

    frame, boxes, truth = frame_of(["uk_square", "eu_square", "moto"] * 4, seed=7)
    read = sum(t == p for t, p in zip(texts(reader, frame, boxes), truth))
    read_one_row = sum(t == p for t, p in zip(texts(one_row_reader, frame, boxes), truth))
    assert read >= 8 and read > read_one_row, (read, read_one_row)  # 10 and 6 of 12 on the machine it was written on
    assert not any(t == p for t, p in zip(texts(one_row, frame, boxes), truth))
    frame, boxes, truth = frame_of(["us"] * 8, seed=8)
    assert (boxes[:, 2] < config.reader.two_rows_max_aspect * boxes[:, 3]).all()
    assert texts(reader, frame, boxes) == texts(one_row, frame, boxes) == texts(one_row_reader, frame, boxes)

    # Boxed as the window network often boxes them: one row and part of the other (the top 60%, the bottom 60%).
    # Read again from the box grown up and down, more are read than from the box alone.
    frame, boxes, truth = frame_of(["uk_square", "eu_square", "moto"] * 4, seed=9)
    part = boxes.copy()
    part[:, 3] *= 0.6
    part[1::2, 1] += 0.4 * boxes[1::2, 3]
    no_grow = reader_with(two_rows_grow=())
    grown, alone = (sum(t == p for t, p in zip(texts(r, frame, part), truth)) for r in (reader, no_grow))
    assert grown >= alone + 2, (grown, alone)  # 3 and 0 of 12 on the machine it was written on
