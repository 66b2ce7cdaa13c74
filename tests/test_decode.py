import numpy as np
import pytest

from recognizer.decode import (FormatCheck, best_paths, columns_to_slots, decode, matching_format, o0_equal,
                               path_lengths, readers_log_prior, text_log_prior)
from recognizer.spec import ModelSpec, PlateFormat

SMALL = ModelSpec(alphabet="AB0", positions=3)


def test_decode_skips_blanks_and_reports_confidences():
    probs = np.array([[0.8, 0.1, 0.05, 0.05], [0.1, 0.1, 0.7, 0.1], [0.0, 0.0, 0.1, 0.9]])
    reading = decode(probs, SMALL)
    assert reading.text == "A0"
    np.testing.assert_allclose(reading.char_confidences, [0.8, 0.7])
    np.testing.assert_allclose(reading.confidence, 0.8 * 0.7 * 0.9)
    text, p = reading.candidates[0]
    assert text == "A" and abs(p - 0.8 * 0.1 * 0.9) < 1e-9  # second position read as "no character"


def test_best_paths_are_ordered():
    probs = np.array([[0.6, 0.4, 0, 0], [0.3, 0.7, 0, 0], [0, 0, 0, 1.0]])
    paths = best_paths(probs, 3)
    assert [p for p, _ in paths] == [(0, 1, 3), (1, 1, 3), (0, 0, 3)]
    np.testing.assert_allclose([p for _, p in paths], [0.42, 0.28, 0.18])


def test_format_is_a_flag_not_a_correction():
    formats = [PlateFormat(name="br", pattern="LLL-NNNN", design="br_old")]
    assert matching_format("ABC1234", formats) == "br"
    assert matching_format("ABC12345", formats) is None
    assert matching_format("AB01234", formats) is None


LETTER_DIGIT = (PlateFormat(name="ln", pattern="L-N", design="br_old"),)
# "0" is likeliest at the first position, "A" a close second; the second position is sure to be "0".
O_FOR_0 = np.array([[0.35, 0.05, 0.55, 0.05], [0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.0, 1.0]])


def test_unconstrained_read_is_only_flagged():
    reading = decode(O_FOR_0, SMALL, FormatCheck(LETTER_DIGIT))
    assert reading.text == "00" and reading.plate_format is None and not reading.constrained


def test_format_constraint_reads_a_letter_where_the_format_wants_one():
    reading = decode(O_FOR_0, SMALL, FormatCheck(LETTER_DIGIT, constrain=True))
    assert reading.text == "A0" and reading.plate_format == "ln" and reading.constrained
    np.testing.assert_allclose(reading.confidence, 0.35 * 0.85 * 1.0)
    np.testing.assert_allclose(reading.char_confidences, [0.35, 0.85])
    assert reading.candidates[0][0] == "00"  # the network's own reading is kept as a candidate


def test_format_constraint_keeps_the_length_of_a_plain_reading_and_a_fitting_read():
    fitting = np.array([[0.9, 0.05, 0.0, 0.05], [0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.0, 1.0]])
    assert not decode(fitting, SMALL, FormatCheck(LETTER_DIGIT, constrain=True)).constrained
    three = np.array([[0.05, 0.05, 0.85, 0.05]] * 3)  # "000": no pattern has three characters
    reading = decode(three, SMALL, FormatCheck(LETTER_DIGIT, constrain=True))
    assert reading.text == "000" and not reading.constrained and reading.plate_format is None


def test_format_weights_decide_between_fitting_reads():
    # "00" fits the rare digit-digit format, "A0" (a little less likely) the common letter-digit one.
    formats = (PlateFormat(name="ln", pattern="L-N", design="br_old", weight=4.0),
               PlateFormat(name="nn", pattern="N-N", design="br_old", weight=1.0))
    reading = decode(O_FOR_0, SMALL, FormatCheck(formats, constrain=True))
    assert reading.text == "A0" and reading.plate_format == "ln" and reading.constrained
    even = (formats[0].model_copy(update={"weight": 1.0}), formats[1])
    reading = decode(O_FOR_0, SMALL, FormatCheck(even, constrain=True))
    assert reading.text == "00" and reading.plate_format == "nn" and not reading.constrained


