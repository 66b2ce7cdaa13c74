"""From per-position character probabilities to plate text."""

from __future__ import annotations

import heapq
import re
import string
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from recognizer.spec import BLANK, SYMBOLS, ModelSpec, PlateFormat, symbol_pools


@dataclass(frozen=True)
class Reading:
    """A decoded plate.

    Attributes:
        text: Plate characters, "no character" positions removed.
        confidence: Probability of the whole reading (product over positions).
        char_confidences: Probability of each character of ``text``.
        candidates: Next-best texts with their probabilities, best first, ``text`` excluded.
        plate_format: Name of the configured format the text fits (under a constraint, the one it was fitted to;
            else the first), or None if it fits none.
        constrained: Whether a format constraint changed the text (the network's likeliest text fit no format, or
            a far rarer one; it is among ``candidates``).
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    candidates: tuple[tuple[str, float], ...]
    plate_format: str | None
    constrained: bool = False


@dataclass(frozen=True)
class FormatCheck:
    """The plate formats reads are flagged with, and whether they break ties or constrain the reading.

    Attributes:
        formats: Formats, in order of preference.
        constrain: Read the text as the likeliest of the same length that fits a format, each format weighted by
            its ``weight`` (a text the network reads that fits no format, or fits only a rare one, is replaced).
        min_length: Fewest characters of a reading that is a plate; shorter ones are dropped by whoever reads.
        tie_break: The same as ``constrain``, but only for a text of as many characters as some format has: the
            formats decide between look-alike characters (``0``/``O``, ``1``/``I``, ``8``/``B``) and never change
            the number of characters read.
        tie_ratio: A text that fits a format breaks the tie only where it is at least this share as probable as
            the network's own reading: a near-tie is broken, a sign's or a frame's text (``SALVADOR``) is not bent
            into a plate's (``SALVA008``).
        readers_tie_weight: Where two readers of a plate read as many characters but not the same ones, each
            reading's confidence is weighed by its text's format prior to this power (:func:`readers_log_prior`);
            0: their confidence alone.
    """

    formats: tuple[PlateFormat, ...] = ()
    constrain: bool = False
    min_length: int = 1
    tie_break: bool = False
    tie_ratio: float = 0.0
    readers_tie_weight: float = 0.0


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, e.g. ``(N, P, C)`` logits to probabilities."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Elementwise logistic function."""
    return 1.0 / (1.0 + np.exp(-logits))


CHANCE = 1e-4
"""The least probability of a character at a position for a format to read one there where the network's likeliest
text has none (:class:`recognizer.fitting.FormatFit` leaves such positions; positions past a reading's end have
none at all)."""


@lru_cache(maxsize=256)
def _format_regex(pattern: str, letters: str) -> re.Pattern[str]:
    pools = symbol_pools(letters)
    return re.compile("".join(f"[{pools[c]}]" for c in pattern if c in SYMBOLS) + "$")


def symbol_classes(symbol: str, alphabet: str, letters: str = string.ascii_uppercase) -> np.ndarray:
    """``(len(alphabet),)`` which characters of the alphabet a pattern symbol (``L``, ``N`` or ``A``) allows, its
    letters being ``letters`` (:func:`recognizer.spec.symbol_pools`)."""
    pool = symbol_pools(letters)[symbol]
    return np.array([ch in pool for ch in alphabet], bool)


def weighted_patterns(formats: tuple[PlateFormat, ...]) -> list[tuple[PlateFormat, str, float]]:
    """Every pattern of the formats as its character symbols (drawn gaps left out), with its log prior: its
    format's share of the formats' weight, split evenly among the format's patterns.

    Args:
        formats: Plate formats, with their weights.

    Returns:
        ``(format, symbols, log prior)`` per pattern, in the formats' order.
    """
    total = sum(f.weight for f in formats)
    return [(f, "".join(c for c in pattern if c in SYMBOLS), float(np.log(f.weight / total / len(f.patterns))))
            for f in formats for pattern in f.patterns]


