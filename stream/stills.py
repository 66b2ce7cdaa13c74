"""Reading plates in photos of any size (``anpr read``), and scoring reads against labelled sets (``anpr eval``):
photos with or without plate boxes, plate crops and video clips."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from detector.geometry import clip_boxes, iou
from detector.spec import ScanSpec
from recognizer.decode import decode, o0_equal
from recognizer.engine import PlateNetwork
from recognizer.realdata import CropReading, LabelledPlate, crop_readings, load_manifest
from stream.bench import clip_of, run_clip, score_events
from stream.config import AppConfig
from stream.events import PlateRead
from stream.frames import FrameReader, load_crop_reader, settle_readings

log = logging.getLogger(__name__)

FOUND_IOU = 0.4
"""Least overlap between a read's box and the labelled box for the plate to count as found."""

PLATE_ASPECT = 1.9
"""An image at least this many times wider than tall is taken for a photo of a plate alone (a crop); photos are
at most 16:9 (1.78)."""

READERS_KEPT = 4
"""Frame readers (one per plate-width range, i.e. per photo width) a :class:`StillReader` keeps open."""


def looks_like_plate(shape: tuple[int, ...]) -> bool:
    """Whether an image of this ``(H, W, ...)`` shape is a plate crop rather than a photo (:data:`PLATE_ASPECT`)."""
    return shape[1] >= PLATE_ASPECT * shape[0]


