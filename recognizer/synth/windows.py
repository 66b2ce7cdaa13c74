"""Labelled 128x64 training windows: plates in street scenes, seen through a camera."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.synth.fonts import renderer_fonts
from recognizer.synth.glyphs import GlyphSet
from recognizer.synth.plates import PlateImage, render_plate
from recognizer.synth.scenes import draw_text, render_scene
from recognizer.spec import ModelSpec, PlateFormat, RendererSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowBatch:
    """Generated windows with their labels.

    Attributes:
        images: ``(N, H, W)`` uint8 grayscale windows.
        presence: ``(N,)`` float32, 1.0 where a plate is present by the presence rule.
        chars: ``(N, P)`` int32 class per position (blank = ``len(alphabet)``); -1 where no plate is present.
        boxes: ``(N, 4)`` float32 plate box ``[x0, y0, x1, y1]`` as shares of the window's width and height
            (zeros where no plate is present).
        texts: The plate text of each window ("" where none is present).
    """

    images: np.ndarray
    presence: np.ndarray
    chars: np.ndarray
    boxes: np.ndarray
    texts: tuple[str, ...]


def plate_present(box: np.ndarray, window_w: int, window_h: int, spec: RendererSpec) -> bool:
    """The presence rule: is the plate with this bounding box "present" in the window?

    A plate is present only when it lies wholly inside the window, its width is under ``max_width_fill``
    of the window's and its height under ``max_height_fill``, and its width or its height is over
    ``min_fill`` of the window's.

    Args:
        box: ``(4,)`` plate box ``[x0, y0, x1, y1]`` in window pixels.
        window_w: Window width.
        window_h: Window height.
        spec: Renderer settings holding the fill limits.

    Returns:
        Whether the plate counts as present.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    inside = x0 >= 0 and y0 >= 0 and x1 <= window_w and y1 <= window_h
    small_enough = w < spec.max_width_fill * window_w and h < spec.max_height_fill * window_h
    big_enough = w > spec.min_fill * window_w or h > spec.min_fill * window_h
    return inside and small_enough and big_enough


def encode_text(text: str, model: ModelSpec) -> np.ndarray:
    """Class indices of a plate text, padded with "no character".

    Args:
        text: Plate characters, at most ``model.positions`` of them, all in the alphabet.
        model: Alphabet and positions.

    Returns:
        ``(P,)`` int32 classes.

    Raises:
        ValueError: If the text is longer than ``model.positions`` or has a character outside the alphabet.
    """
    if len(text) > model.positions:
        raise ValueError(f"plate text {text!r} has {len(text)} characters, more than model.positions={model.positions}")
    if any(c not in model.alphabet for c in text):
        raise ValueError(f"plate text {text!r} has characters outside model.alphabet {model.alphabet!r}")
    codes = np.full(model.positions, len(model.alphabet), np.int32)
    codes[: len(text)] = [model.alphabet.index(c) for c in text]
    return codes


def fitting_formats(formats: list[PlateFormat], positions: int) -> list[PlateFormat]:
    """The formats with only their patterns of at most ``positions`` characters (formats left with none dropped).

    Args:
        formats: Configured plate formats.
        positions: Characters a window's label holds.

    Returns:
        The formats a generator can draw and label.

    Raises:
        ValueError: If no pattern fits.
    """
    fitting = []
    for plate_format in formats:
        patterns = [p for p in plate_format.patterns if sum(c in "LNA" for c in p) <= positions]
        if len(patterns) < len(plate_format.patterns):
            log.info("format %s: patterns over %d characters not drawn", plate_format.name, positions)
        if patterns:
            fitting.append(plate_format.model_copy(update={"pattern": "|".join(patterns)}))
    if not fitting:
        raise ValueError(f"renderer.formats: no pattern has at most model.positions={positions} characters")
    return fitting


def plate_quad(rng: np.random.Generator, width: float, height: float, difficulty: float = 1.0) -> np.ndarray:
    """Corners of a plate seen at a random yaw, pitch and roll, at unit scale around the origin.

    Args:
        rng: Random generator.
        width: Plate width (any unit).
        height: Plate height.
        difficulty: Scales the spread of the angles (0 for a plate seen head-on).

    Returns:
        ``(4, 2)`` float32 corners: top-left, top-right, bottom-right, bottom-left.
    """
    yaw, pitch, roll = rng.normal(0, 0.25 * difficulty), rng.normal(0, 0.15 * difficulty), rng.normal(0, 0.06 * difficulty)
    corners = np.array([[-width, -height, 0], [width, -height, 0], [width, height, 0], [-width, height, 0]], np.float64) / 2
    cy, sy, cp, sp, cr, sr = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch), math.cos(roll), math.sin(roll)
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rot_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    points = corners @ (rot_z @ rot_x @ rot_y).T
    distance = width * rng.uniform(2.5, 8)
    projected = points[:, :2] * distance / (distance + points[:, 2:3])
    return projected.astype(np.float32)


