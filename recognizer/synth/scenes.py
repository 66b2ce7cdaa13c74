"""Procedural street scenes: the backgrounds that plates are placed on, and the clutter a detector must reject."""

from __future__ import annotations

import string

import cv2
import numpy as np

from recognizer.synth.glyphs import GlyphSet


def _random_word(rng: np.random.Generator) -> str:
    letters = string.ascii_letters + string.digits + "  .-/"
    return "".join(rng.choice(list(letters), size=int(rng.integers(2, 12)))).strip() or "STOP"


def draw_text(rng: np.random.Generator, canvas: np.ndarray, glyph_sets: list[GlyphSet], x: int, y: int,
              height: int, value: float, text: str | None = None) -> None:
    """Draws a line of text (signs, stickers, lettering) that is not a plate.

    Args:
        rng: Random generator.
        canvas: ``(H, W)`` float32 image drawn on in place.
        glyph_sets: Fonts to choose from.
        x: Left of the text.
        y: Top of the text.
        height: Character height in pixels.
        value: Gray level of the ink.
        text: The text; a random word when omitted.
    """
    glyphs = glyph_sets[rng.integers(len(glyph_sets))]
    text = text or _random_word(rng)
    pieces = []
    for char in text:
        mask = glyphs.masks.get(char.upper())
        if mask is None:
            pieces.append(np.zeros((height, max(1, height // 3)), np.uint8))
            continue
        scale = height / mask.shape[0] * (0.7 if char.islower() else 1.0)
        glyph = cv2.resize(mask, (max(1, int(mask.shape[1] * scale)), max(1, int(mask.shape[0] * scale))))
        pad = np.zeros((height, glyph.shape[1]), np.uint8)
        pad[height - glyph.shape[0] :] = glyph
        pieces.append(pad)
        pieces.append(np.zeros((height, max(1, height // 8)), np.uint8))
    strip = np.concatenate(pieces, axis=1).astype(np.float32) / 255.0
    h, w = strip.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        a = strip[y0 - y : y1 - y, x0 - x : x1 - x]
        canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + value * a


def render_scene(rng: np.random.Generator, height: int, width: int, glyph_sets: list[GlyphSet]) -> np.ndarray:
    """A street-like grayscale image: road, car bodies, grilles, lights, wheels, signs, poles and texture.

    Args:
        rng: Random generator.
        height: Image height.
        width: Image width.
        glyph_sets: Fonts for sign lettering.

    Returns:
        ``(height, width)`` uint8 image.
    """
    canvas = np.empty((height, width), np.float32)
    top, bottom = rng.uniform(40, 220), rng.uniform(40, 220)
    canvas[:] = np.linspace(top, bottom, height, dtype=np.float32)[:, None]
    for _ in range(int(rng.integers(3, 10))):
        kind = rng.integers(0, 8)
        x, y = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        w, h = int(rng.integers(width // 10, width)), int(rng.integers(height // 10, height))
        value = float(rng.uniform(0, 255))
        if kind == 0:  # car body or building: a rounded block with a highlight
            cv2.rectangle(canvas, (x, y), (x + w, y + h), value, -1)
            cv2.rectangle(canvas, (x, y), (x + w, y + h // 5), value + rng.uniform(-60, 60), -1)
        elif kind == 1:  # grille: parallel bars
            step = int(rng.integers(3, 12))
            for yy in range(y, y + h // 2, step):
                cv2.line(canvas, (x, yy), (x + w, yy), value, max(1, step // 3))
        elif kind == 2:  # wheel or light
            radius = int(rng.integers(5, max(6, min(width, height) // 4)))
            cv2.circle(canvas, (x, y), radius, value, -1)
            cv2.circle(canvas, (x, y), radius // 2, 255 - value, -1)
        elif kind == 3:  # road marking or pole
            cv2.line(canvas, (x, y), (int(rng.integers(0, width)), int(rng.integers(0, height))), value,
                     int(rng.integers(1, 12)))
        elif kind == 4:  # sign with lettering
            cv2.rectangle(canvas, (x, y), (x + w // 2, y + h // 3), value, -1)
            draw_text(rng, canvas, glyph_sets, x + 4, y + 4, int(rng.integers(8, 40)), 255 - value)
        elif kind == 5:  # loose lettering: stickers, shop fronts, car badges
            draw_text(rng, canvas, glyph_sets, x, y, int(rng.integers(6, 48)), value)
        elif kind == 6:  # window glass: a dark gradient quad
            pts = np.array([[x, y], [x + w, y + int(rng.integers(-20, 20))], [x + w, y + h // 3], [x, y + h // 3]], np.int32)
            cv2.fillConvexPoly(canvas, pts, value * 0.4)
        else:  # shadow
            pts = rng.integers(0, max(width, height), size=(4, 2)).astype(np.int32)
            shade = np.zeros_like(canvas)
            cv2.fillConvexPoly(shade, cv2.convexHull(pts), 1.0)
            canvas *= 1 - 0.5 * cv2.GaussianBlur(shade, (0, 0), 5)
    scale = int(rng.integers(2, 16))
    texture = rng.normal(0, 1, (height // scale + 1, width // scale + 1)).astype(np.float32)
    canvas += cv2.resize(texture, (width, height)) * rng.uniform(2, 20)
    if rng.random() < 0.5:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 2))
    return np.clip(canvas, 0, 255).astype(np.uint8)
