"""Flat, front-on images of number plates in several national styles."""

from __future__ import annotations

import string
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.synth.glyphs import GLYPH_HEIGHT, GlyphSet
from recognizer.spec import PlateFormat

PLATE_HEIGHT = 110
"""Height in pixels of a rendered plate before it is placed in a scene."""

# Plate width over height, and the share of the height the main characters take, per style.
_ASPECT = {"uk_front": 4.7, "uk_rear": 4.7, "eu": 4.7, "br_old": 3.08, "br_red": 3.08, "mercosur": 3.08, "us": 2.0}
# Width stretch of the main characters: Brazilian and Mercosur plates use tall, condensed typefaces.
_STRETCH = {"br_old": (0.5, 0.9), "br_red": (0.5, 0.9), "mercosur": (0.55, 0.95)}
_DEFAULT_STRETCH = (0.6, 1.2)
# Gap between characters, as a share of their height: old Brazilian plates space their narrow characters widely.
_SPACING = {"br_old": (0.05, 0.22), "br_red": (0.05, 0.22)}
_DEFAULT_SPACING = (0.03, 0.12)
_PLATE_TYPEFACE = {"eu": 0.5, "br_old": 0.6, "br_red": 0.6, "mercosur": 0.6, "us": 0.3}
"""Share of plates of a style drawn in the project's own plate typeface (:mod:`recognizer.synth.stroke_font`), where given."""
_BAR_ONE = {"br_old": 0.85, "br_red": 0.85}
"""Share of plates of a style whose ``1`` and ``I`` are one plain bar, as in the old Brazilian typeface."""
_EMBLEM = {"us": 0.5}
"""Share of plates of a style with a mark between two characters (a state's outline or badge, a heart, a dot)."""
_TONED_EMBLEM = 0.5
"""Share of the small emblems drawn in part ink (a coloured mark in gray) rather than full ink."""
_BADGE = 0.3
"""Share of emblems that are a framed badge taller than wide (Florida's orange) rather than a small shape."""
_INVERTED = 0.25
"""Share of plates drawn light on dark (embossed metal plates, plates under infrared light)."""
_TEXT_HEIGHT = {"uk_front": 0.70, "uk_rear": 0.70, "eu": 0.72, "br_old": 0.55, "br_red": 0.55, "mercosur": 0.55, "us": 0.50}
_WORDS = ["SAO PAULO", "RIO DE JANEIRO", "CURITIBA", "BRASIL", "REPUBLICA ARGENTINA", "CALIFORNIA", "TEXAS",
          "NEW YORK", "FLORIDA", "OHIO", "ILLINOIS", "ARIZONA", "GARDEN STATE", "EMPIRE STATE", "SUNSHINE STATE",
          "LAND OF LINCOLN", "DEALER", "MG", "PR", "RJ", "SC", "BH", "ford", "Toyota", "www.dealer.com"]


@dataclass(frozen=True)
class PlateImage:
    """A rendered plate.

    Attributes:
        image: ``(h, w)`` uint8 grayscale plate.
        alpha: ``(h, w)`` uint8, 255 inside the plate's outline (rounded corners are 0).
        text: The characters a reader should return, separators removed.
    """

    image: np.ndarray
    alpha: np.ndarray
    text: str


def random_text(rng: np.random.Generator, pattern: str) -> str:
    """Characters for a plate pattern.

    Args:
        rng: Random generator.
        pattern: ``L`` letter, ``N`` digit, ``A`` either; other characters are kept as they are.

    Returns:
        The text with its separators.
    """
    out = []
    for symbol in pattern:
        if symbol == "L":
            out.append(rng.choice(list(string.ascii_uppercase)))
        elif symbol == "N":
            out.append(rng.choice(list(string.digits)))
        elif symbol == "A":
            out.append(rng.choice(list(string.ascii_uppercase + string.digits)))
        else:
            out.append(symbol)
    return "".join(out)


