import re
from pathlib import Path

import numpy as np
import pytest

from recognizer.spec import ModelSpec, PlateFormat, RendererSpec
from recognizer.synth.designs import DESIGNS, DIN_1451
from recognizer.synth.fonts import renderer_fonts
from recognizer.synth.glyphs import find_fonts
from recognizer.synth.plates import random_text, render_plate, text_strip
from recognizer.synth.windows import WindowGenerator, encode_text, fitting_formats, plate_present
from stream.config import ConfigError, load_config

SPEC = RendererSpec()
FONTS = renderer_fonts(SPEC, ModelSpec().alphabet)


@pytest.mark.parametrize(
    "box, present",
    [
        ([10, 10, 100, 40], True),   # width 90 = 70% of 128
        ([0, 0, 102, 20], True),     # width 102 < 102.4
        ([0, 0, 103, 20], False),    # width over 80%
        ([10, 5, 60, 45], True),     # width 50 (39%) but height 40 (62.5%)
        ([10, 5, 60, 30], False),    # width 39%, height 39%: too small
        ([10, 2, 100, 60], False),   # height 58 > 87.5% of 64 = 56
        ([-1, 10, 89, 40], False),   # partly outside
        ([40, 10, 130, 40], False),  # partly outside on the right
    ],
)
def test_presence_rule(box, present):
    assert plate_present(np.array(box, float), 128, 64, SPEC) is present


def test_encode_text_pads_with_no_character():
    model = ModelSpec()
    codes = encode_text("AB12", model)
    assert codes.tolist() == [10, 11, 1, 2, 36, 36, 36]
    with pytest.raises(ValueError, match="more than model.positions=7"):
        encode_text("ABCDEFGH", model)
    with pytest.raises(ValueError, match="outside model.alphabet"):
        encode_text("AB-12", model)


def test_a_nine_character_plate_encodes_in_nine_positions():
    codes = encode_text("ABC12DE34", ModelSpec(positions=9))
    assert codes.tolist() == [10, 11, 12, 1, 2, 13, 14, 3, 4]


def test_generator_labels_follow_the_rule_with_debian_fonts_only():
    spec = RendererSpec()
    assert find_fonts(list(spec.font_dirs)), "Debian font packages are installed by scripts/setup.sh"
    generator = WindowGenerator(ModelSpec(), spec, seed=3)
    batch = generator.batch(np.random.default_rng(0), 200)
    assert batch.images.shape == (200, 64, 128) and batch.images.dtype == np.uint8
    positives = batch.presence > 0.5
    assert 0.4 < positives.mean() < 0.8
    for i in np.flatnonzero(positives):
        x0, y0, x1, y1 = batch.boxes[i] * [128, 64, 128, 64]
        assert plate_present(np.array([x0, y0, x1, y1]), 128, 64, spec)
        assert 4 <= len(batch.texts[i]) <= 7
        assert (batch.chars[i] >= 0).all()
    assert (batch.chars[~positives] == -1).all()
    assert batch.images.std() > 10


def test_generator_is_deterministic_for_a_seed():
    generator = WindowGenerator(ModelSpec(), RendererSpec(), seed=3)
    a = generator.batch(np.random.default_rng(5), 8)
    b = WindowGenerator(ModelSpec(), RendererSpec(), seed=3).batch(np.random.default_rng(5), 8)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.texts == b.texts