def working_image(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A photo shrunk (area averaging) so that its longer side is at most ``max_side``.

    Args:
        gray: ``(H, W)`` uint8 photo.
        max_side: Longest side kept.

    Returns:
        The ``(h, w)`` image (``gray`` itself when small enough) and its scale, working pixels per photo pixel.
    """
    factor = min(1.0, max_side / max(gray.shape[:2]))
    if factor == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


def window_padding(shape: tuple[int, int], window_width: float, aspect: float) -> tuple[int, int]:
    """Pixels to add on each side of an image so that a window this wide fits in it.

    Args:
        shape: ``(h, w)`` of the image.
        window_width: Widest window, image pixels (the widest plate over its share of the window).
        aspect: Window height over width.

    Returns:
        ``(x, y)`` pixels on the left and right, and above and below.
    """
    h, w = shape
    return max(0, int(np.ceil((window_width - w) / 2))), max(0, int(np.ceil((window_width * aspect - h) / 2)))


Box = tuple[float, float, float, float]
"""``(x, y, w, h)`` in pixels."""


def photo_box(box: Box, shape: tuple[int, int]) -> Box | None:
    """A box ``(x, y, w, h)`` cut to a photo of this ``(H, W)`` shape (:func:`detector.geometry.clip_boxes`), or None
    where none of it is in the photo."""
    inside = clip_boxes(np.array([box], np.float64), shape)
    return (float(inside[0, 0]), float(inside[0, 1]), float(inside[0, 2]), float(inside[0, 3])) if len(inside) else None


def still_scan(spec: ScanSpec, width: int, factor: float) -> ScanSpec:
    """The scan settings of one photo: the config's plate widths scaled to the working image where it sets them,
    else ``min_plate_share`` and ``max_plate_share`` of the working image's width.

    Args:
        spec: The config's scan settings.
        width: Width of the working image, pixels.
        factor: Working pixels per photo pixel (:func:`working_image`).
    """
    if spec.widths_given:
        low, high = spec.min_plate_width * factor, spec.max_plate_width * factor
    else:
        low, high = spec.min_plate_share * width, spec.max_plate_share * width
    return spec.model_copy(update={"min_plate_width": max(8, round(low)), "max_plate_width": max(8, round(high))})


class StillReader:
    """Reads the plates in unrelated photos of any size, with no configuration needed.

    A large photo is shrunk to ``scan.still_max_side`` first and its boxes mapped back; the plate widths looked for
    follow the photo's width unless the config sets them (:func:`still_scan`). Where the scan finds no read that fits
    one of the camera's formats (nothing, or only the text of a dealer frame), the photo is scanned again with its
    edges repeated around it (:func:`window_padding`), so that a plate too wide for a window to hold within the photo
    (a photo taken close) is found at its box; those reads count where one fits a format or the first scan read
    nothing. A photo that is only a plate (wider
    than :data:`PLATE_ASPECT`), or one in which the scan finds nothing, is also read whole as a plate crop, the way
    the scanner reads a candidate of a photo (``reader.photos``); that reading counts where the window network's
    presence passes ``scan.presence_threshold``.

    Args:
        config: The application config.
        network: The loaded network.
    """

    def __init__(self, config: AppConfig, network: PlateNetwork) -> None:
        self.config = config
        self.network = network
        self.crop_reader = None if config.reader.photos == "windows" else load_crop_reader(config)
        self._settle = settle_readings(config)
        self._readers: dict[tuple[int, int], FrameReader] = {}

    def _reader(self, scan: ScanSpec) -> FrameReader:
        key = (scan.min_plate_width, scan.max_plate_width)
        if key not in self._readers:
            if len(self._readers) >= READERS_KEPT:
                self._readers.pop(next(iter(self._readers))).close()
            self._readers[key] = FrameReader(self.config, self.network, focused=False, scan=scan,
                                             crop_reader=self.crop_reader)
        return self._readers[key]

    def read(self, image: np.ndarray) -> list[PlateRead]:
        """All plates in one photo, most confident first (readings shorter than ``read.min_length`` left out).

        Args:
            image: ``(H, W, 3)`` uint8 BGR or ``(H, W)`` uint8 gray photo.

        Returns:
            Reads with boxes in the photo's pixels (frame 0, time 0).
        """
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        spec = self.config.scan
        work, factor = working_image(gray, spec.still_max_side)
        scan = still_scan(spec, work.shape[1], factor)
        reader = self._reader(scan)
        reads, pad_x, pad_y = list(reader.read(work).reads), 0, 0
        if not any(r.plate_format for r in reads):
            # a plate too wide for a window to hold in the photo (only its frame's text read, or nothing): scanned
            # again with room around it, those reads kept where they find a plate
            pad_x, pad_y = window_padding(work.shape, scan.max_plate_width / scan.plate_width_in_window,
                                          self.config.model.window_height / self.config.model.window_width)
            if pad_x or pad_y:
                padded = cv2.copyMakeBorder(work, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
                again = list(reader.read(padded).reads)
                if any(r.plate_format for r in again) or not reads:
                    reads = again
                else:
                    pad_x = pad_y = 0
        if pad_x or pad_y or factor != 1.0:  # back to the photo's pixels, cut to the photo (the padding is not in it)
            boxes = [photo_box(((r.box[0] - pad_x) / factor, (r.box[1] - pad_y) / factor, r.box[2] / factor,
                                r.box[3] / factor), gray.shape) for r in reads]
            reads = [replace(r, box=box) for r, box in zip(reads, boxes) if box is not None]
        if looks_like_plate(gray.shape) or not reads:
            whole = self.read_whole(gray)
            if whole is not None:
                return [whole]
        return reads

    def plate_reading(self, gray: np.ndarray) -> CropReading:
        """A photo that is only the plate, read as ``reader.photos`` says: by ``scan.reread_widths`` x
        ``scan.reread_shifts`` windows voting, by the crop reader, or by both, the surer reading counting.

        Args:
            gray: ``(h, w)`` uint8 photo.

        Returns:
            The reading, with the window network's presence (how sure it is that a plate fills the photo) and the
            plate's box as the surest window's box head places it.
        """
        spec = self.config.scan
        windows = crop_readings(self.network, [gray], self.config.model, self.config.format_check,
                                spec.reread_widths, spec.reread_shifts)[0]
        if self.crop_reader is None:
            return windows
        chars = self.crop_reader.read_whole(gray)
        if self.config.reader.photos == "both":
            chars = self._settle(windows.chars[None], chars[None])[0]
        reading = decode(chars, self.config.model, self.config.format_check)
        return replace(windows, text=reading.text, confidence=reading.confidence, chars=chars,
                       plate_format=reading.plate_format)

    def read_whole(self, gray: np.ndarray) -> PlateRead | None:
        """The photo read as one plate (:meth:`plate_reading`), its box within the photo where the window network
        places it, or None where no window is sure a plate is there or the reading is shorter than
        ``read.min_length``."""
        reading = self.plate_reading(gray)
        check = self.config.format_check
        if reading.presence < self.config.scan.presence_threshold or len(reading.text) < check.min_length:
            return None
        box = photo_box(reading.box, gray.shape) or (0.0, 0.0, float(gray.shape[1]), float(gray.shape[0]))
        return PlateRead(0, 0.0, box, reading.presence, reading.chars, reading.text, reading.confidence,
                         plate_format=reading.plate_format)

    def close(self) -> None:
        """Stops every frame reader's threads."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> "StillReader":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class ItemError:
    """One thing a set's reading got wrong (``anpr eval --errors``).

    Attributes:
        file: The photo, crop or clip.
        truth: The labelled plate; empty for a false plate event of a clip.
        read: What was read there: the text of the read whose box overlaps the label most, every read of a photo
            without boxes (space-separated), a crop's reading, a clip's false event; empty where nothing was.
        confidence: That reading's probability, where there is one reading.
        another_label: What was read is another item's label in the same set: where two photos of one plate are
            labelled differently, one label is wrong, and this reading may be right.
    """

    file: str
    truth: str
    read: str
    confidence: float | None = None
    another_label: bool = False


def with_other_labels(errors: tuple[ItemError, ...], labels: set[str]) -> tuple[ItemError, ...]:
    """Flags the errors whose reading (any of a photo's space-separated reads) is another item's label.

    Args:
        errors: A set's errors.
        labels: Every label of the set.
    """
    return tuple(replace(e, another_label=any(t in labels and t != e.truth for t in e.read.split())) for e in errors)


@dataclass(frozen=True)
class SetScore:
    """How one labelled set was read: one row of ``anpr eval``'s table.

    Attributes:
        name: The set's folder name.
        kind: ``stills`` (photos, scored end to end), ``crops`` (plate crops, the reader alone) or ``video`` (a clip
            run as ``anpr run`` runs it, its plate events scored against ``truth.csv``).
        items: Labelled plates scored.
        exact: Share read exactly (video: plates with a plate event of their exact text).
        exact_o0: Share read with O/0 and I/1 taken as equal.
        found: Share found (a read's box overlapping the label by :data:`FOUND_IOU`); None without boxes.
        false_reads: Stills: reads matching no labelled plate (by box where the set has boxes, else by text); they
            may be real unlabelled plates in the background, so they are reported, not penalised. Video: plate
            events whose text is in no truth row. None for crops.
        duplicates: Video: plate events beyond the first of a truth plate; None otherwise.
        ms: Median milliseconds per image (video: per frame, end to end).
        errors: Every labelled plate not read exactly, and every false plate event of a clip.
    """

    name: str
    kind: str
    items: int
    exact: float
    exact_o0: float
    found: float | None
    false_reads: int | None
    duplicates: int | None
    ms: float
    errors: tuple[ItemError, ...] = ()


def is_crop_set(rows: list[LabelledPlate], sample: int = 5) -> bool:
    """Whether a labelled set is one of plate crops: no boxes, and its first images are plate-shaped."""
    if any(r.box is not None for r in rows):
        return False
    files = list(dict.fromkeys(r.path for r in rows))[:sample]
    shapes = [image.shape for image in (cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files) if image is not None]
    return bool(shapes) and all(looks_like_plate(s) for s in shapes)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def evaluate_crops(name: str, rows: list[LabelledPlate], config: AppConfig, network: PlateNetwork) -> SetScore:
    """Scores a crop set with the reader alone, each crop read as a photo that is only the plate is
    (:meth:`StillReader.plate_reading`: ``reader.photos``)."""
    exact = o0 = total = 0
    times, errors = [], []
    with StillReader(config, network) as reader:
        for row in tqdm(rows, desc=name, mininterval=2):
            gray = cv2.imread(str(row.path), cv2.IMREAD_GRAYSCALE)
            if gray is None:
                log.warning("skipping unreadable image %s", row.path)
                continue
            started = time.monotonic()
            reading = reader.plate_reading(gray)
            times.append((time.monotonic() - started) * 1000)
            total += 1
            exact += reading.text == row.text
            o0 += o0_equal(reading.text, row.text)
            if reading.text != row.text:
                errors.append(ItemError(row.path.name, row.text, reading.text, reading.confidence))
    return SetScore(name, "crops", total, _share(exact, total), _share(o0, total), None, None, None,
                    float(np.median(times)) if times else 0.0, tuple(errors))


def evaluate_stills(name: str, rows: list[LabelledPlate], reader: StillReader) -> SetScore:
    """Scores photos end to end with :class:`StillReader`: a labelled plate with a box is read as the read whose box
    overlaps it most (by :data:`FOUND_IOU`); one without a box as any read of the photo with its text."""
    by_file: dict[Path, list[LabelledPlate]] = defaultdict(list)
    for row in rows:
        by_file[row.path].append(row)
    exact = o0 = found = total = false_reads = 0
    times, errors = [], []
    with_boxes = any(r.box is not None for r in rows)
    for path in tqdm(list(by_file), desc=name, mininterval=2):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            log.warning("skipping unreadable image %s", path)
            continue
        started = time.monotonic()
        reads = reader.read(image)
        times.append((time.monotonic() - started) * 1000)
        matched = np.zeros(len(reads), bool)
        for row in by_file[path]:
            total += 1
            if row.box is None or not reads:
                texts = [r.text for r in reads]
                exact += row.text in texts
                o0 += any(o0_equal(t, row.text) for t in texts)
                matched |= np.array([o0_equal(t, row.text) for t in texts], bool)
                if row.text not in texts:
                    errors.append(ItemError(path.name, row.text, " ".join(texts),
                                            reads[0].confidence if len(reads) == 1 else None))
                continue
            overlaps = iou(np.array([row.box], np.float64), np.array([r.box for r in reads]))[0]
            matched |= overlaps >= FOUND_IOU
            if overlaps.max() < FOUND_IOU:
                errors.append(ItemError(path.name, row.text, ""))
                continue
            found += 1
            read = reads[int(np.argmax(overlaps))]
            exact += read.text == row.text
            o0 += o0_equal(read.text, row.text)
            if read.text != row.text:
                errors.append(ItemError(path.name, row.text, read.text, read.confidence))
        false_reads += int((~matched).sum())
    return SetScore(name, "stills", total, _share(exact, total), _share(o0, total),
                    _share(found, total) if with_boxes else None, false_reads, None,
                    float(np.median(times)) if times else 0.0, tuple(errors))


def evaluate_manifest(manifest: Path, config: AppConfig, network: PlateNetwork,
                      lengths: tuple[int, int] | None = None, limit: int | None = None) -> SetScore:
    """Scores one labelled set of photos or crops.

    Args:
        manifest: Its ``manifest.csv``.
        config: The application config.
        network: The loaded network.
        lengths: Only plates whose text length is in this inclusive range.
        limit: Only the first ``limit`` images.
    """
    labelled = load_manifest(manifest)
    crops = is_crop_set(labelled)
    rows = [r for r in labelled if lengths is None or lengths[0] <= len(r.text) <= lengths[1]]
    if limit:
        files = set(list(dict.fromkeys(r.path for r in rows))[:limit])
        rows = [r for r in rows if r.path in files]
    name = manifest.parent.name
    if crops:
        score = evaluate_crops(name, rows, config, network)
    else:
        with StillReader(config, network) as reader:
            score = evaluate_stills(name, rows, reader)
    return replace(score, errors=with_other_labels(score.errors, {r.text for r in rows}))


def labelled_sets(path: Path) -> Iterator[Path]:
    """The labelled sets at a path: a ``manifest.csv``, a set's folder (with ``manifest.csv``, or ``clip.mp4`` and
    ``truth.csv``), or a folder of such sets (in name order).

    Raises:
        FileNotFoundError: If the path holds no labelled set.
    """
    def is_set(folder: Path) -> bool:
        return (folder / "manifest.csv").is_file() or (folder / "truth.csv").is_file()

    if path.is_file() and path.suffix == ".csv":
        yield path.parent
        return
    if path.is_dir() and is_set(path):
        yield path
        return
    sets = sorted(p for p in path.iterdir() if p.is_dir() and is_set(p)) if path.is_dir() else []
    if not sets:
        raise FileNotFoundError(f"no labelled set (manifest.csv, or clip.mp4 with truth.csv) at {path}")
    yield from sets


def evaluate(path: Path, config: AppConfig, network: PlateNetwork, lengths: tuple[int, int] | None = None,
             limit: int | None = None) -> Iterator[SetScore]:
    """Scores every labelled set at a path (:func:`labelled_sets`), one at a time.

    Args:
        path: A ``manifest.csv``, a set's folder or a folder of sets.
        config: The application config.
        network: The loaded network.
        lengths: Stills and crops: only plates whose text length is in this inclusive range.
        limit: Stills and crops: only the first ``limit`` images of each set.
    """
    for folder in labelled_sets(path):
        if (folder / "manifest.csv").is_file():
            yield evaluate_manifest(folder / "manifest.csv", config, network, lengths, limit)
            continue
        clip = clip_of(folder)
        result = run_clip(clip.video, config, network)
        score = score_events(result.texts, clip.plates)
        errors = [ItemError(clip.video.name, plate, "") for plate in dict.fromkeys(clip.plates)
                  if plate not in result.texts]
        errors += [ItemError(clip.video.name, "", text) for text in result.texts if text not in clip.plates]
        yield SetScore(folder.name, "video", len(clip.plates), _share(score.read, len(clip.plates)),
                       _share(score.read_o0, len(clip.plates)), None, score.false, score.duplicates,
                       1000 / result.fps if result.fps else 0.0, tuple(errors))