def test_a_strict_format_outweighs_a_loose_one_of_the_same_weight():
    # "AA" allows any of the 3 characters at each place, 9 texts; "L-N" 2 texts. With equal weights each text of
    # "L-N" is likelier a priori, so "A0" (0.35 x 0.85) wins over "00" (0.55 x 0.85), which only "AA" explains.
    formats = (PlateFormat(name="any", pattern="AA", design="br_old"), LETTER_DIGIT[0])
    reading = decode(O_FOR_0, SMALL, FormatCheck(formats, tie_break=True))
    assert reading.text == "A0" and reading.plate_format == "ln" and reading.constrained
    sure = np.array([[0.1, 0.05, 0.8, 0.05], [0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.0, 1.0]])
    assert decode(sure, SMALL, FormatCheck(formats, tie_break=True)).text == "00"  # far surer of "0": kept


def test_a_text_weighs_what_the_strictest_pattern_it_fits_gives_each_of_its_texts():
    # Equal weights, half each: "AA" splits its half among 9 texts, "L-N" among 2.
    formats = (PlateFormat(name="any", pattern="AA", design="br_old"), LETTER_DIGIT[0])
    assert text_log_prior("A0", formats, SMALL.alphabet) == pytest.approx(np.log(0.5 / 2))
    assert text_log_prior("00", formats, SMALL.alphabet) == pytest.approx(np.log(0.5 / 9))
    assert text_log_prior("A", formats, SMALL.alphabet) == -np.inf  # no pattern of one character
    assert text_log_prior("0A", LETTER_DIGIT, SMALL.alphabet) == -np.inf
    check = FormatCheck(formats, readers_tie_weight=0.1)
    np.testing.assert_allclose(readers_log_prior(O_FOR_0[None], SMALL, check), [0.1 * np.log(0.5 / 9)])  # "00"


def test_o0_equal():
    assert o0_equal("AB0I", "ABO1")
    assert not o0_equal("AB0", "AB8")


def test_columns_to_slots_merges_repeats_and_drops_blanks():
    # classes A, B, 0, blank; columns read "A A _ A B B _" -> "AAB"
    columns = np.array([
        [0.7, 0.1, 0.1, 0.1], [0.9, 0.0, 0.0, 0.1], [0.1, 0.1, 0.1, 0.7], [0.6, 0.2, 0.1, 0.1],
        [0.1, 0.6, 0.1, 0.2], [0.1, 0.8, 0.0, 0.1], [0.0, 0.0, 0.0, 1.0]])
    slots = columns_to_slots(columns, 3)
    np.testing.assert_allclose(slots, [columns[1], columns[3], columns[5]])
    assert decode(slots, SMALL).text == "AAB"


def test_columns_to_slots_pads_and_truncates():
    columns = np.array([[0.9, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 1.0], [0.0, 0.9, 0.0, 0.1], [0.0, 0.0, 0.9, 0.1]])
    assert decode(columns_to_slots(columns, 3), SMALL).text == "AB0"
    assert decode(columns_to_slots(columns, 2), SMALL).text == "AB"
    padded = columns_to_slots(columns[:1], 3)
    np.testing.assert_allclose(padded[1:], [[0, 0, 0, 1.0], [0, 0, 0, 1.0]])
    # the path's length is not cut to the positions
    blank = columns[1]
    assert path_lengths(np.stack([columns, [columns[0], blank, blank, blank], [blank] * 4])).tolist() == [3, 1, 0]


def test_a_path_longer_than_the_positions_drops_its_least_sure_characters():
    # classes A, B, 0, blank; columns read "0 A B A 0": a faint mark first, then the plate
    columns = np.array([
        [0.1, 0.0, 0.5, 0.4], [0.9, 0.0, 0.0, 0.1], [0.0, 0.8, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1],
        [0.0, 0.0, 0.0, 1.0], [0.1, 0.0, 0.9, 0.0]])
    assert decode(columns_to_slots(columns, 5), SMALL).text == "0ABA0"
    assert decode(columns_to_slots(columns, 4), SMALL).text == "ABA0"  # the faint mark, not the last "0"
    np.testing.assert_allclose(columns_to_slots(columns, 4), columns[[1, 2, 3, 5]])
    assert decode(columns_to_slots(columns, 2), SMALL).text == "A0"
    unmarked = columns.copy()
    unmarked[0] = [0.0, 0.0, 0.0, 1.0]
    many = columns_to_slots(np.stack([columns, unmarked, columns[::-1]]), 3)  # each window keeps its own surest
    assert [decode(slots, SMALL).text for slots in many] == ["AB0", "AB0", "0BA"]


