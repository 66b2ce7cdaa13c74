"""From per-position character probabilities to plate text."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

import numpy as np

from recognizer.spec import BLANK, ModelSpec, PlateFormat


@dataclass(frozen=True)
class Reading:
    """A decoded plate.

    Attributes:
        text: Plate characters, "no character" positions removed.
        confidence: Probability of the whole reading (product over positions).
        char_confidences: Probability of each character of ``text``.
        candidates: Next-best texts with their probabilities, best first, ``text`` excluded.
        plate_format: Name of the first configured format the text fits, or None if it fits none.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    candidates: tuple[tuple[str, float], ...]
    plate_format: str | None


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, e.g. ``(N, P, C)`` logits to probabilities."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Elementwise logistic function."""
    return 1.0 / (1.0 + np.exp(-logits))


def _format_regex(pattern: str) -> re.Pattern[str]:
    parts = {"L": "[A-Z]", "N": "[0-9]", "A": "[A-Z0-9]"}
    return re.compile("".join(parts.get(c, "") for c in pattern) + "$")


def matching_format(text: str, formats: list[PlateFormat]) -> str | None:
    """Name of the first format one of whose patterns the text fits, separators ignored.

    Args:
        text: Plate characters.
        formats: Configured plate formats.

    Returns:
        The format's name, or None.
    """
    for plate_format in formats:
        if any(_format_regex(p).match(text) for p in plate_format.patterns):
            return plate_format.name
    return None


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


def columns_to_slots(columns: np.ndarray, positions: int) -> np.ndarray:
    """Per-column character probabilities (CTC) to per-position ones, by the best path.

    The best path takes the likeliest class of every column, merges repeats and drops "no character"
    (the last class). Each character it keeps gets, as its position's distribution, the column where that
    character was likeliest; positions past the last character are "no character" with certainty.
    Characters past ``positions`` are dropped.

    Args:
        columns: ``(T, C)`` probabilities per column.
        positions: ``P``.

    Returns:
        ``(P, C)`` probabilities per position.
    """
    blank = columns.shape[1] - 1
    best = columns.argmax(axis=1)
    slots = np.zeros((positions, columns.shape[1]), columns.dtype)
    slots[:, blank] = 1.0
    slot, start = 0, 0
    for t in range(1, len(best) + 1):
        if t < len(best) and best[t] == best[start]:
            continue
        if best[start] != blank and slot < positions:
            run = columns[start:t, best[start]]
            slots[slot] = columns[start + int(np.argmax(run))]
            slot += 1
        start = t
    return slots


def decode(probs: np.ndarray, model: ModelSpec, formats: list[PlateFormat] | None = None, k: int = 5) -> Reading:
    """Reads one plate.

    Args:
        probs: ``(P, C)`` character probabilities, the last class being "no character".
        model: Alphabet.
        formats: Plate formats to check the text against.
        k: Candidates to consider (distinct texts among the ``k`` best paths are returned).

    Returns:
        The reading.
    """
    symbols = model.alphabet + BLANK
    paths = best_paths(probs, k)
    texts: dict[str, float] = {}
    for path, p in paths:
        text = "".join(symbols[c] for c in path if c != len(model.alphabet))
        texts[text] = texts.get(text, 0.0) + p
    best_path, _ = paths[0]
    best_text = "".join(symbols[c] for c in best_path if c != len(model.alphabet))
    char_conf = tuple(float(probs[i, c]) for i, c in enumerate(best_path) if c != len(model.alphabet))
    candidates = tuple(sorted(((t, p) for t, p in texts.items() if t != best_text), key=lambda tp: -tp[1]))
    return Reading(
        text=best_text,
        confidence=float(np.prod([probs[i, c] for i, c in enumerate(best_path)])),
        char_confidences=char_conf,
        candidates=candidates,
        plate_format=matching_format(best_text, formats or []),
    )


def o0_equal(a: str, b: str) -> bool:
    """Whether two plate texts match when O/0 and I/1 are not told apart."""
    table = str.maketrans("OI", "01")
    return a.translate(table) == b.translate(table)