def stem_width(glyphs: GlyphSet) -> float:
    """Width of a font's vertical strokes, in glyph pixels: the median ink run across the middle rows of its ``I``."""
    mask = glyphs.masks["I"] > 127
    middle = mask[mask.shape[0] // 4 : 3 * mask.shape[0] // 4]
    return float(np.median(middle.sum(axis=1)))


def emblem_mask(rng: np.random.Generator, height: int) -> np.ndarray:
    """A mark standing between two characters of a plate.

    ``_BADGE`` of them are a framed badge taller than wide with a small picture inside (:func:`_badge`). The others
    are a small filled shape: a disc, a diamond, a short bar, a square or a rough outline (a state's shape), half
    of them in full ink and half toned, as a coloured mark looks in gray: part ink, often with a darker rim or a
    lighter core.

    Args:
        rng: Random generator.
        height: Height of the text line.

    Returns:
        ``(height, w)`` uint8 mask of ink amounts (255 full ink), the shape vertically centred.
    """
    if rng.random() < _BADGE:
        return _centred(_badge(rng, height), height)
    size = max(4, round(height * rng.uniform(0.3, 0.75)))
    w = max(4, round(size * rng.uniform(0.6, 1.3)))
    shape = np.zeros((size, w), np.uint8)
    kind = int(rng.integers(5))
    if kind == 0:
        cv2.ellipse(shape, (w // 2, size // 2), (w // 2, size // 2), 0, 0, 360, 255, -1)
    elif kind == 1:
        cv2.fillPoly(shape, [np.array([[w // 2, 0], [w - 1, size // 2], [w // 2, size - 1], [0, size // 2]])], 255)
    elif kind == 2:
        shape[:, w // 2 - max(1, w // 6) : w // 2 + max(1, w // 6)] = 255
    elif kind == 3:
        shape[:] = 255
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = rng.uniform(0.6, 1.0, 9)
        points = np.column_stack([w / 2 * (1 + radii * np.cos(angles)), size / 2 * (1 + radii * np.sin(angles))])
        cv2.fillPoly(shape, [np.clip(points, 0, [w - 1, size - 1]).astype(np.int32)], 255)
    if rng.random() < _TONED_EMBLEM:
        tone = rng.uniform(0.25, 0.75)
        core = cv2.erode(shape, np.ones((3, 3), np.uint8), iterations=max(1, round(size * rng.uniform(0.08, 0.2))))
        toned = np.where(shape > 0, tone, 0.0)
        finish = int(rng.integers(3))
        if finish == 1:  # a darker rim
            toned[(shape > 0) & (core == 0)] = min(1.0, tone + rng.uniform(0.25, 0.6))
        elif finish == 2:  # a lighter core
            toned[core > 0] = tone * rng.uniform(0.0, 0.5)
        shape = np.round(toned * 255).astype(np.uint8)
    return _centred(shape, height)


def _badge(rng: np.random.Generator, height: int) -> np.ndarray:
    """A framed badge taller than wide with a small picture inside, as Florida's orange between the two groups of
    characters looks in gray: a ground of 10-50% ink, one to three blobs and a rim of 50-100% ink.

    Args:
        rng: Random generator.
        height: Height of the text line.

    Returns:
        ``(h, w)`` uint8 ink amounts, ``h`` 0.55-0.9 of ``height`` and ``w`` 0.35-0.7 of ``h``.
    """
    size = max(6, round(height * rng.uniform(0.55, 0.9)))
    w = max(4, round(size * rng.uniform(0.35, 0.7)))
    badge = np.full((size, w), rng.uniform(0.1, 0.5) * 255, np.float32)
    for _ in range(int(rng.integers(1, 4))):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, size)))
        axes = (max(1, int(w * rng.uniform(0.1, 0.4))), max(1, int(size * rng.uniform(0.1, 0.3))))
        cv2.ellipse(badge, centre, axes, 0, 0, 360, float(rng.uniform(0.2, 0.9) * 255), -1)
    rim = max(1, round(w * rng.uniform(0.08, 0.2)))
    cv2.rectangle(badge, (0, 0), (w - 1, size - 1), float(rng.uniform(0.5, 1.0) * 255), rim)
    return np.round(badge).astype(np.uint8)


def _centred(shape: np.ndarray, height: int) -> np.ndarray:
    """``(height, w)`` mask with the ``(h, w)`` shape vertically centred in it."""
    mask = np.zeros((height, shape.shape[1]), np.uint8)
    top = (height - shape.shape[0]) // 2
    mask[top : top + shape.shape[0]] = shape
    return mask


def _text_strip(glyphs: GlyphSet, text: str, height: int, spacing: float, stretch: float,
                max_width: int, round_dash: bool = False, bar_one: bool = False,
                emblem: np.ndarray | None = None) -> np.ndarray:
    """Ink mask of a line of text, ``(height, w)`` with ``w <= max_width``.

    With ``bar_one``, ``1`` and ``I`` are both a plain bar of the font's stem width (not condensed by ``stretch``),
    centred in a cell as wide as the font's ``0``, as on old Brazilian plates. A ``*`` in the text is drawn as
    ``emblem`` (``(height, w)``, from :func:`emblem_mask`), or left out without one.
    """
    pieces = []
    gap = max(1, round(spacing * height))
    bar = None
    if bar_one:
        stem = max(2, round(stem_width(glyphs) * height / GLYPH_HEIGHT))
        zero = glyphs.masks.get("0")
        cell = stem if zero is None else max(stem, round(zero.shape[1] * height / zero.shape[0] * stretch))
        bar = np.zeros((height, cell), np.uint8)
        bar[:, (cell - stem) // 2 : (cell - stem) // 2 + stem] = 255
    for char in text:
        if char == " ":
            pieces.append(np.zeros((height, max(2, round(0.35 * height))), np.uint8))
            continue
        if char == "*":
            if emblem is not None:
                pieces += [emblem, np.zeros((height, gap), np.uint8)]
            continue
        mask = glyphs.masks.get(char)
        if mask is None:
            continue
        if bar is not None and char in "1I":
            pieces.append(bar)
        elif char == "-":
            w = max(2, round(0.3 * height))
            t = max(2, round((0.2 if round_dash else 0.1) * height))
            dash = np.zeros((height, w), np.uint8)
            if round_dash:
                dash[height // 2 - t // 2 : height // 2 - t // 2 + t, w // 2 - t // 2 : w // 2 - t // 2 + t] = 255
            else:
                dash[height // 2 - t // 2 : height // 2 - t // 2 + t] = 255
            pieces.append(dash)
        else:
            w = max(2, round(mask.shape[1] * height / mask.shape[0] * stretch))
            pieces.append(cv2.resize(mask, (w, height), interpolation=cv2.INTER_AREA))
        pieces.append(np.zeros((height, gap), np.uint8))
    strip = np.concatenate(pieces[:-1] or [np.zeros((height, 2), np.uint8)], axis=1)
    if strip.shape[1] > max_width:
        strip = cv2.resize(strip, (max_width, height), interpolation=cv2.INTER_AREA)
    return strip


def _stamp(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, value: float) -> None:
    """Blends ink of gray level ``value`` into ``canvas`` (float32) at ``(x, y)``, clipping at the edges."""
    h, w = mask.shape
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) / 255.0
    region = canvas[y0:y1, x0:x1]
    region[:] = region * (1 - a) + value * a


def _colours(rng: np.random.Generator, style: str) -> tuple[float, float]:
    """Background and ink gray levels of a style."""
    if style == "uk_rear":
        return rng.uniform(170, 225), rng.uniform(5, 50)
    if style == "br_old":
        return rng.uniform(135, 215), rng.uniform(5, 60)
    if style == "br_red":
        return rng.uniform(60, 120), rng.uniform(190, 250)
    if style == "us":
        if rng.random() < 0.15:
            return rng.uniform(20, 90), rng.uniform(170, 250)
        return rng.uniform(150, 250), rng.uniform(5, 120)
    return rng.uniform(190, 250), rng.uniform(5, 50)


def render_plate(rng: np.random.Generator, plate_format: PlateFormat, glyph_sets: list[GlyphSet],
                 uk_glyphs: GlyphSet | None = None, plate_glyphs: list[GlyphSet] | None = None) -> PlateImage:
    """Draws one plate of a format with random text, font, colours, border, screws and dirt.

    Args:
        rng: Random generator.
        plate_format: Format to draw.
        glyph_sets: Fonts to choose from.
        uk_glyphs: Font for UK styles, if available.
        plate_glyphs: The project's plate typeface, drawn on ``_PLATE_TYPEFACE`` of each style's plates, if given.

    Returns:
        The plate image, its outline and its text.
    """
    style = plate_format.style
    pattern = plate_format.patterns[rng.integers(len(plate_format.patterns))]
    text = random_text(rng, pattern)
    if style in _EMBLEM and rng.random() < _EMBLEM[style]:
        k = int(rng.integers(2, len(text) - 1))
        text = text[:k] + "*" + text[k:]
    glyphs = uk_glyphs if style.startswith("uk") and uk_glyphs is not None else glyph_sets[rng.integers(len(glyph_sets))]
    if plate_glyphs and rng.random() < _PLATE_TYPEFACE.get(style, 0.0):
        glyphs = plate_glyphs[rng.integers(len(plate_glyphs))]
    h = PLATE_HEIGHT
    w = int(round(h * _ASPECT[style] * rng.uniform(0.93, 1.07)))
    background, ink = _colours(rng, style)
    if rng.random() < _INVERTED:
        background, ink = 255 - background, 255 - ink
    canvas = np.full((h, w), background, np.float32)

    # Vertical gradient of the plate's finish.
    canvas += np.linspace(rng.uniform(-20, 20), rng.uniform(-20, 20), h, dtype=np.float32)[:, None]

    left, top, right, bottom = 0.04 * w, 0.0, 0.96 * w, float(h)
    band_value = rng.uniform(30, 90)
    if style == "eu" or (style.startswith("uk") and rng.random() < 0.4):
        band_w = int(0.085 * w)
        canvas[:, :band_w] = band_value
        code = "".join(rng.choice(list("ABCDEFGHIKLMNPRSUK"), size=rng.integers(1, 3)))
        small = _text_strip(glyph_sets[0], code, int(0.22 * h), 0.08, 1.0, band_w - 4)
        _stamp(canvas, small, (band_w - small.shape[1]) // 2, int(0.68 * h), rng.uniform(200, 250))
        left = band_w + 0.02 * w
    if style == "mercosur":
        band_h = int(0.22 * h)
        canvas[:band_h] = band_value
        word = str(rng.choice(["BRASIL", "REPUBLICA ARGENTINA", "MERCOSUR"]))
        small = _text_strip(glyph_sets[0], word, int(0.6 * band_h), 0.1, 1.0, int(0.6 * w))
        _stamp(canvas, small, (w - small.shape[1]) // 2, int(0.2 * band_h), rng.uniform(200, 250))
        top = band_h + 0.04 * h
    if style in {"br_old", "br_red", "us"}:
        small_h = int((0.16 if style != "us" else 0.14) * h)
        word = str(rng.choice(_WORDS))
        if style != "us":
            word = f"{rng.choice(['SP', 'RJ', 'PR', 'MG', 'SC', 'RS'])} - {word}"
        small = _text_strip(glyphs, word.upper(), small_h, 0.1, 1.0, int(0.8 * w))
        _stamp(canvas, small, (w - small.shape[1]) // 2, int(0.06 * h), ink)
        top = 0.06 * h + small_h + 0.04 * h
        if style == "us" and rng.random() < 0.7:
            word = str(rng.choice(_WORDS))
            small = _text_strip(glyphs, word.upper(), int(0.1 * h), 0.1, 1.0, int(0.7 * w))
            _stamp(canvas, small, (w - small.shape[1]) // 2, int(0.86 * h), ink)
            bottom = 0.84 * h

    # Main characters, vertically centred in the free area.
    char_h = int(min(_TEXT_HEIGHT[style] * h * rng.uniform(0.9, 1.05), bottom - top - 4))
    spacing = rng.uniform(*_SPACING.get(style, _DEFAULT_SPACING))
    mask = _text_strip(glyphs, text, char_h, spacing, rng.uniform(*_STRETCH.get(style, _DEFAULT_STRETCH)), int(right - left),
                       round_dash=bool(rng.random() < 0.5),
                       bar_one=bool(rng.random() < _BAR_ONE.get(style, 0.0)),
                       emblem=emblem_mask(rng, char_h) if "*" in text else None)
    if rng.random() < 0.3:
        size = int(rng.integers(2, 5))
        kernel = np.ones((size, size), np.uint8)
        mask = cv2.dilate(mask, kernel) if rng.random() < 0.6 else cv2.erode(mask, kernel)
    x = int(left + (right - left - mask.shape[1]) / 2 + rng.uniform(-0.02, 0.02) * w)
    y = int(top + (bottom - top - char_h) / 2 + rng.uniform(-0.03, 0.03) * h)
    _stamp(canvas, mask, x, y, ink)

    # Border, screws and dirt.
    if rng.random() < 0.6:
        t = int(rng.integers(2, 6))
        inset = int(rng.integers(1, 6))
        cv2.rectangle(canvas, (inset, inset), (w - inset - 1, h - inset - 1), float(ink), t)
    if rng.random() < 0.5:
        for sx in (0.12, 0.88) if rng.random() < 0.5 else (0.2, 0.8):
            sy = 0.12 if style == "us" else 0.5
            cv2.circle(canvas, (int(sx * w), int(sy * h)), int(0.04 * h), float(rng.uniform(60, 220)), -1)
    for _ in range(int(rng.integers(0, 6))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.ellipse(canvas, (cx, cy), (int(rng.integers(3, 25)), int(rng.integers(2, 12))), float(rng.uniform(0, 180)),
                    0, 360, float(rng.uniform(40, 200)), -1)
    if rng.random() < 0.5:
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h // 4 + 1, w // 4 + 1)).astype(np.float32), (0, 0), 2)
        canvas += cv2.resize(noise, (w, h)) * rng.uniform(5, 25)

    alpha = np.full((h, w), 255, np.uint8)
    radius = int(rng.uniform(0, 0.12) * h)
    if radius > 1:
        for cx, cy in ((radius, radius), (w - radius - 1, radius), (radius, h - radius - 1), (w - radius - 1, h - radius - 1)):
            corner = np.zeros_like(alpha)
            cv2.circle(corner, (cx, cy), radius, 255, -1)
            xs = slice(0, radius) if cx == radius else slice(w - radius, w)
            ys = slice(0, radius) if cy == radius else slice(h - radius, h)
            alpha[ys, xs] = corner[ys, xs]
    plain = "".join(c for c in text if c.isalnum())
    return PlateImage(image=np.clip(canvas, 0, 255).astype(np.uint8), alpha=alpha, text=plain)