def test_missing_fonts_fail_clearly(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no usable font"):
        WindowGenerator(ModelSpec(), RendererSpec(font_dirs=[tmp_path]))


def test_old_brazilian_one_and_i_are_the_same_plain_bar():
    from recognizer.synth.glyphs import load_glyph_sets
    from recognizer.synth.plates import stem_width

    [glyphs] = load_glyph_sets([p for p in find_fonts(list(SPEC.font_dirs)) if p.name == "DejaVuSansMono.ttf"], "01I")
    assert stem_width(glyphs) < glyphs.masks["I"].shape[1] / 2  # the monospaced I has serifs; its stem is narrower
    bars = text_strip(glyphs, "1I", 64, 0.5, 0.7, 500, bar_one=True)
    gap = 32  # spacing 0.5 of 64 rows
    one, i = bars[:, : (bars.shape[1] - gap) // 2], bars[:, (bars.shape[1] + gap) // 2 :]
    np.testing.assert_array_equal(one, i)
    assert (bars[:, bars.max(axis=0) > 0] == 255).all()  # solid, full height
    zero_width = round(glyphs.masks["0"].shape[1] * 0.7)  # the 0 at 64 rows, stretched 0.7
    inked = np.flatnonzero(one.max(axis=0))
    assert one.shape[1] == zero_width and abs(inked[0] - (zero_width - 1 - inked[-1])) <= 1  # centred in a 0's cell
    drawn = text_strip(glyphs, "1I", 64, 0.5, 0.7, 500)  # the font's own 1 (flag, foot) and I (serifs)
    assert not (drawn[:, drawn.max(axis=0) > 0] == 255).all()


def test_rounded_polyline_rounds_only_marked_corners():
    from recognizer.synth.stroke_font import rounded_polyline

    square = [(0, 0), (10, 0, 1), (10, 10), (0, 10)]
    line = rounded_polyline(square, 4.0, closed=False, steps=4)
    assert len(line) == 3 + 5  # three sharp vertices, one corner as a 4-segment curve
    np.testing.assert_allclose(line[1], [6, 0])
    np.testing.assert_allclose(line[5], [10, 4])
    np.testing.assert_allclose(line[3], [9, 1])  # the curve's middle, inside the corner
    np.testing.assert_allclose(rounded_polyline(square, 0.0, closed=True), [p[:2] for p in square])


def test_plate_typeface_draws_every_character_with_square_bowls():
    from recognizer.synth.glyphs import GLYPH_HEIGHT
    from recognizer.synth.stroke_font import VARIANTS, stroke_glyph_sets

    alphabet = ModelSpec().alphabet
    sets = stroke_glyph_sets(alphabet + "-")
    assert len(sets) == len(VARIANTS)
    for glyphs in sets:
        assert set(glyphs.masks) == set(alphabet + "-")
        assert all(glyphs.masks[c].shape[0] == GLYPH_HEIGHT for c in alphabet)
        o, d = glyphs.masks["O"] > 127, glyphs.masks["D"] > 127
        # A rounded rectangle: ink reaches the left edge all down the middle, as in D; the corners stay empty.
        assert o[16:48, 0].all() and d[16:48, 0].all() and not o[0, 0]
        assert not np.array_equal(glyphs.masks["O"], glyphs.masks["0"])
    # Some sets draw the 4 open, as Californian plates do: its stem starts below the top, apart from the left stroke.
    fours = [glyphs.masks["4"] > 127 for glyphs in sets]
    open_top = [not four[: GLYPH_HEIGHT // 6, four.shape[1] // 2 :].any() for four in fours]
    assert open_top == [californian for _, _, californian in VARIANTS]
    # The same sets slant the 6's top from the upper right, leaving its top left corner empty, as California does.
    sixes = [glyphs.masks["6"] > 127 for glyphs in sets]
    slanted = [not six[: GLYPH_HEIGHT // 6, : six.shape[1] // 3].any() for six in sixes]
    assert slanted == open_top


def test_us_emblems_stand_between_characters_and_stay_out_of_the_label():
    from recognizer.synth.plates import emblem_mask

    rng = np.random.default_rng(0)
    full = toned = badges = 0
    for _ in range(60):
        mask = emblem_mask(rng, 40)
        rows = np.flatnonzero(mask.max(axis=1))
        assert mask.shape[0] == 40 and 0 < len(rows) < 40 and abs(rows.mean() - 19.5) <= 5  # smaller than a character
        columns = np.flatnonzero(mask.max(axis=0))
        assert np.ptp(columns) + 1 >= 0.3 * (np.ptp(rows) + 1)  # never an upright bar, which blurred is a 1 or an I
        ink = mask[mask > 0]
        full += bool(np.all(ink == 255))
        toned += bool(np.mean(ink < 200) > 0.5)  # mostly part ink, as a coloured mark in gray
        badges += bool(len(rows) >= 22 and len(np.unique(ink)) >= 3)  # a frame, its ground and a picture inside
    assert full >= 10 and toned >= 20 and badges >= 8  # full-ink shapes, toned ones and Florida's badges
    us = next(f for f in SPEC.formats if f.design == "us")
    texts = [render_plate(rng, us, FONTS).text for _ in range(30)]
    assert all(t.isalnum() and 5 <= len(t) <= 7 for t in texts)


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_every_design_draws_plates_whose_labels_are_their_characters_only(design):
    rng = np.random.default_rng(1)
    plate_format = PlateFormat(name="t", pattern="LL NNN LL|NN-LLL-N|LLLNNNN", design=design)
    for _ in range(12):  # enough plates that each design's marks and bands are drawn on some
        plate = render_plate(rng, plate_format, FONTS)
        assert re.fullmatch(r"[A-Z]{2}\d{3}[A-Z]{2}|\d{2}[A-Z]{3}\d|[A-Z]{3}\d{4}", plate.text), plate.text
        assert plate.image.dtype == np.uint8 and plate.image.shape == plate.alpha.shape
        assert plate.image.std() > 10  # characters stand out from the background
    aspect = plate.image.shape[1] / plate.image.shape[0]
    assert abs(aspect - DESIGNS[design].aspect) < 0.1 * DESIGNS[design].aspect


def test_marks_stand_among_the_characters_but_are_not_characters():
    from recognizer.synth.plates import _with_line_marks
    from recognizer.synth.designs import Mark

    rng = np.random.default_rng(0)
    glyphs = FONTS.general[0]
    items = _with_line_marks(rng, "WA 12345", [Mark("sticker")], 40, glyphs)
    marks = [i for i, item in enumerate(items) if isinstance(item, np.ndarray)]
    assert "".join(i for i in items if isinstance(i, str)) == "WA12345"  # the gap is taken by the sticker
    assert [type(items[k]) for k in (0, 1)] == [str, str] and marks[0] == 2
    sticker = items[marks[1]]
    assert sticker.shape[0] == 40 and 0 < (sticker.max(axis=1) > 0).sum() < 40
    hyphens = _with_line_marks(rng, "M 1234 AB", [Mark("hyphen")], 40, glyphs)
    assert "".join(hyphens) == "M-1234-AB"
    emblem = _with_line_marks(rng, "7ABC123", [Mark("emblem", place="inline")], 40, glyphs)
    assert isinstance(emblem[0], str) and isinstance(emblem[-1], str) and len(emblem) == 8
    lead = _with_line_marks(rng, "7ABC123", [Mark("emblem", place="lead")], 40, glyphs)  # a picture at the left
    assert isinstance(lead[0], np.ndarray) and lead[0].max() > 0 and "".join(lead[3:]) == "7ABC123"


def test_eu_band_is_dark_at_the_left_of_a_light_plate():
    rng = np.random.default_rng(2)
    pl = PlateFormat(name="pl", pattern="LL NNNNN", design="pl")
    darker = 0
    for _ in range(20):
        image = render_plate(rng, pl, FONTS).image.astype(float)
        band, rest = image[:, 6 : int(0.07 * image.shape[1])], image[:, int(0.15 * image.shape[1]) :]
        darker += np.median(band) < np.median(rest) - 40
    assert darker >= 14  # all but the inverted and dirtiest plates


def test_designs_prefer_the_plate_fonts_they_name_when_found():
    from recognizer.synth.plates import _choose_glyphs

    named = FONTS.named(DIN_1451)
    assert [g.name for g in named] == ["OSP-DIN.ttf"], "fonts-opendin is installed by scripts/setup.sh"
    rng = np.random.default_rng(0)
    chosen = [_choose_glyphs(rng, DESIGNS["pl"], FONTS).name for _ in range(400)]
    share = chosen.count("OSP-DIN.ttf") / len(chosen)
    assert abs(share - DESIGNS["pl"].font_share) < 0.1
    assert any(name.startswith("plate-strokes") for name in chosen)


def test_long_patterns_are_drawn_only_when_the_model_has_the_positions():
    formats = [PlateFormat(name="de", pattern="L LL NNNN|LLL LL NNNN", design="de"),
               PlateFormat(name="ua", pattern="LL NNNN LL", design="ua")]
    assert [(f.name, f.pattern) for f in fitting_formats(formats, 7)] == [("de", "L LL NNNN")]
    with pytest.raises(ValueError, match="model.positions=6"):
        fitting_formats(formats, 6)
    model = ModelSpec(positions=9)
    spec = RendererSpec(formats=[PlateFormat(name="de", pattern="LLL LL NNNN", design="de")], positive_fraction=0.9)
    batch = WindowGenerator(model, spec, seed=1).batch(np.random.default_rng(0), 24)
    nine = [t for t in batch.texts if t]
    assert nine and all(len(t) == 9 for t in nine)
    assert batch.chars.shape == (24, 9) and (batch.chars[batch.presence > 0.5] < 36).all()


def test_default_formats_cover_the_countries_and_name_known_designs():
    names = {f.name for f in SPEC.formats}
    assert {"uk_front", "uk_rear", "de", "fr", "it", "es", "nl", "be", "pl", "cz", "sk", "at", "pt", "ro", "ua",
            "br_old", "mercosur_br", "mercosur_ar", "ar_old", "us"} <= names
    lengths = {sum(c in "LNA" for c in p) for f in SPEC.formats for p in f.patterns}
    assert {4, 5, 6, 7, 8, 9} <= lengths
    assert {DESIGNS[f.design].rows for f in SPEC.formats} == {1, 2}
    # configs/default.yaml lists the same formats, letters and weights
    assert [f.model_dump() for f in load_config().renderer.formats] == [f.model_dump() for f in SPEC.formats]
    assert {f.name: f.letters for f in SPEC.formats if len(f.letters) < 26} == {
        "es": "BCDFGHJKLMNPRSTVWXYZ", "fr": "ABCDEFGHJKLMNPQRSTVWXYZ", "ua": "ABCEHIKMOPTX"}


def test_a_format_that_leaves_letters_out_is_drawn_without_them():
    rng = np.random.default_rng(0)
    texts = "".join(random_text(rng, "LL-NNN-LL", "ABCDEFGHJKLMNPQRSTVWXYZ") for _ in range(300))
    assert not set(texts) & set("IOU") and set(texts) >= set("ABCDEFGHJKLMNPQRSTVWXYZ-0123456789")
    assert set("".join(random_text(rng, "LLLL") for _ in range(300))) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_unknown_design_is_a_config_error_naming_it(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("renderer:\n  formats:\n    - {name: mars, pattern: LLNNN, design: martian}\n")
    with pytest.raises(ConfigError, match="renderer.formats.0.design='martian'.*not one of"):
        load_config(config)


def test_a_design_that_fills_spreads_its_characters_across_the_plate(monkeypatch):
    from dataclasses import replace

    bare = replace(DESIGNS["pl"], marks=(), bands=(), inverted=0.0, backgrounds=("white",), inks=("black",))
    monkeypatch.setitem(DESIGNS, "loose", replace(bare, fill=None))
    monkeypatch.setitem(DESIGNS, "filled", replace(bare, fill=(0.92, 0.92)))

    def spans(design: str) -> list[float]:
        rng = np.random.default_rng(3)
        plate_format = PlateFormat(name="t", pattern="LLL NNNN", design=design)
        out = []
        for _ in range(12):
            image = render_plate(rng, plate_format, FONTS).image.astype(float)
            h, w = image.shape
            inner = image[int(0.35 * h) : int(0.65 * h), int(0.03 * w) : int(0.97 * w)]  # the text's middle rows
            ink = np.flatnonzero(inner.min(axis=0) < np.median(inner) - 60)
            out.append((ink[-1] - ink[0]) / w)
        return out

    filled, loose = np.median(spans("filled")), np.median(spans("loose"))
    assert filled > 0.8 and filled > loose + 0.1, (filled, loose)



def test_dirt_dims_a_plate_but_never_hides_what_it_lies_on():
    from recognizer.synth.plates import smudge

    rng = np.random.default_rng(3)
    plate = np.zeros((110, 400), np.float32)
    plate[:, 200:] = 255.0  # dark ink on the left, white plate on the right
    changed = 0.0
    for _ in range(200):
        dirty = plate.copy()
        smudge(rng, dirty)
        changed = max(changed, float(np.abs(dirty - plate).max()))
        assert dirty[:, 200:].min() - dirty[:, :200].max() > 60  # the ink stays darker than the plate under it
    assert changed > 30  # and the smudges show
