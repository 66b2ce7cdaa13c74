"""Scale pyramids sized to the plates a camera can show."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.spec import ScanSpec


@dataclass(frozen=True)
class Level:
    """One pyramid level.

    Attributes:
        scale: Level pixels per frame pixel.
        image: ``(h, w)`` uint8 resized frame.
    """

    scale: float
    image: np.ndarray


def pyramid_scales(spec: ScanSpec, window_width: int) -> list[float]:
    """Scales at which plates from ``min_plate_width`` to ``max_plate_width`` fill the window as trained.

    Args:
        spec: Plate widths and levels per octave.
        window_width: Window width in pixels.

    Returns:
        Scales, largest (small plates) first.
    """
    target = spec.plate_width_in_window * window_width
    largest, smallest = target / spec.min_plate_width, target / spec.max_plate_width
    steps = int(np.floor(np.log2(largest / smallest) * spec.scales_per_octave + 1e-9))
    return [largest * 2 ** (-i / spec.scales_per_octave) for i in range(steps + 1)]


def build_level(gray: np.ndarray, scale: float, window_shape: tuple[int, int]) -> Level | None:
    """Resizes a frame to one scale.

    Args:
        gray: ``(H, W)`` uint8 frame.
        scale: Level pixels per frame pixel.
        window_shape: ``(height, width)`` of a window.

    Returns:
        The level, or None where it would be smaller than one window.
    """
    w, h = round(gray.shape[1] * scale), round(gray.shape[0] * scale)
    if h < window_shape[0] or w < window_shape[1]:
        return None
    if (w, h) == (gray.shape[1], gray.shape[0]):
        return Level(scale, gray)
    # area averaging keeps strong reductions free of aliasing, as in the training windows
    return Level(scale, cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if scale < 0.7 else cv2.INTER_LINEAR))


def build_pyramid(gray: np.ndarray, scales: list[float], window_shape: tuple[int, int]) -> list[Level]:
    """Resizes a frame to each scale, leaving out levels smaller than one window.

    Args:
        gray: ``(H, W)`` uint8 frame.
        scales: Scales from :func:`pyramid_scales`.
        window_shape: ``(height, width)`` of a window.

    Returns:
        The levels.
    """
    return [level for scale in scales if (level := build_level(gray, scale, window_shape)) is not None]
