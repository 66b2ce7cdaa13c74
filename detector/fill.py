"""Filling beyond an image's edge: a cut or a window that reaches past it."""

from __future__ import annotations

import cv2
import numpy as np


def pad_flat(image: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """An ``(h, w)`` uint8 image padded with its median gray level: a flat fill, where repeating its edge pixels
    would smear a character touching an edge into a band that reads as a character.

    Args:
        image: ``(h, w)`` uint8 image.
        top: Rows added above it.
        bottom: Rows added below it.
        left: Columns added on its left.
        right: Columns added on its right.

    Returns:
        ``(top + h + bottom, left + w + right)`` uint8.
    """
    return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=float(np.median(image)))
