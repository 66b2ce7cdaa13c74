"""Merging per-frame reads of one plate: a vote position by position."""

from __future__ import annotations

import numpy as np


def vote(chars: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Combines per-frame character probabilities by a weighted sum of log-probabilities.

    Each position's classes are scored by ``sum_i w_i * log p_i(class)`` and renormalised, so a frame
    that is sure of a character outweighs several that are not, and a misread in a minority of
    frames is outvoted without comparing whole strings.

    Args:
        chars: ``(N, P, C)`` character probabilities of ``N`` reads.
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
    total = weights.sum()
    scale = weights / total if total > 0 else np.full_like(weights, 1.0 / len(weights))
    scores = np.einsum("n,npc->pc", scale, np.log(np.clip(chars, 1e-9, 1.0)))
    scores -= scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    return probs / probs.sum(axis=-1, keepdims=True)