@lru_cache(maxsize=16)
def patterns_by_length(formats: tuple[PlateFormat, ...],
                       alphabet: str) -> dict[int, tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
    """The formats' patterns grouped by their number of characters ``n``, ready to score readings against.

    A pattern's prior is that of each text it allows: its share of the formats' weight (:func:`weighted_patterns`)
    split evenly among those texts. A loose pattern (``AAAAAAA``, any of 36 characters at each place) gives each of
    its texts far less than a strict one (``LLLNNNN``), so that where a glyph is ambiguous the text a strict format
    explains wins unless the reading is much surer of the other.

    Returns:
        Per ``n``: the formats' names ``(G,)``, the log prior of one text of each pattern ``(G,)`` and the classes
        each of their characters allows ``(G, n, len(alphabet))`` bool.
    """
    groups: dict[int, list[tuple[str, float, np.ndarray]]] = {}
    for plate_format, symbols, prior in weighted_patterns(formats):
        allowed = np.array([symbol_classes(symbol, alphabet, plate_format.letters) for symbol in symbols], bool)
        allowed = allowed.reshape(len(symbols), len(alphabet))
        per_text = prior - float(np.log(allowed.sum(axis=1)).sum())
        groups.setdefault(len(symbols), []).append((plate_format.name, per_text, allowed))
    return {n: (tuple(name for name, _, _ in rows), np.array([prior for _, prior, _ in rows]),
                np.stack([allowed for _, _, allowed in rows])) for n, rows in groups.items()}


def text_log_prior(text: str, formats: tuple[PlateFormat, ...], alphabet: str) -> float:
    """The log prior of one text (:func:`patterns_by_length`): the largest of the patterns it fits, ``-inf`` where it
    fits none."""
    table = patterns_by_length(formats, alphabet)
    if len(text) not in table:
        return -np.inf
    _, priors, allowed = table[len(text)]
    fits = allowed[:, np.arange(len(text)), [alphabet.index(c) for c in text]].all(axis=1)
    return float(priors[fits].max()) if fits.any() else -np.inf


def readers_log_prior(chars: np.ndarray, model: ModelSpec, check: FormatCheck) -> np.ndarray:
    """How much the camera's formats weigh readings of plates: ``check.readers_tie_weight`` times the log prior
    (:func:`text_log_prior`) of each reading's text as :func:`decode` reads it, ``-inf`` where it fits no format.

    Args:
        chars: ``(M, P, C)`` per-position probabilities.
        model: Alphabet.
        check: The formats, and the weight.

    Returns:
        ``(M,)`` log weights, for :func:`detector.voting.surer`.
    """
    return np.array([check.readers_tie_weight * text_log_prior(decode(c, model, check).text, check.formats,
                                                                model.alphabet) for c in chars], np.float64)


def matching_format(text: str, formats: list[PlateFormat]) -> str | None:
    """Name of the first format one of whose patterns the text fits, separators ignored.

    Args:
        text: Plate characters.
        formats: Configured plate formats.

    Returns:
        The format's name, or None.
    """
    for plate_format in formats:
        if any(_format_regex(p, plate_format.letters).match(text) for p in plate_format.patterns):
            return plate_format.name
    return None


def constrained_path(probs: np.ndarray, path: tuple[int, ...], model: ModelSpec,
                     formats: tuple[PlateFormat, ...]) -> tuple[tuple[int, ...], str] | None:
    """The likeliest class sequence whose characters fit a format, keeping the character positions of ``path``.

    Each format's patterns share its ``weight`` as a prior, each pattern's split evenly among the texts it allows
    (:func:`patterns_by_length`): the sequence chosen has the largest probability times that prior, so where a glyph
    is ambiguous (``1`` and ``I`` are one bar on old Brazilian plates) the commoner and stricter format decides.
    Where no pattern has as many characters as ``path``, the positions are those where a character has more than
    :data:`CHANCE` (a reading :meth:`recognizer.fitting.FormatFit.refit` fitted to a format's length has a
    character at each of its positions, though "no character" may be likelier at some).

    Args:
        probs: ``(P, C)`` probabilities per position.
        path: The best path: ``P`` classes, "no character" being ``len(model.alphabet)``.
        model: Alphabet.
        formats: Formats to fit, with their weights.

    Returns:
        The path and the format's name, or None if no pattern has as many characters as those positions.
    """
    blank = len(model.alphabet)
    places = [i for i, c in enumerate(path) if c != blank]
    table = patterns_by_length(formats, model.alphabet)
    if len(places) not in table:
        places = [i for i in range(len(path)) if probs[i, :blank].max() > CHANCE]
    if len(places) not in table:
        return None
    names, priors, allowed = table[len(places)]
    log_probs = np.log(np.clip(probs[places, :blank], 1e-12, 1.0))  # (n, A)
    masked = np.where(allowed, log_probs[None], -np.inf)  # (G, n, A)
    scores = priors + masked.max(axis=2, initial=-np.inf).sum(axis=1)
    g = int(np.argmax(scores))
    if not np.isfinite(scores[g]):
        return None
    chosen = list(path)
    for place, c in zip(places, masked[g].argmax(axis=1)):
        chosen[place] = int(c)
    return tuple(chosen), names[g]


def path_probability(probs: np.ndarray, path: tuple[int, ...]) -> float:
    """The probability of one class sequence ``(P,)`` of independent positions ``(P, C)``."""
    return float(np.prod(probs[np.arange(len(path)), list(path)]))


def best_paths(probs: np.ndarray, k: int) -> list[tuple[tuple[int, ...], float]]:
    """The ``k`` most probable class sequences of independent positions.

    Args:
        probs: ``(P, C)`` probabilities per position.
        k: Number of sequences.

    Returns:
        ``(classes, probability)`` pairs, most probable first.
    """
    beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    log_probs = np.log(np.clip(probs, 1e-12, 1.0))
    for position in log_probs:
        top = np.argsort(position)[::-1][:k]
        beams = heapq.nlargest(k, ((score + position[c], path + (int(c),)) for score, path in beams for c in top))
    return [(path, float(np.exp(score))) for score, path in beams]


def _best_path_runs(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(K, T)`` each column's likeliest class, and ``(K, T)`` whether a run of one class starts at the column."""
    best = columns.argmax(axis=2)
    starts = np.ones(best.shape, bool)
    starts[:, 1:] = best[:, 1:] != best[:, :-1]
    return best, starts


def path_lengths(columns: np.ndarray) -> np.ndarray:
    """Characters on each window's best path (each column's likeliest class, repeats merged, "no character"
    dropped), however many positions there are.

    Args:
        columns: ``(K, T, C)`` probabilities per column.

    Returns:
        ``(K,)`` character counts.
    """
    best, starts = _best_path_runs(columns)
    return (starts & (best != columns.shape[2] - 1)).sum(axis=1)


def columns_to_slots(columns: np.ndarray, positions: int) -> np.ndarray:
    """Per-column character probabilities (CTC) to per-position ones, by the best path.

    The best path takes the likeliest class of every column, merges repeats and drops "no character"
    (the last class). Each character it keeps gets, as its position's distribution, the column where that
    character was likeliest (the first such column on a tie); positions past the last character are "no
    character" with certainty. A path of more characters than ``positions`` drops its least sure ones (the later
    on a tie), so that a mark read as a character (a band's letter, a sticker, a separator), read less surely than
    the plate's own characters, does not push the plate's last character out.

    Args:
        columns: ``(T, C)`` probabilities per column, or ``(K, T, C)`` for ``K`` windows at once.
        positions: ``P``.

    Returns:
        ``(P, C)`` probabilities per position, or ``(K, P, C)``.
    """
    if columns.ndim == 2:
        return columns_to_slots(columns[None], positions)[0]
    count, span, classes = columns.shape
    slots = np.zeros((count, positions, classes), columns.dtype)
    slots[..., classes - 1] = 1.0
    if not count or not span:
        return slots
    best, starts = _best_path_runs(columns)
    first = np.flatnonzero(starts.ravel())  # flat column index where each run of one class starts, row by row
    run = np.cumsum(starts.ravel()) - 1  # the run of each column
    value = np.take_along_axis(columns, best[..., None], axis=2).ravel()  # each column's best probability
    at_peak = np.flatnonzero(value == np.maximum.reduceat(value, first)[run])
    _, where = np.unique(run[at_peak], return_index=True)
    peak = at_peak[where]  # each run's likeliest column, the first on a tie
    row = first // span
    kept = best.ravel()[first] != classes - 1
    for extra in np.flatnonzero(np.bincount(row[kept], minlength=count) > positions):
        runs = np.flatnonzero(kept & (row == extra))
        weakest_first = np.lexsort((-np.arange(len(runs)), value[peak[runs]]))
        kept[runs[weakest_first[: len(runs) - positions]]] = False
    per_row = np.bincount(row[kept], minlength=count)
    slot = np.cumsum(kept) - 1 - (np.cumsum(per_row) - per_row)[row]  # kept runs before it in its row
    slots[row[kept], slot[kept]] = columns.reshape(-1, classes)[peak[kept]]
    return slots


def decode(probs: np.ndarray, model: ModelSpec, check: FormatCheck = FormatCheck(), k: int = 5) -> Reading:
    """Reads one plate.

    Args:
        probs: ``(P, C)`` character probabilities, the last class being "no character".
        model: Alphabet.
        check: Plate formats to flag the text with, and whether they constrain it.
        k: Candidates to consider (distinct texts among the ``k`` best paths are returned).

    Returns:
        The reading.
    """
    symbols = model.alphabet + BLANK
    blank = len(model.alphabet)
    paths = best_paths(probs, k)
    texts: dict[str, float] = {}
    for path, p in paths:
        text = "".join(symbols[c] for c in path if c != blank)
        texts[text] = texts.get(text, 0.0) + p
    best_path, _ = paths[0]
    best_text = "".join(symbols[c] for c in best_path if c != blank)
    plate_format = matching_format(best_text, list(check.formats))
    constrained = False
    fitted = None
    tie = check.tie_break and len(best_text) in patterns_by_length(check.formats, model.alphabet)
    if check.formats and (check.constrain or tie):
        fitted = constrained_path(probs, best_path, model, check.formats)
    if fitted is not None and not check.constrain and path_probability(probs, fitted[0]) < (
            check.tie_ratio * path_probability(probs, best_path)):
        fitted = None
    if fitted is not None:
        constrained = fitted[0] != best_path
        best_path, plate_format = fitted
        best_text = "".join(symbols[c] for c in best_path if c != blank)
    char_conf = tuple(float(probs[i, c]) for i, c in enumerate(best_path) if c != blank)
    candidates = tuple(sorted(((t, p) for t, p in texts.items() if t != best_text), key=lambda tp: -tp[1]))
    return Reading(
        text=best_text,
        confidence=path_probability(probs, best_path),
        char_confidences=char_conf,
        candidates=candidates,
        plate_format=plate_format,
        constrained=constrained,
    )


def o0_equal(a: str, b: str) -> bool:
    """Whether two plate texts match when O/0 and I/1 are not told apart."""
    table = str.maketrans("OI", "01")
    return a.translate(table) == b.translate(table)
