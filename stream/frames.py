"""One frame into plate reads: the path ``anpr run``, ``anpr read`` and ``anpr bench`` all take.

A frame is scanned (focused on motion and live tracks between whole-frame scans, or whole), its candidates are
decoded into reads, and each read keeps its plate and vehicle crops where snapshots are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial

import cv2
import numpy as np

from detector.geometry import inside_larger
from detector.scanner import Scanner
from detector.types import Candidate, SettleReadings, StageTimes
from detector.voting import surer
from detector.schedule import FocusedScanner
from detector.spec import ScanSpec
from recognizer.decode import decode, readers_log_prior
from recognizer.engine import PlateNetwork
from recognizer.fitting import FormatFit
from recognizer.gate import load_onnx_gate
from recognizer.outputs import STRIDE
from recognizer.reader import CropReader
from stream.config import AppConfig, resolve
from stream.events import PlateRead
from stream.snapshots import crop

NO_TRACKS = np.zeros((0, 4))
"""Track boxes of a frame with no live track (a still)."""


def load_crop_reader(config: AppConfig, photos: bool = True) -> CropReader:
    """The crop reader: it reads as many positions as the window network (``model.positions``), fitted to the
    camera's plate formats where they constrain (``read.constrain``). A photo's candidates are read after its
    scan, whose ``scan.workers`` threads are idle by then, so on photos each call runs on that many threads (the
    same readings, a batch of crops 1.5 to 2 times as fast on two); on a stream's frames on
    ``recognizer.threads``, where a second thread spinning on after each call slows the scan of the levels
    (docs/performance.md).

    Args:
        config: The application config.
        photos: It reads photos; False: a stream's frames, where turned plates are cut level and slanted ones
            upright only with ``reader.deskew_streams``, and crops read with their jittered copies only with
            ``reader.jitter_streams`` (the second reader, ``reader.second_onnx``, votes only with them).

    Raises:
        FileNotFoundError: If ``reader.onnx``, ``reader.two_rows_onnx`` or ``reader.second_onnx`` is missing.
    """
    model = config.reader.crop_model(config.model).model_copy(update={"positions": config.model.positions})
    check = config.format_check
    fit = FormatFit.build(model, check.formats) if check.constrain and check.formats else None
    spec = config.reader
    if not photos and not spec.deskew_streams:
        spec = spec.model_copy(update={"deskew_max_degrees": 0.0, "slant_max_degrees": 0.0})
    if not photos and not spec.jitter_streams:
        spec = spec.model_copy(update={"jitter": ()})
    threads = config.scan.workers if photos else config.recognizer.threads
    two_rows = None if spec.two_rows_onnx is None else resolve(spec.two_rows_onnx)
    second = None if spec.second_onnx is None or not spec.jitter else resolve(spec.second_onnx)  # it votes on copies
    return CropReader(resolve(spec.onnx), model, spec, threads, fit, two_rows, second)


def build_scanner(config: AppConfig, network: PlateNetwork, scan: ScanSpec | None = None,
                  photos: bool = False, crop_reader: CropReader | None = None) -> Scanner:
    """A scanner over the fully convolutional path, with batched crops for refinement, behind the gate network
    where ``gate.onnx`` names one, its candidates' final readings made as ``reader.streams`` (or
    ``reader.photos``) says.

    Args:
        config: The application config.
        network: The loaded network.
        scan: Scan settings in place of ``config.scan`` (a still's plate widths).
        photos: The frames are unrelated photos, not a stream's.
        crop_reader: The crop reader already loaded (:func:`load_crop_reader`); None: loaded here where it reads.

    Raises:
        FileNotFoundError: If the configured gate or crop reader file is missing.
    """
    scan = config.scan if scan is None else scan
    mode = config.reader.mode(photos)
    if mode == "crop":
        scan = scan.model_copy(update={"reread_widths": ()})
    gate = None if config.gate.onnx is None else load_onnx_gate(resolve(config.gate.onnx), config.recognizer.threads)
    finding = PlateNetwork(network.runner, network.model)  # plain readings: they only group and pick the plates
    read_boxes = None if mode == "windows" else (crop_reader or load_crop_reader(config, photos)).read_boxes
    return Scanner(scan, config.model.window_shape, STRIDE, finding.predict_windows, finding.score_map,
                   gate, (config.gate.stride, config.gate.stride), scan.workers, network.predict_windows, read_boxes,
                   settle_readings(config))


def settle_readings(config: AppConfig) -> SettleReadings:
    """How the re-read windows' and the crop reader's readings of the same plates make their final reading: the
    surer of the two (:func:`detector.voting.surer`), the crop reader's where it extends the windows' and is at
    least ``reader.one_more_confidence`` sure or where it reads more characters and is surer of them on average
    (``reader.longer_by_mean``), and where the two read as many characters, each weighed by its text's format
    weight (``read.readers_tie_weight``)."""
    check = config.format_check
    log_prior = partial(readers_log_prior, model=config.model, check=check) if check.readers_tie_weight else None
    longer_from = check.min_length if config.reader.longer_by_mean else None
    return partial(surer, one_more_confidence=config.reader.one_more_confidence, log_prior=log_prior,
                   longer_from=longer_from)


def to_reads(candidates: list[Candidate], config: AppConfig, frame: int, time_s: float) -> list[PlateRead]:
    """Decodes a frame's candidates into reads, leaving out those shorter than ``read.min_length``, and the lines of
    text on a plate (``read.text_line_height``): reads that fit none of the camera's plate formats, lying inside a
    larger read that fits one and far less tall."""
    check = config.format_check
    readings = [decode(c.chars, config.model, check) for c in candidates]
    fits = np.array([r.plate_format is not None for r in readings], bool)
    boxes = np.array([c.box for c in candidates], np.float64).reshape(-1, 4)
    on_plate = inside_larger(boxes, config.scan.merge_contained, hosts=fits, max_height=config.read.text_line_height)
    on_plate &= ~fits
    return [PlateRead(frame, time_s, c.box, c.presence, c.chars, r.text, r.confidence, zone=c.zone,
                      plate_format=r.plate_format)
            for c, r, dropped in zip(candidates, readings, on_plate)
            if len(r.text) >= check.min_length and not dropped]


@dataclass(frozen=True)
class FrameReads:
    """What one frame gave.

    Attributes:
        reads: Plate reads, most confident first (readings shorter than ``read.min_length`` left out).
        scan: Seconds of the scan's stages (motion, pyramid, gate, network, merge).
        gray_s: Seconds turning the colour frame gray.
        text_s: Seconds decoding the candidates into texts and cutting snapshot crops.
    """

    reads: tuple[PlateRead, ...]
    scan: StageTimes
    gray_s: float
    text_s: float


class FrameReader:
    """Turns the frames of one source into plate reads.

    Args:
        config: The application config (its ``scan`` unless ``scan`` is given; plates are read only in its
            ``source.zones``, where it has any).
        network: The loaded network.
        focused: Frames follow each other (a stream): between whole-frame scans, scan only what moves and the live
            tracks (``scan.full_scan_every``), and read as ``reader.streams`` says. False: every frame whole, read as
            ``reader.photos`` says (unrelated photos).
        snapshots: Cut each read's plate and vehicle crops out of the colour frame (the events' snapshots).
        scan: Scan settings in place of ``config.scan``.
        crop_reader: The crop reader already loaded, to share; None: loaded for this reader where it reads.
    """

    def __init__(self, config: AppConfig, network: PlateNetwork, focused: bool = True, snapshots: bool = False,
                 scan: ScanSpec | None = None, crop_reader: CropReader | None = None) -> None:
        scan = config.scan if scan is None else scan
        if not focused:
            scan = scan.model_copy(update={"full_scan_every": 1})
        self.config = config
        self.snapshots = snapshots
        self.scanner = FocusedScanner(build_scanner(config, network, scan, not focused, crop_reader), scan, config.source.zones)

    def read(self, image: np.ndarray, index: int = 0, time_s: float = 0.0,
             track_boxes: np.ndarray = NO_TRACKS) -> FrameReads:
        """Reads the plates in the next frame.

        Args:
            image: ``(H, W, 3)`` uint8 BGR frame, or ``(H, W)`` uint8 gray (no snapshot crops then).
            index: Frame index in the source.
            time_s: Stream time of the frame.
            track_boxes: ``(K, 4)`` boxes ``[x, y, w, h]`` where the live tracks are expected in this frame.

        Returns:
            The frame's reads and stage times.
        """
        started = time.monotonic()
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        converted = time.monotonic()
        candidates = self.scanner.scan(gray, track_boxes)
        scanned = time.monotonic()
        reads = to_reads(candidates, self.config, index, time_s)
        if self.snapshots and image.ndim == 3:
            reads = [replace(r, plate_crop=crop(image, r.box, 0.15, 0.4), vehicle_crop=crop(image, r.box, 1.5, 4.0))
                     for r in reads]
        return FrameReads(tuple(reads), self.scanner.timings, converted - started, time.monotonic() - scanned)

    def close(self) -> None:
        """Stops the scanner's worker threads."""
        self.scanner.scanner.close()

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
