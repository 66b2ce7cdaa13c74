"""The crop reader: reads a found plate from a crop of the full-resolution frame around its box, at the plate's own
resolution (ONNX Runtime; no TensorFlow needed).

The scanner's window network finds plates and gives a first reading; this second network reads each one again from
the frame itself, cut with margins around the plate's box and resized to the reader's ``height`` x ``width``, its
characters read by CTC over ``width / 4`` columns (:mod:`recognizer.training.reader_network`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from detector.fill import pad_flat
from detector.voting import agreed, read_lengths, reading_confidence, surest
from recognizer.decode import FormatCheck, Reading, columns_to_slots, decode, softmax
from recognizer.deskew import Pose, level_cut, plate_roll, plate_slant, unturned_size
from recognizer.engine import onnx_session
from recognizer.fitting import FormatFit
from recognizer.spec import ModelSpec, ReaderSpec

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

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


def jittered(crop: np.ndarray, moves: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """Copies of a crop, each moved by ``(dx, dy)`` pixels and scaled by ``scale`` about its centre, its edges
    repeated where the copy reaches beyond it.

    Args:
        crop: ``(h, w)`` uint8 crop.
        moves: ``(dx, dy, scale)`` of each copy.

    Returns:
        ``(len(moves), h, w)`` uint8.
    """
    h, w = crop.shape
    copies = [cv2.warpAffine(crop, np.float32([[s, 0, (1 - s) * w / 2 + dx], [0, s, (1 - s) * h / 2 + dy]]), (w, h),
                             flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for dx, dy, s in moves]
    return np.array(copies, np.uint8).reshape(len(moves), h, w)


def unroll_rows(cut: np.ndarray, split: float, overlap: float, height: int, width: int) -> np.ndarray:
    """A two-row plate's cut laid out as one row: the strip above the split on the left, the strip below it on the
    right, each reaching ``overlap`` beyond the split, so that a one-row reader reads the top row, then the bottom one.

    Args:
        cut: ``(h, w)`` uint8 cut of the plate with its margins.
        split: Where the rows part, as a share of the cut's height.
        overlap: Share of the cut's height each strip reaches beyond the split.
        height: Input height of the reader.
        width: Input width; each strip takes half of it.

    Returns:
        ``(height, width)`` uint8.
    """
    h = cut.shape[0]
    top = cut[: min(h, max(1, int(round(h * (split + overlap)))))]
    bottom = cut[min(h - 1, max(0, int(round(h * (split - overlap))))) :]
    return np.hstack([fit_crop(top, height, width // 2), fit_crop(bottom, height, width - width // 2)])


def posed_crop(gray: np.ndarray, box: tuple[float, float, float, float], spec: ReaderSpec) -> tuple[Pose, np.ndarray]:
    """The plate in ``box``, cut at its pose: turned level where its roll (:func:`recognizer.deskew.plate_roll`) is
    at least ``spec.deskew_min_degrees``, then sheared upright where its characters
    (:func:`recognizer.deskew.plate_slant`) lean by at least ``spec.slant_min_degrees``. The slant is measured on the
    level cut, which is the crop itself where the characters stand upright enough.

    Args:
        gray: ``(H, W)`` uint8 full-resolution frame.
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        spec: Reader settings.

    Returns:
        The plate's pose, and its ``(spec.height, spec.width)`` uint8 crop (:func:`cut_at_pose`).
    """
    roll = plate_roll(gray, box, spec.deskew_max_degrees) if spec.deskew_max_degrees > 0 else 0.0
    pose = Pose(roll if abs(roll) >= spec.deskew_min_degrees else 0.0)
    crop = cut_at_pose(gray, box, spec, pose)
    if spec.slant_max_degrees <= 0:
        return pose, crop
    slant = plate_slant(crop, math.tan(math.radians(spec.slant_max_degrees)))
    if abs(slant) < math.tan(math.radians(spec.slant_min_degrees)):
        return pose, crop
    plate_w, plate_h = unturned_size(box[2], box[3], pose.roll)
    crop_aspect = spec.height * plate_w * (1 + 2 * spec.margin_x) / (spec.width * plate_h * (1 + 2 * spec.margin_y))
    pose = replace(pose, slant=float(slant * crop_aspect))  # the crop's shear, in the frame
    return pose, cut_at_pose(gray, box, spec, pose)


def cut_crop(gray: np.ndarray, box: tuple[float, float, float, float], spec: ReaderSpec) -> np.ndarray:
    """The reader's input for a plate box: the box widened by ``spec.margin_x`` of its width on each side and
    ``spec.margin_y`` of its height above and below, cut from the frame (a flat fill beyond it) at the
    plate's pose (:func:`posed_crop`) and resized to ``(spec.height, spec.width)`` uint8.

    Args:
        gray: ``(H, W)`` uint8 full-resolution frame.
        box: ``(x, y, w, h)`` of the plate in frame pixels.
        spec: Reader settings.
    """
    return posed_crop(gray, box, spec)[1]


def cut_at_pose(gray: np.ndarray, box: tuple[float, float, float, float], spec: ReaderSpec, pose: Pose,
                widen: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The crop of a plate box (:func:`cut_crop`) at a known pose, widened by ``widen``: shares of the plate's width
    added on its left and on its right beyond the margins. ``(spec.height, spec.width)`` uint8."""
    if pose.roll or pose.slant:
        return level_cut(gray, box, pose.roll, spec.margin_x, spec.margin_y, spec.height, spec.width, pose.slant, widen)
    return box_cut(gray, box, spec, widen)


