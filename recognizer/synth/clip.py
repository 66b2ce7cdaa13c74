"""Synthetic traffic videos: vehicles with known plates driving across a road, drawn by the plate renderer.

They are the built-in demo and the benchmark clips; their plates are known, so a run over them can be checked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.synth.designs import DESIGNS
from recognizer.synth.fonts import renderer_fonts
from recognizer.synth.glyphs import GlyphSet
from recognizer.synth.plates import render_plate
from recognizer.synth.scenes import render_scene
from recognizer.synth.windows import fitting_formats
from recognizer.spec import ModelSpec, RendererSpec


@dataclass(frozen=True)
class ClipVehicle:
    """One vehicle of a clip.

    Attributes:
        plate: Its plate text.
        first_frame: First frame it is fully in view.
        last_frame: Last frame it is fully in view.
        plate_width: Plate width in pixels.
        boxes: Frame index (as a string, JSON keys being strings) to the plate's ``[x, y, w, h]`` in that
            frame, for frames where the whole plate is in view.
    """

    plate: str
    first_frame: int
    last_frame: int
    plate_width: int
    boxes: dict[str, list[int]]


def _road(rng: np.random.Generator, width: int, height: int, glyph_sets: list[GlyphSet]) -> np.ndarray:
    """``(height, width, 3)`` BGR background: scenery above, asphalt with lane markings below."""
    scenery = render_scene(rng, height, width, glyph_sets).astype(np.float32)
    road = np.full((height, width), 90, np.float32) + rng.normal(0, 6, (height, width)).astype(np.float32)
    horizon = height // 3
    image = np.concatenate([scenery[:horizon], road[horizon:]], axis=0)
    for x in range(0, width, 120):
        cv2.rectangle(image, (x, int(height * 0.9)), (x + 60, int(height * 0.9) + 6), 220, -1)
    tint = np.array([1.0, 1.02, 0.97], np.float32)
    return np.clip(image[..., None] * tint, 0, 255).astype(np.uint8)


def _vehicle(rng: np.random.Generator, plate_image: np.ndarray, plate_width: int) -> tuple[np.ndarray, list[int]]:
    """``(h, w, 3)`` BGR rear view of a car carrying the plate scaled to ``plate_width``, and the plate's
    ``[x, y, w, h]`` in it."""
    ph, pw = plate_image.shape
    plate_height = round(ph * plate_width / pw)
    plate = cv2.resize(plate_image, (plate_width, plate_height), interpolation=cv2.INTER_AREA)
    w, h = int(plate_width * 2.6), int(plate_width * 1.4)
    colour = rng.uniform(30, 230, 3)
    body = np.zeros((h, w, 3), np.float32)
    body[:] = colour
    cv2.rectangle(body, (int(0.12 * w), int(0.06 * h)), (int(0.88 * w), int(0.4 * h)), (40, 40, 45), -1)
    for x in (int(0.04 * w), int(0.8 * w)):
        cv2.rectangle(body, (x, int(0.5 * h)), (x + int(0.16 * w), int(0.62 * h)), (30, 30, 200), -1)
    cv2.rectangle(body, (0, int(0.85 * h)), (w, h), (25, 25, 25), -1)
    px, py = (w - plate_width) // 2, int(0.62 * h)
    body[py : py + plate_height, px : px + plate_width] = plate[..., None]
    return np.clip(body, 0, 255).astype(np.uint8), [px, py, plate_width, plate_height]


def make_clip(out: Path, model: ModelSpec, renderer: RendererSpec, seed: int = 7, size: tuple[int, int] = (640, 360),
              fps: float = 10.0, vehicles: int = 3, plate_width: tuple[int, int] = (110, 130),
              frames_per_vehicle: int = 16, gap_frames: int = 8) -> list[ClipVehicle]:
    """Writes an MP4 of vehicles crossing the frame one after another, and a JSON list of their plates.

    Args:
        out: The ``.mp4`` to write; the truth goes to the same path with ``.json``.
        model: Alphabet (plates are drawn with characters of the model's alphabet).
        renderer: Plate formats and fonts.
        seed: Random seed (the same seed gives the same clip).
        size: ``(width, height)`` of the video.
        fps: Frame rate.
        vehicles: Number of vehicles.
        plate_width: Range of plate widths in pixels.
        frames_per_vehicle: Frames each vehicle takes to cross.
        gap_frames: Empty frames after each vehicle.

    Returns:
        The vehicles in order of appearance.
    """
    rng = np.random.default_rng(seed)
    fonts = renderer_fonts(renderer, model.alphabet)
    width, height = size
    background = _road(rng, width, height, fonts.general)
    # Plates of one row that the model can hold, in the configured order.
    formats = [f for f in fitting_formats(renderer.formats, model.positions) if DESIGNS[f.design].rows == 1]
    truth = []
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    frame_index = 0
    for i in range(vehicles):
        plate = render_plate(rng, formats[i % len(formats)], fonts)
        pw = int(rng.integers(plate_width[0], plate_width[1] + 1))
        car, (bx, by, bw, bh) = _vehicle(rng, plate.image, pw)
        ch, cw = car.shape[:2]
        y = height - ch - int(0.06 * height)
        xs = np.linspace(-cw * 0.3, width - cw * 0.7, frames_per_vehicle)
        in_view = [frame_index + k for k, x in enumerate(xs) if x >= 0 and x + cw <= width]
        boxes = {str(frame_index + k): [int(x) + bx, y + by, bw, bh] for k, x in enumerate(xs)
                 if int(x) + bx >= 0 and int(x) + bx + bw <= width}
        for x in xs:
            frame = background.copy()
            x0, x1 = int(x), int(x) + cw
            sx0, sx1 = max(0, x0), min(width, x1)
            frame[y : y + ch, sx0:sx1] = car[:, sx0 - x0 : sx1 - x0]
            noise = rng.normal(0, 2, frame.shape)
            writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
            frame_index += 1
        truth.append(ClipVehicle(plate.text, in_view[0], in_view[-1], pw, boxes))
        for _ in range(gap_frames):
            writer.write(background)
            frame_index += 1
    writer.release()
    out.with_suffix(".json").write_text(json.dumps([asdict(v) for v in truth], indent=1) + "\n")
    return truth


def load_truth(clip: Path) -> list[ClipVehicle]:
    """The vehicles of a clip written by :func:`make_clip`."""
    return [ClipVehicle(**v) for v in json.loads(clip.with_suffix(".json").read_text())]
