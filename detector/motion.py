"""Where consecutive frames differ: a cheap motion mask, as rectangles worth scanning for plates."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from detector.geometry import clip_boxes, merge_boxes

log = logging.getLogger(__name__)

_DILATE = np.ones((3, 3), np.uint8)
"""Kernel that joins the changed pixels of one moving object (edges, characters) into one area."""


def shrink(gray: np.ndarray, factor: int) -> np.ndarray:
    """A frame shrunk by area averaging, which also evens out pixel noise.

    Args:
        gray: ``(H, W)`` uint8 frame.
        factor: Shrink factor; 1 keeps the frame.

    Returns:
        ``(max(1, H // factor), max(1, W // factor))`` uint8 image.
    """
    if factor == 1:
        return gray
    size = (max(1, gray.shape[1] // factor), max(1, gray.shape[0] // factor))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def moving_regions(previous: np.ndarray, current: np.ndarray, threshold: int, margin: float,
                   frame_shape: tuple[int, int]) -> np.ndarray:
    """Rectangles around the pixels that changed between two shrunk frames.

    Args:
        previous: ``(h, w)`` uint8 shrunk earlier frame.
        current: ``(h, w)`` uint8 shrunk later frame.
        threshold: Least absolute gray-level change that counts as motion.
        margin: Frame pixels added on every side of each moving area.
        frame_shape: ``(H, W)`` of the full frame the shrunk ones stand for; rectangles are cut to it.

    Returns:
        ``(K, 4)`` float rectangles ``[x, y, w, h]`` in frame pixels, overlapping or touching ones merged.
    """
    changed = (cv2.absdiff(previous, current) >= threshold).astype(np.uint8)
    if not changed.any():
        return np.zeros((0, 4))
    changed = cv2.dilate(changed, _DILATE)
    count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    span = np.array([frame_shape[1] / current.shape[1], frame_shape[0] / current.shape[0]])  # frame px per shrunk px
    boxes = stats[1:count, :4].astype(np.float64) * np.tile(span, 2)  # row 0 is the background
    boxes[:, :2] -= margin
    boxes[:, 2:] += 2 * margin
    return merge_boxes(clip_boxes(boxes, frame_shape))


class MotionDetector:
    """Follows a stream of frames and says where each differs from the one before.

    Args:
        threshold: Gray-level change of a shrunk pixel that counts as motion.
        factor: Shrink factor of the frames compared.
        margin: Frame pixels added around each moving area.
    """

    def __init__(self, threshold: int, factor: int, margin: float) -> None:
        self.threshold = threshold
        self.factor = factor
        self.margin = margin
        self._previous: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None

    def update(self, gray: np.ndarray) -> np.ndarray:
        """Takes the next frame.

        Args:
            gray: ``(H, W)`` uint8 frame.

        Returns:
            ``(K, 4)`` rectangles ``[x, y, w, h]`` in frame pixels that moved since the previous frame; the
            whole frame for the first frame or one of a new size (nothing to compare with).
        """
        small = shrink(gray, self.factor)
        previous, shape = self._previous, self._shape
        self._previous, self._shape = small, gray.shape[:2]
        if previous is None or shape != gray.shape[:2]:
            return np.array([[0.0, 0.0, gray.shape[1], gray.shape[0]]])
        return moving_regions(previous, small, self.threshold, self.margin, gray.shape[:2])
