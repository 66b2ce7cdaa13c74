"""Reading a window's character columns as the likeliest text that fits a plate format (format-constrained CTC).

The plain reading (:func:`recognizer.decode.columns_to_slots`) takes each column's likeliest class. When a
character is faint (a thin ``1`` at the plate's edge) "no character" wins its columns and the text comes out a
character short, which no same-length fit can repair. :class:`FormatFit` instead finds, by a Viterbi pass over
the CTC alignments, the likeliest alignment whose characters fit one of a camera's formats, each weighted by its
format's share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.decode import path_lengths, symbol_classes, weighted_patterns
from recognizer.spec import ModelSpec, PlateFormat

_IMPOSSIBLE = -1e9
"""Log probability of a state no alignment reaches."""


@dataclass(frozen=True)
class Alignment:
    """The best alignments of some windows' columns, each to a pattern of its own.

    Attributes:
        score: ``(R,)`` log probability of each alignment (about ``-1e9`` where none is possible: more characters
            than columns).
        peaks: ``(R, n)`` the column of each character's run where that character is likeliest (0 past a
            pattern's characters).
    """

    score: np.ndarray
    peaks: np.ndarray


def align(log_probs: np.ndarray, allowed: np.ndarray, lengths: np.ndarray) -> Alignment:
    """The likeliest CTC alignment of each row's columns whose characters fit the row's pattern.

    A Viterbi pass over the states "character ``j`` is ``c``" and "no character after ``j`` characters"; a
    character repeated next to itself needs a "no character" between, as in CTC.

    Args:
        log_probs: ``(R, T, C)`` log probabilities per column, the last class being "no character".
        allowed: ``(R, n, C)`` the classes each character of a row's pattern may be (none past its length, and
            never "no character").
        lengths: ``(R,)`` characters of each row's pattern, ``1 <= lengths <= n``.

    Returns:
        Each row's alignment.
    """
    count, span, classes = log_probs.shape
    n = allowed.shape[1]
    blank = classes - 1
    row = np.arange(count)
    same = np.arange(classes)
    # blanks[:, j]: "no character" after j characters; chars[:, j, c]: character j is c.
    blanks = np.full((count, n + 1), _IMPOSSIBLE)
    blanks[:, 0] = log_probs[:, 0, blank]
    chars = np.full((count, n, classes), _IMPOSSIBLE)
    chars[:, 0] = np.where(allowed[:, 0], log_probs[:, 0], _IMPOSSIBLE)
    # How each state was reached from the column before (index t: the step from t - 1 to t).
    blank_from_char = np.zeros((span, count, n), bool)  # blank j + 1 from character j (else it stayed)
    firsts = np.zeros((span, count, n), np.int16)  # best class of each character state
    seconds = np.zeros((span, count, n), np.int16)  # the next best
    stayed = np.zeros((span, count, n, classes), bool)
    from_char = np.zeros((span, count, n, classes), bool)  # entered from the previous character, not a blank
    for t in range(1, span):
        first = chars.argmax(axis=2)
        first_value = chars.max(axis=2)
        is_first = first[..., None] == same
        others = np.where(is_first, _IMPOSSIBLE, chars)
        seconds[t] = others.argmax(axis=2)
        firsts[t] = first
        # Entering character j as c: from the blank before it, or from character j - 1 if that is not c.
        previous = np.full_like(chars, _IMPOSSIBLE)
        previous[:, 1:] = np.where(is_first[:, :-1], others.max(axis=2)[:, :-1, None], first_value[:, :-1, None])
        before = blanks[:, :n, None]
        enter = np.maximum(before, previous)
        blank_from_char[t] = first_value > blanks[:, 1:]
        blanks = np.concatenate([blanks[:, :1], np.maximum(blanks[:, 1:], first_value)], axis=1)
        blanks += log_probs[:, t, blank, None]
        stayed[t] = chars >= enter
        from_char[t] = previous > before
        chars = np.where(allowed, np.maximum(chars, enter) + log_probs[:, t, None], _IMPOSSIBLE)
    last_blank = blanks[row, lengths]
    last_char = chars[row, lengths - 1]
    c = last_char.argmax(axis=1)
    in_char = last_char[row, c] > last_blank
    score = np.where(in_char, last_char[row, c], last_blank)
    j = np.where(in_char, lengths - 1, lengths)
    peaks = np.zeros((count, n), int)
    best = np.full((count, n), -np.inf)
    for t in range(span - 1, -1, -1):
        k = np.flatnonzero(in_char)
        value = log_probs[k, t, c[k]]
        better = value >= best[k, j[k]]  # on a tie the earlier column
        peaks[k[better], j[k[better]]] = t
        best[k[better], j[k[better]]] = value[better]
        if t == 0:
            break
        # A character stays, steps back to the previous character, or to the blank before it.
        moves = ~stayed[t, k, j[k], c[k]]
        to_char = k[moves & from_char[t, k, j[k], c[k]]]
        to_blank = k[moves & ~from_char[t, k, j[k], c[k]]]
        # A blank stays, or steps back to the character before it (which was that character's best class).
        was = np.flatnonzero(~in_char)
        was = was[j[was] > 0]
        back = was[blank_from_char[t, was, j[was] - 1]]
        prev_first = firsts[t, to_char, j[to_char] - 1]
        c[to_char] = np.where(prev_first == c[to_char], seconds[t, to_char, j[to_char] - 1], prev_first)
        j[to_char] -= 1
        in_char[to_blank] = False
        c[back] = firsts[t, back, j[back] - 1]
        j[back] -= 1
        in_char[back] = True
    return Alignment(score, peaks)


@dataclass(frozen=True)
class FormatFit:
    """A camera's plate formats, ready to fit windows' columns to.

    Attributes:
        allowed: ``(G, n, C)`` for each of ``G`` distinct patterns, the classes each of its characters may be.
        lengths: ``(G,)`` characters of each pattern.
        log_priors: ``(G,)`` the log of each pattern's format's share of the weight, split among the format's
            patterns (a pattern several formats share keeps the largest).
    """

    allowed: np.ndarray
    lengths: np.ndarray
    log_priors: np.ndarray

    @classmethod
    def build(cls, model: ModelSpec, formats: tuple[PlateFormat, ...]) -> FormatFit:
        """The fit to ``formats``' patterns of at most ``model.positions`` characters.

        Args:
            model: Alphabet and positions.
            formats: The camera's formats, with their weights.
        """
        priors: dict[tuple[str, str], float] = {}  # by symbols and letters
        for plate_format, symbols, prior in weighted_patterns(formats):
            if 0 < len(symbols) <= model.positions:
                key = (symbols, plate_format.letters)
                priors[key] = max(prior, priors.get(key, -np.inf))
        allowed = np.zeros((len(priors), max((len(s) for s, _ in priors), default=0), model.classes), bool)
        for g, (symbols, letters) in enumerate(priors):
            for j, symbol in enumerate(symbols):
                allowed[g, j, :-1] = symbol_classes(symbol, model.alphabet, letters)
        return cls(allowed, np.array([len(s) for s, _ in priors], int), np.array(list(priors.values())))

    def refit(self, columns: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Re-reads the windows whose best path has a number of characters no pattern has.

        Such a window's reading becomes the likeliest alignment of its columns that fits a pattern (its prior
        included): position ``j`` gets the column where the alignment's ``j``-th character is likeliest, as the
        network gave it, so where the format put a character that the network thought absent, "no character"
        stays the likeliest class there and :func:`recognizer.decode.decode` reads the character only under the
        constraint, and flags it. Positions past the pattern's characters are "no character" with certainty.

        Args:
            columns: ``(K, T, C)`` probabilities per column.
            slots: ``(K, P, C)`` their plain reading (:func:`recognizer.decode.columns_to_slots`).

        Returns:
            ``(K, P, C)`` probabilities per position: ``slots``, with the windows no pattern's length fits re-read
            (those no pattern fits at all, with fewer columns than characters, are left as they were).
        """
        classes = columns.shape[2]
        # Counted on the columns: a path of more characters than positions lost its least sure ones in ``slots``.
        redo = np.flatnonzero(~np.isin(path_lengths(columns), self.lengths))
        patterns = len(self.lengths)
        if not len(redo) or not patterns:
            return slots
        # One row per pattern and window: (G * K', ...), pattern-major.
        log_probs = np.log(np.clip(columns[redo], 1e-12, 1.0))
        fits = align(np.tile(log_probs, (patterns, 1, 1)), np.repeat(self.allowed, len(redo), axis=0),
                     np.repeat(self.lengths, len(redo)))
        totals = fits.score.reshape(patterns, len(redo)) + self.log_priors[:, None]
        choice = totals.argmax(axis=0)
        possible = totals.max(axis=0) > _IMPOSSIBLE / 2
        refitted = slots.copy()
        for g in np.unique(choice[possible]):
            k = np.flatnonzero(possible & (choice == g))
            n = self.lengths[g]
            refitted[redo[k]] = 0.0
            refitted[redo[k], :, classes - 1] = 1.0
            refitted[redo[k], :n] = columns[redo[k][:, None], fits.peaks[g * len(redo) + k, :n]]
        return refitted
