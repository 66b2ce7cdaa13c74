import itertools

import numpy as np

from recognizer.decode import FormatCheck, columns_to_slots, decode
from recognizer.fitting import FormatFit, align
from recognizer.spec import ModelSpec, PlateFormat

SMALL = ModelSpec(alphabet="AB0", positions=3)  # classes: A, B, 0, blank
LLN = (PlateFormat(name="lln", pattern="LL-N", design="br_old"),)
# Columns of "AB0" whose "0" is faint: "no character" (0.6) beats it (0.35) in its only column, so the plain
# reading is "AB", which no format has.
FAINT_0 = np.array([
    [0.90, 0.03, 0.02, 0.05],
    [0.02, 0.02, 0.01, 0.95],
    [0.03, 0.90, 0.02, 0.05],
    [0.02, 0.02, 0.01, 0.95],
    [0.02, 0.03, 0.35, 0.60],
    [0.01, 0.01, 0.03, 0.95],
])


def best_alignment(log_probs: np.ndarray, allowed: np.ndarray) -> tuple[float, list[int]] | None:
    """By enumeration: the score of the likeliest class sequence whose CTC text fits ``allowed``, and the column
    of each character's run where that character is likeliest (the first on a tie)."""
    span, classes = log_probs.shape
    blank = classes - 1
    best = None
    for path in itertools.product(range(classes), repeat=span):
        runs: list[tuple[int, list[int]]] = []
        for t, c in enumerate(path):
            if c != blank and (t == 0 or path[t - 1] != c):
                runs.append((c, [t]))
            elif c != blank:
                runs[-1][1].append(t)
        if len(runs) != len(allowed) or not all(allowed[j, c] for j, (c, _) in enumerate(runs)):
            continue
        score = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        if best is None or score > best[0] + 1e-9:
            best = (score, [max(ts, key=lambda t: (log_probs[t, c], -t)) for c, ts in runs])
    return best


def test_alignment_is_the_likeliest_that_fits_the_pattern():
    rng = np.random.default_rng(3)
    for _ in range(60):
        log_probs = np.log(rng.dirichlet(np.full(4, 0.5), size=5))
        n = int(rng.integers(1, 4))
        allowed = np.zeros((3, 4), bool)
        allowed[:n, :3] = rng.random((n, 3)) < 0.6
        allowed[np.arange(n), rng.integers(0, 3, n)] = True
        found = align(log_probs[None], allowed[None], np.array([n]))
        expected = best_alignment(log_probs, allowed[:n])
        if expected is None:
            assert found.score[0] < -1e8
        else:
            np.testing.assert_allclose(found.score[0], expected[0])
            assert list(found.peaks[0, :n]) == expected[1]


def test_a_repeated_character_needs_a_blank_between():
    # One run of "A": "AA" cannot be read from it, so the pattern's two characters take separate columns.
    columns = np.array([[0.88, 0.05, 0.02, 0.05], [0.88, 0.05, 0.02, 0.05], [0.05, 0.3, 0.05, 0.6]])
    allowed = np.array([[[True, True, False, False], [True, True, False, False]]])
    found = align(np.log(columns)[None], allowed, np.array([2]))
    np.testing.assert_allclose(found.score[0], np.log(0.88 * 0.88 * 0.3))  # "A", "A", then "B": the text "AB"
    assert list(found.peaks[0]) == [0, 2]


def test_refit_reads_the_faint_character_and_decode_flags_it():
    fit = FormatFit.build(SMALL, LLN)
    plain = columns_to_slots(FAINT_0, 3)
    assert decode(plain, SMALL).text == "AB"
    fitted = fit.refit(FAINT_0[None], plain[None])[0]
    np.testing.assert_array_equal(fitted, FAINT_0[[0, 2, 4]])  # each character's own column, as the network gave it
    reading = decode(fitted, SMALL, FormatCheck(LLN, constrain=True))
    assert reading.text == "AB0" and reading.constrained and reading.plate_format == "lln"
    np.testing.assert_allclose(reading.confidence, 0.90 * 0.90 * 0.35)
    assert reading.candidates[0][0] == "AB"  # the network's own reading
    assert decode(fitted, SMALL).text == "AB"  # without the constraint, the network's own reading


def test_refit_reads_a_path_longer_than_the_positions():
    # "A", a separator read as a faint "0", "B", "0": four characters for three positions. The plain reading drops
    # the least sure (the separator), not the plate's last character; so does the fit.
    blank = [0.02, 0.02, 0.01, 0.95]
    columns = np.array([[0.90, 0.03, 0.02, 0.05], blank, [0.02, 0.03, 0.55, 0.40], blank,
                        [0.03, 0.90, 0.02, 0.05], blank, [0.02, 0.03, 0.90, 0.05], blank])
    plain = columns_to_slots(columns, 3)
    assert decode(plain, SMALL).text == "AB0"
    fitted = FormatFit.build(SMALL, LLN).refit(columns[None], plain[None])[0]
    np.testing.assert_array_equal(fitted, columns[[0, 4, 6]])
    assert decode(fitted, SMALL, FormatCheck(LLN, constrain=True)).text == "AB0"


def test_refit_leaves_readings_a_format_has_the_length_of():
    fit = FormatFit.build(SMALL, LLN)
    sure = FAINT_0.copy()
    sure[4] = [0.02, 0.03, 0.90, 0.05]
    too_short = FAINT_0[:2]  # two columns cannot hold three characters
    for columns in (sure, too_short):
        plain = columns_to_slots(columns, 3)[None]
        np.testing.assert_array_equal(fit.refit(columns[None], plain), plain)


def test_refit_keeps_a_length_some_format_has():
    # "AB" fits no "LLN" but has the length of "LL": the same-length constraint (decode) is left to read it.
    two = FormatFit.build(SMALL, LLN + (PlateFormat(name="ll", pattern="LL", design="br_old"),))
    plain = columns_to_slots(FAINT_0, 3)[None]
    np.testing.assert_array_equal(two.refit(FAINT_0[None], plain), plain)


def test_refit_weighs_the_formats():
    # The faint third character is a little likelier "B" (0.20) than "0" (0.15).
    columns = FAINT_0.copy()
    columns[4] = [0.02, 0.20, 0.15, 0.63]
    plain = columns_to_slots(columns, 3)[None]
    for lll_weight, text in ((0.01, "AB0"), (3.0, "ABB")):
        formats = LLN + (PlateFormat(name="lll", pattern="LLL", design="br_old", weight=lll_weight),)
        fitted = FormatFit.build(SMALL, formats).refit(columns[None], plain)[0]
        assert decode(fitted, SMALL, FormatCheck(formats, constrain=True)).text == text