def test_columns_to_slots_of_many_windows_is_each_window_alone():
    # a tie inside a run: the first of the equally likely columns stands for the character
    tie = np.array([[0.6, 0.2, 0.1, 0.1], [0.6, 0.1, 0.2, 0.1], [0.0, 0.0, 0.0, 1.0], [0.1, 0.7, 0.1, 0.1]])
    np.testing.assert_allclose(columns_to_slots(tie, 2), [tie[0], tie[3]])
    rng = np.random.default_rng(3)
    windows = rng.integers(0, 3, (6, 9, 4)).astype(np.float32)  # coarse values: many repeats, ties and blanks
    together = columns_to_slots(windows, 3)
    assert together.shape == (6, 3, 4)
    for one, slots in zip(windows, together):
        np.testing.assert_array_equal(columns_to_slots(one, 3), slots)
    assert columns_to_slots(windows[:0], 3).shape == (0, 3, 4)


def test_tie_break_lets_the_formats_tell_look_alikes_apart_without_changing_the_length():
    # "00" is likeliest, "A0" a close second that fits the letter-digit format: the format breaks the tie.
    reading = decode(O_FOR_0, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True))
    assert reading.text == "A0" and reading.plate_format == "ln" and reading.constrained
    assert reading.candidates[0][0] == "00"
    # "000": no format has three characters, so the reading stays as the network gave it.
    three = np.array([[0.05, 0.05, 0.85, 0.05]] * 3)
    reading = decode(three, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True))
    assert reading.text == "000" and not reading.constrained
    # A reading one character short is not padded to a format's length either.
    short = np.array([[0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.05, 0.95], [0.0, 0.0, 0.0, 1.0]])
    assert decode(short, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True)).text == "0"
    assert decode(short, SMALL, FormatCheck(LETTER_DIGIT, constrain=True)).text == "A0"  # constrain adds the "A"


def test_a_format_that_leaves_letters_out_neither_fits_nor_breaks_ties_with_them():
    # Alphabet "AB0": the format's letters are only "B" (France leaves O out, which looks like 0).
    only_b = (PlateFormat(name="bn", pattern="L-N", design="br_old", letters="B"),)
    assert matching_format("B0", list(only_b)) == "bn" and matching_format("A0", list(only_b)) is None
    # "0" likeliest at the first position, "A" second, "B" third: the tie goes to the letter the format has.
    probs = np.array([[0.3, 0.15, 0.5, 0.05], [0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.0, 1.0]])
    reading = decode(probs, SMALL, FormatCheck(only_b, tie_break=True))
    assert reading.text == "B0" and reading.plate_format == "bn"
    assert decode(probs, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True)).text == "A0"  # all letters: the likelier
    with pytest.raises(ValueError, match="letters"):
        PlateFormat(name="bad", pattern="L", design="br_old", letters="ab")


def test_tie_break_breaks_near_ties_only():
    # "B" is a tenth as likely as "0" at the first position: the letter-digit format may break that tie ...
    probs = np.array([[0.0, 0.09, 0.9, 0.01], [0.05, 0.05, 0.85, 0.05], [0.0, 0.0, 0.0, 1.0]])
    assert decode(probs, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True, tie_ratio=0.05)).text == "B0"
    # ... but not where a fitting text must be at least a fifth as likely: the network's reading stays, unflagged.
    reading = decode(probs, SMALL, FormatCheck(LETTER_DIGIT, tie_break=True, tie_ratio=0.2))
    assert reading.text == "00" and reading.plate_format is None and not reading.constrained
    # A camera that constrains its readings to its formats always gets a fitting text.
    assert decode(probs, SMALL, FormatCheck(LETTER_DIGIT, constrain=True, tie_ratio=0.2)).text == "B0"


def test_the_config_passes_the_tie_ratio_on():
    from stream.config import load_config

    check = load_config().format_check
    assert check.tie_ratio == 0.001 and check.readers_tie_weight == 0.1
