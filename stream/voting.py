"""Merging per-frame reads of one plate: the most supported length, then a vote position by position."""

from __future__ import annotations

import numpy as np


def read_lengths(chars: np.ndarray) -> np.ndarray:
    """``(N,)`` number of characters of each read's most likely text: positions whose best class is not
    "no character" (the last class).

    Args:
        chars: ``(N, P, C)`` character probabilities.
    """
    return (np.asarray(chars).argmax(axis=-1) != chars.shape[-1] - 1).sum(axis=-1)


def vote(chars: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Combines per-frame character probabilities of one plate.

    Positions only line up between reads of the same length (a read that drops a character shifts the rest),
    so the length with the largest total weight wins first, and only reads of that length vote. Each
    position's vote is the weighted mean of their probabilities, so a misread in a minority of frames is
    outvoted, and a frame that is sure of a character counts for more than one that is not.

    Args:
        chars: ``(N, P, C)`` character probabilities of ``N`` reads, the last class being "no character".
        weights: ``(N,)`` non-negative weights (presence probabilities).

    Returns:
        ``(P, C)`` voted probabilities (each position sums to 1).

    Raises:
        ValueError: If there are no reads or the shapes disagree.
    """
    chars = np.asarray(chars, np.float64)
    weights = np.asarray(weights, np.float64)
    if chars.ndim != 3 or len(chars) == 0 or weights.shape != (len(chars),):
        raise ValueError(f"vote needs (N, P, C) reads and (N,) weights, got {chars.shape} and {weights.shape}")
    weights = weights if weights.sum() > 0 else np.ones_like(weights)
    lengths = read_lengths(chars)
    support = np.bincount(lengths, weights, minlength=chars.shape[1] + 1)
    winner = len(support) - 1 - int(np.argmax(support[::-1]))  # ties go to the longer read
    keep = lengths == winner
    voted = np.einsum("n,npc->pc", weights[keep], chars[keep])
    return voted / voted.sum(axis=-1, keepdims=True)