def box_cut(gray: np.ndarray, box: tuple[float, float, float, float], spec: ReaderSpec,
            widen: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The box widened by the margins (and ``widen``, shares of its width added left and right), cut from the frame
    as it lies (its median gray beyond it, :func:`pad_flat`) and resized: ``(spec.height, spec.width)`` uint8."""
    x, y, w, h = box
    x0, x1 = int(round(x - (spec.margin_x + widen[0]) * w)), int(round(x + w + (spec.margin_x + widen[1]) * w))
    y0, y1 = int(round(y - spec.margin_y * h)), int(round(y + h + spec.margin_y * h))
    x1, y1 = max(x1, x0 + 2), max(y1, y0 + 2)
    fh, fw = gray.shape
    inside = gray[max(y0, 0) : min(y1, fh), max(x0, 0) : min(x1, fw)]
    if inside.size == 0:
        return np.zeros((spec.height, spec.width), np.uint8)
    pads = (max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw))
    if any(pads):
        inside = pad_flat(inside, *pads)
    return fit_crop(inside, spec.height, spec.width)


def edge_widening(columns: np.ndarray, edge_columns: int, widen: float) -> np.ndarray:
    """How much wider to cut each crop whose reading reaches one of its ends.

    Args:
        columns: ``(K, T, C)`` the crops' per-column probabilities, the last class "no character".
        edge_columns: A reading whose first (last) character's column is within this many of the first (last)
            column reaches that end.
        widen: Share of a plate's width added on each side its reading reaches.

    Returns:
        ``(K, 2)`` shares of each plate's width to add on its left and on its right (0 where its reading does not
        reach that end).
    """
    chars = columns.argmax(axis=-1) != columns.shape[-1] - 1
    width = columns.shape[1]
    first = np.where(chars.any(axis=1), chars.argmax(axis=1), width)
    last = np.where(chars.any(axis=1), width - 1 - chars[:, ::-1].argmax(axis=1), -1)
    return widen * np.column_stack([first <= edge_columns, last >= width - 1 - edge_columns]).astype(np.float64)


ROW_MAX_ASPECT = 4.5
"""A plate box wider than this (width over height) is not taken for one row of a two-row plate (a square plate's
row is about 3.5:1)."""


def grown_boxes(box: tuple[float, float, float, float], grows: tuple[float, ...]) -> list[tuple[float, float, float, float]]:
    """The boxes of the two-row plate a plate box ``(x, y, w, h)`` may be one row of (or one row and part of the
    other): grown upward by each of ``grows`` (shares of its height), then downward by each."""
    x, y, w, h = box
    return [(x, y - g * h, w, (1 + g) * h) for g in grows] + [(x, y, w, (1 + g) * h) for g in grows]


def reads_more(one: np.ndarray, other: np.ndarray, sure: float = math.inf) -> np.ndarray:
    """``(K,)`` whether each of ``other``'s readings reads more characters than ``one``'s and is surer of itself
    (:func:`detector.voting.reading_confidence`), or at least ``sure``; both ``(K, P, C)``."""
    confidence = reading_confidence(other)
    return (read_lengths(other) > read_lengths(one)) & ((confidence > reading_confidence(one)) | (confidence >= sure))


def one_or_two_rows(one: np.ndarray, two: np.ndarray) -> np.ndarray:
    """Per plate, its reading as two rows where that reads more characters than its reading as one row and is surer
    of itself (:func:`detector.voting.reading_confidence`), else its reading as one row. A one-row plate parted in
    two reads few characters (halves of them), a two-row plate read as one row one of its rows or a jumble.

    Args:
        one: ``(K, P, C)`` per-position probabilities of plates read as one row ("no character" last).
        two: ``(K, P, C)`` the same plates read as two rows.

    Returns:
        ``(K, P, C)``.
    """
    return np.where(reads_more(one, two)[:, None, None], two, one)


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
        two_rows: ``.onnx`` file of a reader of two-row plates laid out as one row, which reads the plates read as two
            rows (:meth:`two_row_slots`); None: the reader at ``path`` reads them too.
        second: ``.onnx`` file of a second one-row reader, trained otherwise, whose readings of an unsure crop and of
            its copies join the vote of :meth:`chars`; None: the reader at ``path`` reads them alone.

    Raises:
        FileNotFoundError: If a file is missing.
    """

    def __init__(self, path: Path, model: ModelSpec, spec: ReaderSpec, threads: int = 1,
                 fit: FormatFit | None = None, two_rows: Path | None = None, second: Path | None = None) -> None:
        for file in (path, two_rows, second):
            if file is not None and not file.is_file():
                raise FileNotFoundError(f"crop reader not found: {file} (train one with 'anpr train-reader')")
        self.session = onnx_session(path, threads)
        self.two_rows_session = self.session if two_rows is None else onnx_session(two_rows, threads)
        self.second_session = None if second is None else onnx_session(second, threads)
        self.model = model
        self.spec = spec
        self.fit = fit
        self._two_row_cut = spec.model_copy(update={"height": 2 * spec.height, "width": spec.width // 2})

    def columns(self, crops: np.ndarray, two_rows: bool = False) -> np.ndarray:
        """Character probabilities per column.

        Args:
            crops: ``(K, height, width)`` uint8 crops.
            two_rows: The crops are two-row plates laid out as one row (:func:`unroll_rows`): read by the two-row
                reader.

        Returns:
            ``(K, width / 4, C)`` float32 probabilities, the last class "no character".
        """
        return self._run(self.two_rows_session if two_rows else self.session, crops)

    def _run(self, session: InferenceSession, crops: np.ndarray) -> np.ndarray:
        """``(K, width / 4, C)`` column probabilities of ``(K, height, width)`` uint8 crops read by ``session``."""
        if len(crops) == 0:
            return np.zeros((0, self.spec.width // 4, self.model.classes), np.float32)
        [logits] = session.run(None, {session.get_inputs()[0].name: crops[..., None].astype(np.float32)})
        return softmax(logits[:, 0])

    def chars(self, crops: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """Per-position probabilities of crops (:meth:`slots`). A crop that reads as some text, less than
        ``spec.jitter_below`` sure of it, is read with its copies too (``spec.jitter``, :func:`jittered`), by this
        reader and by the second one where there is one, and read as the text most of those readings agree on
        (:func:`detector.voting.agreed`); how sure that reading is, this reader's readings of it say where any
        read it (the second reader's confidences are its own, not comparable with the re-read windows').

        Args:
            crops: ``(K, height, width)`` uint8 crops.
            columns: The crops' own :meth:`columns` where already read; None: read here.

        Returns:
            ``(K, P, C)``.
        """
        slots = self.slots(self.columns(crops) if columns is None else columns)
        moves = self.spec.jitter
        if not moves:
            return slots
        read = np.flatnonzero((read_lengths(slots) > 0) & (reading_confidence(slots) < self.spec.jitter_below))
        if not len(read):
            return slots
        copies = np.concatenate([jittered(crops[k], moves) for k in read])
        shape = (len(read), len(moves), *slots.shape[1:])
        readings = [slots[read, None], self.slots(self.columns(copies)).reshape(shape)]
        if self.second_session is not None:
            readings += [self.slots(self._run(self.second_session, crops[read]))[:, None],
                         self.slots(self._run(self.second_session, copies)).reshape(shape)]
        slots[read] = agreed(np.concatenate(readings, axis=1), vouching=1 + len(moves))
        return slots

    def slots(self, columns: np.ndarray) -> np.ndarray:
        """``(K, P, C)`` per-position probabilities of crops' ``(K, T, C)`` columns: the best CTC path's, fitted to
        the formats where they constrain."""
        slots = columns_to_slots(columns, self.model.positions)
        return slots if self.fit is None else self.fit.refit(columns, slots)

    def read(self, crops: np.ndarray, check: FormatCheck = FormatCheck()) -> list[Reading]:
        """The readings of crops ``(K, height, width)``, flagged (and constrained) by ``check``'s formats."""
        return [decode(slots, self.model, check) for slots in self.chars(crops)]

    def read_boxes(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Reads plates at their boxes in a frame: the callable the scanner takes.

        A crop whose reading reaches within ``spec.edge_columns`` columns of one of its ends may hold a plate wider
        than its box (the scan's boxes fall short of long plates' ends): it is cut again, at the same pose, widened
        by ``spec.edge_widen`` of the plate's width on that side (:func:`edge_widening`), and read from that cut;
        an unsure crop is read with its jittered copies too (:meth:`chars`).
        A box narrower than ``spec.two_rows_max_aspect`` is also read as two rows (:meth:`two_row_slots`,
        :func:`one_or_two_rows`), and a short reading that may be one row of a two-row plate from the box grown up and
        down (:meth:`_grow_rows`).

        Args:
            gray: ``(H, W)`` uint8 full-resolution frame.
            boxes: ``(K, 4)`` plate boxes ``(x, y, w, h)`` in frame pixels.

        Returns:
            ``(K, P, C)`` per-position probabilities.
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if not len(boxes):
            return self.chars(np.zeros((0, self.spec.height, self.spec.width), np.uint8))
        poses, crops = zip(*(posed_crop(gray, tuple(box), self.spec) for box in boxes))
        crops = np.stack(crops)
        columns = self.columns(crops)
        widen = edge_widening(columns, self.spec.edge_columns, self.spec.edge_widen)
        again = np.flatnonzero(widen.any(axis=1))
        if len(again):
            crops[again] = np.stack([cut_at_pose(gray, tuple(boxes[k]), self.spec, poses[k], tuple(widen[k]))
                                     for k in again])
            columns[again] = self.columns(crops[again])
        slots = self.chars(crops, columns)
        two = np.flatnonzero(boxes[:, 2] < self.spec.two_rows_max_aspect * boxes[:, 3])
        if len(two):
            cuts = [cut_at_pose(gray, tuple(boxes[k]), self._two_row_cut, poses[k]) for k in two]
            slots[two] = one_or_two_rows(slots[two], self.two_row_slots(cuts))
        return self._grow_rows(gray, boxes, poses, slots)

    def _grow_rows(self, gray: np.ndarray, boxes: np.ndarray, poses: list[Pose], slots: np.ndarray) -> np.ndarray:
        """Plates whose reading may be one row of a two-row plate read again from grown boxes.

        A plate read as 2 to ``spec.two_rows_grow_length`` characters, at least ``spec.two_rows_grow_min`` sure, from
        a box narrower than :data:`ROW_MAX_ASPECT` is read as two rows from its box grown up and down by each of
        ``spec.two_rows_grow`` (:func:`grown_boxes`; the window network often boxes one row of a square or
        motorcycle plate, or one and part of the other). Of those readings that read more characters than the plate's
        and are surer of themselves, or at least ``spec.two_rows_grow_sure``, the surest is kept.

        Args:
            gray: ``(H, W)`` uint8 full-resolution frame.
            boxes: ``(K, 4)`` plate boxes ``(x, y, w, h)`` in frame pixels.
            poses: Each plate's pose.
            slots: ``(K, P, C)`` their readings so far.

        Returns:
            ``(K, P, C)`` per-position probabilities.
        """
        spec = self.spec
        if not spec.two_rows_grow:
            return slots
        lengths = read_lengths(slots)
        rows = np.flatnonzero((lengths >= 2) & (lengths <= spec.two_rows_grow_length)
                              & (reading_confidence(slots) >= spec.two_rows_grow_min)
                              & (boxes[:, 2] < ROW_MAX_ASPECT * boxes[:, 3]))
        if not len(rows):
            return slots
        grows = 2 * len(spec.two_rows_grow)
        cuts = [cut_at_pose(gray, grown, self._two_row_cut, poses[k])
                for k in rows for grown in grown_boxes(tuple(boxes[k]), spec.two_rows_grow)]
        grown = self.two_row_slots(cuts)
        better = reads_more(np.repeat(slots[rows], grows, axis=0), grown, spec.two_rows_grow_sure).reshape(len(rows), grows)
        found = better.any(axis=1)
        best = np.argmax(np.where(better, reading_confidence(grown).reshape(len(rows), grows), -1.0), axis=1)
        slots[rows[found]] = grown.reshape(len(rows), grows, *grown.shape[1:])[found, best[found]]
        return slots

    def two_row_slots(self, cuts: list[np.ndarray]) -> np.ndarray:
        """Plates read as two rows laid out as one (:func:`unroll_rows`), parted at each of
        ``spec.two_rows_splits``, the surest split's reading kept (:func:`detector.voting.surest`).

        Args:
            cuts: ``(h, w)`` uint8 cuts of the plates with their margins.

        Returns:
            ``(K, P, C)`` per-position probabilities.
        """
        splits = self.spec.two_rows_splits
        unrolled = np.stack([unroll_rows(cut, split, self.spec.two_rows_overlap, self.spec.height, self.spec.width)
                             for cut in cuts for split in splits])
        slots = self.slots(self.columns(unrolled, two_rows=True))
        return surest(slots.reshape(len(cuts), len(splits), *slots.shape[1:]))

    def read_whole(self, gray: np.ndarray) -> np.ndarray:
        """``(P, C)`` per-position probabilities of an ``(h, w)`` uint8 image that is only the plate, read whole:
        widened by ``spec.margin_x`` of its width on each side (a flat fill), as a cut is, since a plate's
        photo is often cut at its edges; above and below it has its own margins. It is turned level and its
        characters stood upright as a cut's are (:func:`posed_crop`). A photo narrower than
        ``spec.two_rows_max_aspect`` is also read as two rows (:meth:`two_row_slots`, :func:`one_or_two_rows`)."""
        whole = self.spec.model_copy(update={"margin_y": 0.0})
        box = (0.0, 0.0, float(gray.shape[1]), float(gray.shape[0]))
        pose, crop = posed_crop(gray, box, whole)
        slots = self.chars(crop[None])
        if gray.shape[1] < self.spec.two_rows_max_aspect * gray.shape[0]:
            cut = cut_at_pose(gray, box, self._two_row_cut.model_copy(update={"margin_y": 0.0}), pose)
            slots = one_or_two_rows(slots, self.two_row_slots([cut]))
        return slots[0]
