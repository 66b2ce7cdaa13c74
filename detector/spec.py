"""Settings of the plate scanner."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from detector.zones import polygon_area


class ScanSpec(BaseModel):
    """Where and how finely the scanner looks for plates.

    Attributes:
        min_plate_width: Narrowest plate to find, in frame pixels.
        max_plate_width: Widest plate to find, in frame pixels.
        min_plate_share: In a photo (``anpr read``, ``anpr eval``) whose config sets neither plate width: the
            narrowest plate to find, as a share of the photo's width.
        max_plate_share: ... and the widest.
        still_max_side: A photo whose longer side exceeds this many pixels is shrunk to it before it is scanned
            (its boxes are mapped back): the plate widths then cost what they cost in a photo of this size.
        scales_per_octave: Pyramid levels per halving of the image size.
        plate_width_in_window: Plate width, as a share of the window width, that a level's scale aims at.
        presence_threshold: Presence probability above which a window is a hit.
        gate_threshold: Presence probability above which the gate network (where one is configured) passes a
            window on to the plate network; low, since a plate it misses in a photo is lost.
        stream_gate_threshold: The gate's threshold on the frames of a stream scanned in focus
            (``full_scan_every`` above 1): a stream shows each plate in many frames, so a stricter gate that passes a
            plate less often still finds it, and the plate network scores far less of a cluttered scene. None:
            ``gate_threshold``.
        merge_iou: Hits whose boxes overlap at least this much belong to one candidate.
        merge_contained: A candidate whose plate box lies at least this share inside a larger candidate's box is
            a read of part of that plate (some of its characters) and is dropped.
        min_hits: Hits a candidate needs (overlapping windows that agree).
        batch_size: Windows per network call when crops are re-checked.
        refine: Re-check each hit that scores highest among its neighbours with batched crops half a stride around it.
        reread_widths: Plate widths, as shares of the window width, at which each candidate is read once more from
            windows centred on its plate box (the reads vote); empty: candidates keep the scan's reading.
        reread_shifts: Vertical offsets of those windows from the plate's centre, as shares of the window height
            (positive: the window lower, the plate higher in it); each width is read at each offset.
        full_scan_every: In a stream, every this many pyramid levels one is scanned whole on each frame, the levels
            taking turns, so that each is scanned whole every this many frames (a plate that does not move is
            found within that many); the rest only in the windows touching moving areas and live tracks. The
            first frame is scanned whole. 1: every frame whole, as without focusing.
        motion_downscale: Frames are shrunk by this factor (area averaging) before looking for motion.
        motion_threshold: Gray-level change of a shrunk pixel between consecutive frames that counts as motion.
        motion_margin: Frame pixels added around each moving area before scanning it.
        track_margin: Plate widths added on every side of a live track's last box before scanning it (how far its
            plate may move in a frame).
        track_octaves: A live track's box is scanned on the pyramid levels whose scale brings its plate within
            this many octaves of ``plate_width_in_window`` (and the nearest level always); None: on every level.
        motion_level_step: The moving areas are scanned on every this many levels, the levels taking turns frame by
            frame (each sees them every this many frames); 1: every level, every frame.
        max_level_pixels: A pyramid level larger than this is scored, by the gate and by the plate network, in
            bands of rows of at most this many pixels, with the same scores, so that its memory stays bounded.
        workers: Pyramid levels built and scored at once, each on a thread of its own (one per CPU core); each
            network call runs on one thread (``recognizer.threads``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_plate_width: int = Field(60, ge=8)
    max_plate_width: int = Field(300, ge=8)
    min_plate_share: float = Field(0.047, gt=0, lt=1)
    max_plate_share: float = Field(0.75, gt=0, le=1)
    still_max_side: int = Field(1920, ge=128)
    scales_per_octave: int = Field(4, ge=1, le=12)
    plate_width_in_window: float = Field(0.7, gt=0.1, lt=1.0)
    presence_threshold: float = Field(0.9, gt=0, lt=1)
    gate_threshold: float = Field(0.3, gt=0, lt=1)
    stream_gate_threshold: float | None = Field(0.995, gt=0, lt=1)
    merge_iou: float = Field(0.3, gt=0, lt=1)
    merge_contained: float = Field(0.6, gt=0, le=1)
    min_hits: int = Field(1, ge=1)
    batch_size: int = Field(64, ge=1)
    refine: bool = False
    reread_widths: tuple[float, ...] = (0.62, 0.66, 0.7, 0.74, 0.78)
    reread_shifts: tuple[float, ...] = (-0.05, 0.0, 0.05)
    full_scan_every: int = Field(15, ge=1)
    motion_downscale: int = Field(4, ge=1, le=16)
    motion_threshold: int = Field(16, ge=1, le=255)
    motion_margin: int = Field(16, ge=0)
    track_margin: float = Field(0.5, ge=0)
    track_octaves: float | None = Field(0.35, ge=0)
    motion_level_step: int = Field(3, ge=1)
    max_level_pixels: int = Field(300_000, ge=128 * 64)
    workers: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _widths_ordered(self) -> "ScanSpec":
        if any(not 0 < share < 1 for share in self.reread_widths):
            raise ValueError(f"reread_widths must lie between 0 and 1: {list(self.reread_widths)}")
        if not self.reread_shifts or any(abs(shift) >= 0.5 for shift in self.reread_shifts):
            raise ValueError(f"reread_shifts must be one or more offsets between -0.5 and 0.5: {list(self.reread_shifts)}")
        if self.min_plate_share > self.max_plate_share:
            raise ValueError(f"min_plate_share ({self.min_plate_share}) exceeds max_plate_share ({self.max_plate_share})")
        if self.min_plate_width > self.max_plate_width:
            raise ValueError(f"min_plate_width ({self.min_plate_width}) exceeds max_plate_width ({self.max_plate_width})")
        return self

    @property
    def widths_given(self) -> bool:
        """Whether the config set ``min_plate_width`` or ``max_plate_width`` (else photos use the shares)."""
        return bool({"min_plate_width", "max_plate_width"} & self.model_fields_set)


class ZoneSpec(BaseModel):
    """A named part of a camera's frame where plates are read (:mod:`detector.zones`).

    Attributes:
        name: Zone name put in the events of plates read in it.
        units: ``pixels`` of the frame, or ``shares`` of its width and height (0 to 1).
        points: Three or more vertices ``[x, y]`` of the polygon, in order.
        entry: The direction vehicles enter the zone in (``left``, ``right``, ``up``, ``down``, ``approaching``,
            ``receding``): a plate moving that way is ``entering``, the opposite way ``leaving``. None: not told.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    units: Literal["pixels", "shares"] = "pixels"
    points: tuple[tuple[float, float], ...] = Field(min_length=3)
    entry: Literal["left", "right", "up", "down", "approaching", "receding"] | None = None

    @field_validator("points")
    @classmethod
    def _polygon_valid(cls, points: tuple[tuple[float, float], ...], info: ValidationInfo) -> tuple[tuple[float, float], ...]:
        values = [v for point in points for v in point]
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError("points must be finite and not negative")
        if info.data.get("units") == "shares" and max(values) > 1:
            raise ValueError("points in shares of the frame must lie between 0 and 1")
        if polygon_area(np.array(points)) <= 0:
            raise ValueError("points enclose no area")
        return points
