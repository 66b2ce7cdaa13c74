"""The crop reader: reads a found plate from a crop of the full-resolution frame around its box, at the plate's own
resolution (ONNX Runtime; no TensorFlow needed).

The scanner's window network finds plates and gives a first reading; this second network reads each one again from
the frame itself, cut with margins around the plate's box and resized to the reader's ``height`` x ``width``, its
characters read by CTC over ``width / 4`` columns (:mod:`recognizer.training.reader_network`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from recognizer.decode import FormatCheck, Reading, columns_to_slots, decode, softmax
from recognizer.deskew import level_cut, plate_roll
from recognizer.engine import onnx_session
from recognizer.fitting import FormatFit
from recognizer.spec import ModelSpec, ReaderSpec

log = logging.getLogger(__name__)


def fit_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """A crop resized to the reader's input: area-averaged where it shrinks, linear where it grows.

    Args:
        image: ``(h, w)`` uint8 crop.
        height: Input height.
        width: Input width.

    Returns:
        ``(height, width)`` uint8.
    """
    h, w = image.shape
    shrinking = w > width and h > height
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def cut_crop(gray: np.ndarray, box: tuple[float, float, float, float], spec: ReaderSpec) -> np.ndarray:
    """The reader's input for a plate box: the box widened by ``spec.margin_x`` of its width on each side and
    ``spec.margin_y`` of its height above and below, cut from the frame (edge pixels repeated beyond it) and resized.
    A plate turned by at least ``spec.deskew_min_degrees`` (:func:`recognizer.deskew.plate_roll`) is cut turned level
    (:func:`recognizer.deskew.level_cut`).

    Args:
        gray: ``(H, W)`` uint8 full-resolution frame.
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        spec: Reader settings.

    Returns:
        ``(spec.height, spec.width)`` uint8 crop.
    """
    if spec.deskew_max_degrees > 0:
        roll = plate_roll(gray, box, spec.deskew_max_degrees)
        if abs(roll) >= spec.deskew_min_degrees:
            return level_cut(gray, box, roll, spec.margin_x, spec.margin_y, spec.height, spec.width)
    x, y, w, h = box
    x0, x1 = int(round(x - spec.margin_x * w)), int(round(x + w + spec.margin_x * w))
    y0, y1 = int(round(y - spec.margin_y * h)), int(round(y + h + spec.margin_y * h))
    x1, y1 = max(x1, x0 + 2), max(y1, y0 + 2)
    fh, fw = gray.shape
    inside = gray[max(y0, 0) : min(y1, fh), max(x0, 0) : min(x1, fw)]
    if inside.size == 0:
        return np.zeros((spec.height, spec.width), np.uint8)
    pads = (max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw))
    if any(pads):
        inside = cv2.copyMakeBorder(inside, *pads, cv2.BORDER_REPLICATE)
    return fit_crop(inside, spec.height, spec.width)


class CropReader:
    """The trained crop reader in ONNX Runtime.

    Args:
        path: ``.onnx`` file (``anpr train-reader`` writes it).
        model: The crop model (:meth:`recognizer.spec.ReaderSpec.crop_model`): alphabet, positions read and crop size.
        spec: Reader settings (margins of the cut).
        threads: Intra-op threads of ONNX Runtime.
        fit: The camera's plate formats, where they constrain its readings: a crop whose plain reading has a number
            of characters none of them has is read as the likeliest alignment of its columns that fits one
            (:meth:`recognizer.fitting.FormatFit.refit`). None: plain readings.

    Raises:
        FileNotFoundError: If the file is missing.
    """

    def __init__(self, path: Path, model: ModelSpec, spec: ReaderSpec, threads: int = 1,
                 fit: FormatFit | None = None) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"crop reader not found: {path} (train one with 'anpr train-reader')")
        self.session = onnx_session(path, threads)
        self.input = self.session.get_inputs()[0].name
        self.model = model
        self.spec = spec
        self.fit = fit

    def columns(self, crops: np.ndarray) -> np.ndarray:
        """Character probabilities per column.

        Args:
            crops: ``(K, height, width)`` uint8 crops.

        Returns:
            ``(K, width / 4, C)`` float32 probabilities, the last class "no character".
        """
        if len(crops) == 0:
            return np.zeros((0, self.spec.width // 4, self.model.classes), np.float32)
        [logits] = self.session.run(None, {self.input: crops[..., None].astype(np.float32)})
        return softmax(logits[:, 0])

    def chars(self, crops: np.ndarray) -> np.ndarray:
        """``(K, P, C)`` per-position probabilities of crops ``(K, height, width)`` (the best CTC path's, fitted to the
        formats where they constrain)."""
        columns = self.columns(crops)
        slots = columns_to_slots(columns, self.model.positions)
        return slots if self.fit is None else self.fit.refit(columns, slots)

    def read(self, crops: np.ndarray, check: FormatCheck = FormatCheck()) -> list[Reading]:
        """The readings of crops ``(K, height, width)``, flagged (and constrained) by ``check``'s formats."""
        return [decode(slots, self.model, check) for slots in self.chars(crops)]

    def read_boxes(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Reads plates at their boxes in a frame: the callable the scanner takes.

        Args:
            gray: ``(H, W)`` uint8 full-resolution frame.
            boxes: ``(K, 4)`` plate boxes ``(x, y, w, h)`` in frame pixels.

        Returns:
            ``(K, P, C)`` per-position probabilities.
        """
        crops = np.stack([cut_crop(gray, tuple(b), self.spec) for b in boxes]) if len(boxes) else np.zeros(
            (0, self.spec.height, self.spec.width), np.uint8)
        return self.chars(crops)

    def read_whole(self, gray: np.ndarray) -> np.ndarray:
        """``(P, C)`` per-position probabilities of an ``(h, w)`` uint8 image that is only the plate, read whole:
        widened by ``spec.margin_x`` of its width on each side (edge pixels repeated), as a cut is, since a plate's
        photo is often cut at its edges; above and below it has its own margins."""
        pad = int(round(self.spec.margin_x * gray.shape[1]))
        widened = cv2.copyMakeBorder(gray, 0, 0, pad, pad, cv2.BORDER_REPLICATE) if pad else gray
        return self.chars(fit_crop(widened, self.spec.height, self.spec.width)[None])[0]
