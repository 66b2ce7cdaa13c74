"""The one vote: which reading of a plate wins, and how the reads that agree are combined."""

import numpy as np
import pytest

from detector.voting import (agreed, character_confidence, extends, geometric_mean, one_more_before, plurality,
                             read_lengths, reading_confidence, surer, surest, texts, votes_by_length)
from recognizer.decode import decode
from recognizer.spec import ModelSpec

SMALL = ModelSpec(alphabet="AB0", positions=3)  # classes: A, B, 0, blank


def first_vote(chars: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The vote of the reads' most-weighted length."""
    return votes_by_length(chars, weights)[0].chars


def one_hot_read(text: str, sure: float = 0.9) -> np.ndarray:
    classes = SMALL.classes
    probs = np.full((SMALL.positions, classes), (1 - sure) / (classes - 1))
    for i in range(SMALL.positions):
        c = SMALL.alphabet.index(text[i]) if i < len(text) else classes - 1
        probs[i, c] = sure
    return probs


def test_minority_misread_is_outvoted_position_by_position():
    reads = np.stack([one_hot_read("AB0"), one_hot_read("AB0"), one_hot_read("BB0"), one_hot_read("AA0")])
    voted = first_vote(reads, np.ones(4))
    assert decode(voted, SMALL).text == "AB0"


def test_confident_frame_outweighs_unsure_ones():
    reads = np.stack([one_hot_read("A0", sure=0.99), one_hot_read("B0", sure=0.4), one_hot_read("B0", sure=0.4)])
    assert decode(first_vote(reads, np.ones(3)), SMALL).text == "A0"


def test_presence_weights_the_vote():
    reads = np.stack([one_hot_read("AB"), one_hot_read("BB")])
    assert decode(first_vote(reads, np.array([0.1, 0.99])), SMALL).text == "BB"


def test_vote_of_literal_arrays_is_the_weighted_mean():
    reads = np.array([[[0.5, 0.25, 0.25, 0.0]], [[0.125, 0.5, 0.25, 0.125]]])
    voted = first_vote(reads, np.array([3.0, 1.0]))
    np.testing.assert_allclose(voted[0], [0.40625, 0.3125, 0.25, 0.03125])
    np.testing.assert_allclose(voted.sum(axis=-1), 1.0)


def test_reads_that_dropped_a_character_do_not_shift_the_vote():
    """``A0`` misses the leading ``B`` of ``BA0``: its characters sit one position early and must not vote."""
    reads = np.stack([one_hot_read("A0", sure=0.99), one_hot_read("BA0"), one_hot_read("BA0", sure=0.6)])
    np.testing.assert_array_equal(read_lengths(reads), [2, 3, 3])
    assert decode(first_vote(reads, np.ones(3)), SMALL).text == "BA0"


def test_length_support_is_weighted_and_ties_go_to_the_longer_read():
    reads = np.stack([one_hot_read("A0"), one_hot_read("BA0")])
    assert decode(first_vote(reads, np.array([0.9, 0.3])), SMALL).text == "A0"
    assert decode(first_vote(reads, np.array([0.5, 0.5])), SMALL).text == "BA0"


def test_vote_rejects_empty_input():
    with pytest.raises(ValueError):
        first_vote(np.zeros((0, 3, 4)), np.zeros(0))


def test_plurality_counts_equal_weights_and_ties_go_to_the_first_key():
    keys = np.array([[1, 2], [3, 4], [3, 4], [1, 2], [5, 6]])
    np.testing.assert_array_equal(plurality(keys, np.ones(5)), [True, False, False, True, False])
    np.testing.assert_array_equal(plurality(keys[1:], np.ones(4)), [True, True, False, False])


def test_plurality_sums_weights_per_key():
    keys = np.array([[1, 2], [3, 4], [3, 4], [1, 2]])
    np.testing.assert_array_equal(plurality(keys, np.array([0.9, 0.5, 0.5, 0.05])), [False, True, True, False])


def test_plurality_of_strings_and_of_lengths_with_ties_to_the_first_read():
    np.testing.assert_array_equal(plurality(np.array(["AB1", "AB7", "AB7"]), np.array([0.7, 0.4, 0.4])),
                                  [False, True, True])
    np.testing.assert_array_equal(plurality(np.array([7, 6, 6, 7]), np.ones(4)), [True, False, False, True])
    np.testing.assert_array_equal(plurality(np.array([6, 7, 7, 6]), np.ones(4)), [True, False, False, True])


def test_plurality_rejects_no_reads_and_mismatched_weights():
    with pytest.raises(ValueError):
        plurality(np.zeros((0, 3), int), np.zeros(0))
    with pytest.raises(ValueError):
        plurality(np.zeros((2, 3), int), np.ones(3))


def test_texts_are_the_likeliest_class_per_position():
    chars = np.array([[[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]]])
    np.testing.assert_array_equal(texts(chars), [[1, 0]])


def test_geometric_mean_of_literal_arrays_is_normalised_per_position():
    chars = np.array([[[0.5, 0.5, 0.0]], [[0.125, 0.5, 0.375]]])
    # sqrt(0.5 * 0.125) = 0.25, sqrt(0.5 * 0.5) = 0.5, sqrt(1e-9 * 0.375) ~ 1.94e-5, then divided by their sum
    mean = geometric_mean(chars)
    np.testing.assert_allclose(mean[0], np.array([0.25, 0.5, np.sqrt(0.375e-9)]) / (0.75 + np.sqrt(0.375e-9)))
    np.testing.assert_allclose(mean.sum(axis=-1), 1.0)


def test_surer_keeps_per_plate_the_reading_surer_of_itself():
    sure = np.array([[0.9, 0.1], [0.2, 0.8]])  # confidence 0.72
    unsure = np.array([[0.6, 0.4], [0.4, 0.6]])  # 0.36
    first, second = np.stack([sure, unsure, unsure]), np.stack([unsure, sure, unsure])
    np.testing.assert_allclose(reading_confidence(first), [0.72, 0.36, 0.36])
    chosen = surer(first, second)
    np.testing.assert_array_equal(chosen, np.stack([sure, sure, unsure]))  # a tie keeps the first reader's


def test_the_surest_reading_of_each_plate_is_kept():
    sure, unsure, blank = [0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]
    readings = np.array([[[sure, blank], [unsure, unsure]],  # plate 0: its first reading is surer
                         [[unsure, blank], [sure, sure]],  # plate 1: its second
                         [[sure, blank], [sure, blank]]])  # plate 2: a tie keeps the first
    np.testing.assert_array_equal(surest(readings), readings[[0, 1, 2], [0, 1, 0]])


def test_the_reading_most_copies_agree_on_is_kept():
    a, b, blank = [0.8, 0.2, 0.0], [0.3, 0.7, 0.0], [0.0, 0.0, 1.0]  # classes: two characters and "no character"
    sure_b, sure_a = [0.05, 0.95, 0.0], [0.95, 0.05, 0.0]
    readings = np.array([[[a, blank], [sure_b, blank], [b, blank]],  # plate 0: two of three read the second class
                         [[a, blank], [sure_b, blank], [a, a]],  # plate 1: three texts, one each
                         [[a, a], [b, b], [sure_a, a]]])  # plate 2: the first reading's text wins, two to one
    voted = agreed(readings)
    np.testing.assert_allclose(voted[0], geometric_mean(readings[0, 1:]))  # the two that agree, combined
    assert voted[0, 0].argmax() == 1 and 0.7 < voted[0, 0, 1] < 0.95
    np.testing.assert_array_equal(voted[1], readings[1, 0])  # a tie keeps the first reading
    np.testing.assert_array_equal(voted[2], readings[2, 0])  # borne out: its own probabilities, no surer

    # The last two readings are another reader's: they vote, but where the first two (the plate's own reader's) read
    # the winning text too, only those say how sure it is.
    readings = np.array([[[a, blank], [b, blank], [sure_b, blank], [sure_b, blank]],  # plate 0: b wins, 3 to 1
                         [[a, blank], [a, a], [sure_b, blank], [sure_b, blank]],  # plate 1: b wins, 2 to 1 to 1
                         [[a, blank], [b, blank], [sure_a, blank], [sure_b, blank]]])  # plate 2: a wins, 2 to 2
    voted = agreed(readings, vouching=2)
    np.testing.assert_allclose(voted[0], readings[0, 1], atol=1e-6)  # its own reader's reading of b alone
    np.testing.assert_allclose(voted[1], geometric_mean(readings[1, 2:]))  # no own reading of b: the other's
    np.testing.assert_array_equal(voted[2], readings[2, 0])


def reading(labels: list[int], sure: float | list[float]) -> np.ndarray:
    """``(5, 4)`` probabilities of classes 0, 1, 2 and "no character" (3): position ``i`` is ``labels[i]`` at ``sure``
    (or ``sure[i]``), the other classes sharing the rest; the positions past the labels are surely "no character"."""
    chars = np.zeros((5, 4))
    chars[:, 3] = 1.0
    for i, (c, p) in enumerate(zip(labels, np.broadcast_to(sure, len(labels)))):
        chars[i] = (1 - p) / 3
        chars[i, c] = p
    return chars


def test_a_sure_second_reading_that_extends_the_first_is_taken():
    short, longer = reading([0, 1, 3, 3, 3], 0.99), reading([0, 1, 2, 3, 3], 0.95)  # "01", "012"
    start, empty = reading([2, 0, 1, 3, 3], 0.95), reading([3, 3, 3, 3, 3], 0.99)  # "201": one more at the start; ""
    row_before, row_after = reading([2, 2, 0, 1, 3], 0.95), reading([0, 1, 2, 2, 3], 0.95)  # "2201", "0122"
    inside, two_inside = reading([0, 2, 1, 3, 3], 0.95), reading([0, 2, 2, 1, 3], 0.95)  # "021": one more inside; "0221"
    first = np.stack([short, short, empty, short, short, short, short, short])
    second = np.stack([longer, start, reading([2, 3, 3, 3, 3], 0.95), reading([0, 1, 2, 3, 3], 0.5), row_before,
                       row_after, inside, two_inside])
    np.testing.assert_array_equal(extends(first, second), [True, False, False, True, True, True, True, False])
    chosen = surer(first, second, one_more_confidence=0.7)  # the fourth extends the first but is too unsure of itself
    np.testing.assert_array_equal(chosen, np.stack([longer, short, empty, short, row_before, row_after, inside, short]))
    np.testing.assert_array_equal(surer(first, second), first)  # by default: the surer reading only


def test_a_longer_second_reading_surer_of_its_characters_on_average_is_taken():
    short = reading([0, 1, 1], 0.9)  # "011": confidence 0.729, 0.9 a character
    lost = reading([2, 0, 1, 2], 0.8)  # "2012": 0.41, 0.8 a character
    dropped = reading([0, 2, 1, 2], 0.92)  # "0212": 0.716, 0.92 a character
    before = reading([2, 0, 1, 1], 0.92)  # "2011": "011" and only one more before it
    two = reading([0, 1], 0.9)  # "01": 0.81
    np.testing.assert_allclose(character_confidence(np.stack([short, lost, reading([], 1.0)])), [0.9, 0.8, 0.0])
    np.testing.assert_array_equal(one_more_before(np.stack([short, short]), np.stack([before, dropped])), [True, False])
    first = np.stack([short, short, short, lost, two])
    second = np.stack([lost, dropped, before, short, dropped])
    # "0212" is surer of its characters than "011", though its product is lower; "2012" is not; one more before is
    # a mark's place; a shorter second reading, or a first of under 3 characters: the product decides
    np.testing.assert_array_equal(surer(first, second, longer_from=3), np.stack([short, dropped, short, short, two]))
    np.testing.assert_array_equal(surer(first, second), np.stack([short, short, short, short, two]))


def test_the_formats_break_a_tie_between_two_readers_of_as_many_characters():
    weights = {"A0": 0.0, "00": -1.0, "AB0": 0.0}  # log weight of each text the formats allow; others fit none

    def log_prior(chars: np.ndarray) -> np.ndarray:
        return np.array([weights.get(decode(c, SMALL).text, -np.inf) for c in chars])

    strict, loose = one_hot_read("A0", 0.8), one_hot_read("00", 0.9)  # confidence 0.512 and 0.729
    first = np.stack([strict, strict, strict, strict])
    second = np.stack([loose, one_hot_read("0A", 0.9), one_hot_read("AB0", 0.9), one_hot_read("A0", 0.9)])
    chosen = surer(first, second, log_prior=log_prior)
    # log 0.512 + 0 > log 0.729 - 1: the text the formats weigh more wins; "0A" fits no format and "AB0" is longer,
    # so confidence alone settles those; the same text twice: the surer reading's probabilities
    np.testing.assert_array_equal(chosen, np.stack([strict, second[1], second[2], second[3]]))
    np.testing.assert_array_equal(surer(first, second), second)  # without the formats: the surer reading


def test_each_length_votes_alone_the_heaviest_first():
    reads = np.stack([one_hot_read("A0"), one_hot_read("AB0"), one_hot_read("A0"), one_hot_read("BB0")])
    votes = votes_by_length(reads, np.array([0.2, 0.9, 0.2, 0.6]))
    assert [(v.length, v.reads) for v in votes] == [(3, 2), (2, 2)]
    assert [decode(v.chars, SMALL).text for v in votes] == ["AB0", "A0"]
    np.testing.assert_allclose([v.chars.sum(axis=-1) for v in votes], 1.0)
    assert votes_by_length(reads, np.ones(4))[0].length == 3  # equal weights: the longer first
