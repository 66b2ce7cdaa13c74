"""Voting between several reads of one plate: which reading wins, and the characters of those that agree.

One rule, :func:`plurality`, picks the winner among a plate's hits in a frame (by count), the windows that
re-read a candidate and the windows that read a crop (by presence). A track's reads of its plate over its frames
vote position by position with the reads of their length, the length of the largest total presence first
(:func:`votes_by_length`). Two readers of one plate that read it each once settle by :func:`surer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def plurality(keys: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The reads whose key has the largest total weight.

    Args:
        keys: ``(N, ...)`` one key per read (a text as ``(P,)`` class indices, a string, a length); reads with
            equal keys agree.
        weights: ``(N,)`` weight of each read's vote (1 each: a count; presence probabilities); between keys
            of equal total weight, the one read first wins.

    Returns:
        ``(N,)`` bool, True for the reads that agree with the winning key.

    Raises:
        ValueError: If there are no reads or the shapes disagree.
    """
    keys = np.asarray(keys)
    weights = np.asarray(weights, np.float64)
    if len(keys) == 0 or weights.shape != (len(keys),):
        raise ValueError(f"plurality needs N >= 1 keys and (N,) weights, got {keys.shape} and {weights.shape}")
    _, first, inverse = np.unique(keys.reshape(len(keys), -1), axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    totals = np.bincount(inverse, weights)  # summed read by read, in order
    best = np.flatnonzero(totals == totals.max())
    winner = best[np.argmin(first[best])]
    return inverse == winner


def texts(chars: np.ndarray) -> np.ndarray:
    """``(N, P)`` each read's likeliest class at each position, from ``(N, P, C)`` character probabilities."""
    return np.asarray(chars).argmax(axis=-1)


def read_lengths(chars: np.ndarray) -> np.ndarray:
    """``(N,)`` number of characters of each read's most likely text: positions whose best class is not
    "no character" (the last class).

    Args:
        chars: ``(N, P, C)`` character probabilities.
    """
    return (texts(chars) != chars.shape[-1] - 1).sum(axis=-1)


def geometric_mean(chars: np.ndarray) -> np.ndarray:
    """The reads' characters combined as the geometric mean of their probabilities (clipped to ``1e-9``),
    normalised so that each position sums to 1.

    Args:
        chars: ``(N, P, C)`` character probabilities, ``N >= 1``.

    Returns:
        ``(P, C)`` probabilities.
    """
    mean = np.exp(np.log(np.clip(chars, 1e-9, 1.0)).mean(axis=0))
    return mean / mean.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class LengthVote:
    """The vote of one plate's reads of one length.

    Attributes:
        length: Characters of those reads.
        reads: How many reads have that length.
        chars: ``(P, C)`` voted probabilities (each position sums to 1).
    """

    length: int
    reads: int
    chars: np.ndarray


def votes_by_length(chars: np.ndarray, weights: np.ndarray) -> list[LengthVote]:
    """Combines per-frame character probabilities of one plate, one vote per read length.

    Positions only line up between reads of the same length (a read that drops a character shifts the rest),
    so reads vote only with those of their length. Each position's vote is the weighted mean of their
    probabilities, so a misread in a minority of frames is outvoted, and a frame that is sure of a character
    counts for more than one that is not.

    Args:
        chars: ``(N, P, C)`` character probabilities of ``N`` reads, the last class being "no character".
        weights: ``(N,)`` non-negative weights (presence probabilities); all 0: equal.

    Returns:
        One vote per length the reads have, the length with the largest total weight first (ties: the longer).

    Raises:
        ValueError: If there are no reads or the shapes disagree.
    """
    chars = np.asarray(chars, np.float64)
    weights = np.asarray(weights, np.float64)
    if chars.ndim != 3 or len(chars) == 0 or weights.shape != (len(chars),):
        raise ValueError(f"vote needs (N, P, C) reads and (N,) weights, got {chars.shape} and {weights.shape}")
    weights = weights if weights.sum() > 0 else np.ones_like(weights)
    lengths = read_lengths(chars)
    votes = []
    for length in sorted(set(lengths.tolist()), key=lambda n: (-weights[lengths == n].sum(), -n)):
        keep = lengths == length
        voted = np.einsum("n,npc->pc", weights[keep], chars[keep])
        votes.append(LengthVote(length, int(keep.sum()), voted / voted.sum(axis=-1, keepdims=True)))
    return votes


def reading_confidence(chars: np.ndarray) -> np.ndarray:
    """How sure readings are of themselves: the product over positions of each position's likeliest class.

    Args:
        chars: ``(K, P, C)`` per-position probabilities (or ``(..., P, C)``).

    Returns:
        ``(K,)`` confidences (``(...)``).
    """
    return np.prod(np.asarray(chars).max(axis=-1), axis=-1)


def character_confidence(chars: np.ndarray) -> np.ndarray:
    """How sure readings are of their characters on average: the geometric mean, over the positions whose likeliest
    class is a character, of that class's probability (0 for a reading of no character). Unlike
    :func:`reading_confidence`, it does not fall with each character a reading has.

    Args:
        chars: ``(K, P, C)`` per-position probabilities ("no character" last).

    Returns:
        ``(K,)`` confidences.
    """
    best = np.asarray(chars).max(axis=-1)
    is_char = texts(chars) != chars.shape[-1] - 1
    count = is_char.sum(axis=-1)
    with np.errstate(divide="ignore"):
        mean_log = np.where(is_char, np.log(best), 0.0).sum(axis=-1) / np.maximum(count, 1)
    return np.where(count > 0, np.exp(mean_log), 0.0)


def characters(chars: np.ndarray) -> list[np.ndarray]:
    """Each reading's characters: the classes of its positions whose likeliest class is not "no character", in
    order; ``(N, P, C)`` probabilities to ``N`` arrays."""
    blank = chars.shape[-1] - 1
    return [text[text != blank] for text in texts(chars)]


def one_more_before(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``(K,)`` whether each second reading is the first's characters with exactly one more before them (most often a
    mark beside the plate, a band's letter or a picture, read as a character); both ``(K, P, C)``."""
    return np.array([len(b) == len(a) + 1 and np.array_equal(b[1:], a)
                     for a, b in zip(characters(first), characters(second))], bool)


def extends(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per plate, whether the second reading is the first's characters (at least one) with one or more after them,
    two or more before them, or one more between two of them: the first lost a plate's last character at its edge,
    read one row of a two-row plate, or lost a narrow or repeated character inside the plate (``5NWV468`` read
    ``5NWV68``). (One more before them is most often a mark beside the plate read as a character.)

    Args:
        first: ``(K, P, C)`` one reader's per-position probabilities of ``K`` plates ("no character" last).
        second: ``(K, P, C)`` the other's.

    Returns:
        ``(K,)`` bool.
    """
    out = np.zeros(len(first), bool)
    for k, (a, b) in enumerate(zip(characters(first), characters(second))):
        more = len(b) - len(a)
        after, before = np.array_equal(a, b[: len(a)]), more >= 2 and np.array_equal(a, b[more:])
        between = more == 1 and any(np.array_equal(a, np.delete(b, i)) for i in range(1, len(b) - 1))
        out[k] = len(a) > 0 and more >= 1 and (after or before or between)
    return out


def surest(readings: np.ndarray) -> np.ndarray:
    """Per plate, the reading surest of itself (:func:`reading_confidence`; ties: the first).

    Args:
        readings: ``(K, R, P, C)`` per-position probabilities of ``R`` readings of each of ``K`` plates.

    Returns:
        ``(K, P, C)``.
    """
    return readings[np.arange(len(readings)), reading_confidence(readings).argmax(axis=1)]


def agreed(readings: np.ndarray, vouching: int | None = None) -> np.ndarray:
    """Per plate, its first reading where the most of its ``R`` readings agree with its text (:func:`plurality`;
    ties: the text read first); where the most agree on another text, the geometric mean of those that do
    (:func:`geometric_mean`). A reading the others bear out keeps its own probabilities, so that agreeing does not
    make it surer of itself.

    Args:
        readings: ``(K, R, P, C)`` per-position probabilities of ``R`` readings of each of ``K`` plates, the plate's
            own reading first.
        vouching: Only the first this many readings (the plate's own reader's) are combined where any of them agree
            with the winning text; the rest (another reader's, calibrated otherwise) vote and are combined only where
            none of those do. None: all of them.

    Returns:
        ``(K, P, C)``.
    """
    out = readings[:, 0].copy()
    for k, plate in enumerate(readings):
        agree = plurality(texts(plate), np.ones(len(plate)))
        if not agree[0]:
            own = agree[:vouching]
            out[k] = geometric_mean(plate[: len(own)][own] if own.any() else plate[agree])
    return out


def surer(first: np.ndarray, second: np.ndarray, one_more_confidence: float = np.inf,
          log_prior: Callable[[np.ndarray], np.ndarray] | None = None, longer_from: int | None = None) -> np.ndarray:
    """Per plate, the reading of two readers that is surer of itself (:func:`reading_confidence`; ties: ``first``),
    except that the second is taken where it extends the first (:func:`extends`: one or more characters after the
    first's, two or more before them, or one more between two of them) and is at least ``one_more_confidence`` sure
    of itself: a reader of the plate at its own resolution sees a last character that the first lost at the plate's
    edge, a narrow or repeated character the first lost inside it, or both rows of a two-row plate.

    Where the two read as many characters but not the same ones (look-alike characters: ``8`` and ``B``), and
    ``log_prior`` gives both texts a finite weight, each reading's log confidence has its weight added: the camera's
    plate formats break the tie between the two readers as they break it within one (``read.tie_break``).

    Where the first reads at least ``longer_from`` characters and the second more (but not only one more before
    them), the second is taken where it is surer of its characters on average (:func:`character_confidence`): a
    product over positions falls with each character a reading has, so that it favours a reading that lost one.

    Args:
        first: ``(K, P, C)`` one reader's per-position probabilities of ``K`` plates.
        second: ``(K, P, C)`` the other's.
        one_more_confidence: Least confidence of a second reading that extends the first to be taken whatever the
            first's (``inf``: never).
        log_prior: ``(M, P, C)`` readings to ``(M,)`` the log weight of each one's text (``-inf`` where it fits no
            format). None: confidence alone.
        longer_from: Least characters of a first reading that a longer second one may win over by its characters'
            mean confidence. None: never.

    Returns:
        ``(K, P, C)``.
    """
    second_confidence = reading_confidence(second)
    first_length, second_length = read_lengths(first), read_lengths(second)
    with np.errstate(divide="ignore"):
        first_score, second_score = np.log(reading_confidence(first)), np.log(second_confidence)
    if log_prior is not None and len(first):
        look_alike = (first_length == second_length) & (texts(first) != texts(second)).any(axis=1)
        if look_alike.any():
            first_prior, second_prior = log_prior(first[look_alike]), log_prior(second[look_alike])
            both_fit = np.isfinite(first_prior) & np.isfinite(second_prior)
            rows = np.flatnonzero(look_alike)[both_fit]
            first_score[rows] += first_prior[both_fit]
            second_score[rows] += second_prior[both_fit]
    keep_first = first_score >= second_score
    keep_first &= ~((second_confidence >= one_more_confidence) & extends(first, second))
    if longer_from is not None and len(first):
        longer = (first_length >= longer_from) & (second_length > first_length) & ~one_more_before(first, second)
        keep_first &= ~(longer & (character_confidence(second) > character_confidence(first)))
    return np.where(keep_first[:, None, None], first, second)