class WindowGenerator:
    """Draws labelled windows: plates that are present, plates that break the rule, and clutter.

    Args:
        model: Window size, alphabet and positions.
        renderer: Plate formats, fonts and presence limits; patterns of more than ``model.positions`` characters
            are not drawn.
        seed: Seed of the scene pool (the sample stream is seeded by the caller's generator).

    Attributes:
        difficulty: From 0 to 1, how strongly the camera degrades windows (angles, contrast, blur, low
            resolution, noise, JPEG, inversion); training ramps it up to 1.
    """

    def __init__(self, model: ModelSpec, renderer: RendererSpec, seed: int = 0) -> None:
        self.model = model
        self.renderer = renderer
        self.fonts = renderer_fonts(renderer, model.alphabet)
        self.glyph_sets: list[GlyphSet] = self.fonts.general
        self.formats = fitting_formats(renderer.formats, model.positions)
        weights = np.array([f.weight for f in self.formats], np.float64)
        self.format_p = weights / weights.sum()
        rng = np.random.default_rng(seed)
        self.difficulty = 1.0
        self.scenes = [render_scene(rng, 240, 480, self.glyph_sets) for _ in range(24)]
        self._drawn = 0

    def _background(self, rng: np.random.Generator) -> np.ndarray:
        self._drawn += 1
        if self._drawn % 40 == 0:
            self.scenes[rng.integers(len(self.scenes))] = render_scene(rng, 240, 480, self.glyph_sets)
        scene = self.scenes[rng.integers(len(self.scenes))]
        wh, ww = self.model.window_shape
        scale = rng.uniform(0.5, 3.0)
        ch, cw = min(scene.shape[0], int(wh * scale)), min(scene.shape[1], int(ww * scale))
        y, x = rng.integers(0, scene.shape[0] - ch + 1), rng.integers(0, scene.shape[1] - cw + 1)
        crop = cv2.resize(scene[y : y + ch, x : x + cw], (ww, wh), interpolation=cv2.INTER_AREA)
        return np.fliplr(crop).astype(np.float32) if rng.random() < 0.5 else crop.astype(np.float32)

    def plate(self, rng: np.random.Generator) -> PlateImage:
        """One random plate drawn in a configured format."""
        plate_format = self.formats[rng.choice(len(self.formats), p=self.format_p)]
        return render_plate(rng, plate_format, self.fonts)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, bool, str, np.ndarray]:
        """One window.

        Returns:
            ``(H, W)`` uint8 window, whether a plate is present, its text ("" when not present) and its
            ``(4,)`` box ``[x0, y0, x1, y1]`` in window pixels (zeros when no plate was drawn).
        """
        wh, ww = self.model.window_shape
        canvas = self._background(rng)
        kind = "positive" if rng.random() < self.renderer.positive_fraction else str(
            rng.choice(["empty", "small", "big", "outside", "clutter"], p=[0.2, 0.25, 0.2, 0.25, 0.1]))
        present, text, box = False, "", np.zeros(4, np.float32)
        if kind == "clutter":
            draw_text(rng, canvas, self.glyph_sets, int(rng.integers(-10, ww // 2)), int(rng.integers(0, wh // 2)),
                      int(rng.integers(10, 40)), float(rng.uniform(0, 255)))
        elif kind != "empty":
            plate = self.plate(rng)
            quad = plate_quad(rng, plate.image.shape[1], plate.image.shape[0], self.difficulty)
            span = quad.max(axis=0) - quad.min(axis=0)
            fill = self.renderer
            if kind == "positive":
                target = rng.uniform(fill.min_fill + 0.01, fill.max_width_fill - 0.01) * ww
            elif kind == "small":
                target = rng.uniform(0.15, fill.min_fill - 0.02) * ww
            elif kind == "big":
                target = rng.uniform(fill.max_width_fill + 0.03, 1.8) * ww
            else:
                target = rng.uniform(fill.min_fill, fill.max_width_fill) * ww
            scale = target / span[0]
            if span[1] * scale >= fill.max_height_fill * wh and kind == "positive":
                scale = rng.uniform(fill.min_fill, fill.max_height_fill - 0.02) * wh / span[1]
            quad = (quad - quad.min(axis=0)) * scale
            bw, bh = quad.max(axis=0)
            if kind == "outside":
                side = rng.integers(4)
                overshoot = rng.uniform(0.1, 0.6)
                x = [-overshoot * bw, ww - (1 - overshoot) * bw, rng.uniform(0, max(1, ww - bw)), rng.uniform(0, max(1, ww - bw))][side]
                y = [rng.uniform(0, max(1, wh - bh)), rng.uniform(0, max(1, wh - bh)), -overshoot * bh, wh - (1 - overshoot) * bh][side]
            else:
                x = rng.uniform(min(0, ww - bw), max(0, ww - bw))
                y = rng.uniform(min(0, wh - bh), max(0, wh - bh))
            quad += np.array([x, y], np.float32)
            self._paste(rng, canvas, plate, quad)
            box = np.concatenate([quad.min(axis=0), quad.max(axis=0)])
            present = plate_present(box, ww, wh, self.renderer)
            text = plate.text if present else ""
        return self._camera(rng, canvas), present, text, box

    def _paste(self, rng: np.random.Generator, canvas: np.ndarray, plate: PlateImage, quad: np.ndarray) -> None:
        """Draws a bumper around the plate and warps the plate onto ``canvas`` at ``quad``."""
        wh, ww = canvas.shape
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        if rng.random() < 0.7:
            mx, my = (x1 - x0) * rng.uniform(0.1, 1.5), (y1 - y0) * rng.uniform(0.2, 2.5)
            body = float(rng.uniform(0, 255))
            cv2.rectangle(canvas, (int(x0 - mx), int(y0 - my)), (int(x1 + mx), int(y1 + my)), body, -1)
            if rng.random() < 0.5:
                step = int(rng.integers(3, 8))
                for yy in range(int(y0 - my), int(y0) - 2, step):
                    cv2.line(canvas, (int(x0 - mx / 2), yy), (int(x1 + mx / 2), yy), 255 - body, 1)
        ph, pw = plate.image.shape
        target_w = max(4.0, float(np.linalg.norm(quad[1] - quad[0])))
        shrink = min(1.0, 1.5 * target_w / pw)
        image, alpha = plate.image, plate.alpha
        if shrink < 1.0:
            size = (max(4, int(pw * shrink)), max(2, int(ph * shrink)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        h, w = image.shape
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        matrix = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
        warped = cv2.warpPerspective(image.astype(np.float32), matrix, (ww, wh), flags=cv2.INTER_LINEAR)
        a = cv2.warpPerspective(alpha, matrix, (ww, wh), flags=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        canvas[:] = canvas * (1 - a) + warped * a

    def _camera(self, rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
        """Light, shadow, blur, low resolution, noise and JPEG: ``(H, W)`` float32 to uint8."""
        wh, ww = canvas.shape
        d = self.difficulty
        gx = np.linspace(-1, 1, ww, dtype=np.float32)[None, :] * rng.normal(0, 0.25 * d)
        gy = np.linspace(-1, 1, wh, dtype=np.float32)[:, None] * rng.normal(0, 0.25 * d)
        canvas = canvas * (1 + gx + gy)
        if rng.random() < 0.3 * d:
            shade = np.zeros((wh, ww), np.float32)
            pts = np.array([[rng.integers(-ww, 2 * ww), rng.integers(-wh, 2 * wh)] for _ in range(4)], np.int32)
            cv2.fillConvexPoly(shade, cv2.convexHull(pts), 1.0)
            canvas *= 1 - rng.uniform(0.2, 0.7) * cv2.GaussianBlur(shade, (0, 0), rng.uniform(0.5, 4))
        contrast, brightness = rng.uniform(1 - 0.65 * d, 1 + 0.3 * d), rng.uniform(-60 * d, 60 * d)
        canvas = (canvas - 128) * contrast + 128 + brightness
        if rng.random() < 0.25 * d:  # light characters on a dark plate, infrared and negative images
            canvas = 255 - canvas
        blur = rng.random() / max(d, 1e-3)
        if blur < 0.35:
            canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.3, 1.6))
        elif blur < 0.55:
            length = int(rng.integers(3, 9))
            kernel = np.zeros((length, length), np.float32)
            kernel[length // 2] = 1.0 / length
            rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1)
            kernel = cv2.warpAffine(kernel, rotation, (length, length))
            canvas = cv2.filter2D(canvas, -1, kernel / max(kernel.sum(), 1e-6))
        if rng.random() < 0.35 * d:
            factor = rng.uniform(1.3, 3.0)
            small = cv2.resize(canvas, (int(ww / factor), int(wh / factor)), interpolation=cv2.INTER_AREA)
            canvas = cv2.resize(small, (ww, wh), interpolation=cv2.INTER_LINEAR)
        canvas = canvas + rng.normal(0, rng.uniform(0, 12 * d), canvas.shape).astype(np.float32)
        image = np.clip(canvas, 0, 255).astype(np.uint8)
        if rng.random() < 0.5 * d:
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 90))])
            image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
        return image

    def batch(self, rng: np.random.Generator, size: int) -> WindowBatch:
        """``size`` windows with their labels."""
        images = np.empty((size, *self.model.window_shape), np.uint8)
        presence = np.zeros(size, np.float32)
        chars = np.full((size, self.model.positions), -1, np.int32)
        boxes = np.zeros((size, 4), np.float32)
        scale = np.array([self.model.window_width, self.model.window_height] * 2, np.float32)
        texts = []
        for i in range(size):
            images[i], present, text, box = self.sample(rng)
            if present:
                presence[i] = 1.0
                chars[i] = encode_text(text, self.model)
                boxes[i] = box / scale
            texts.append(text)
        return WindowBatch(images=images, presence=presence, chars=chars, boxes=boxes, texts=tuple(texts))
