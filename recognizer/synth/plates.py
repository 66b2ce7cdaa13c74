"""Flat, front-on images of number plates, drawn from the declarative designs of :mod:`recognizer.synth.designs`.

A plate is drawn in layers: background and finish, marks along its edges (stripes, a dealer frame), its bands (the
EU band, flags, Italy's and France's right bands, Mercosur's top band), small text above and below, the character
rows with the marks that stand among the characters (seals, stickers, coats of arms, emblems, hyphens, dots), then
screws, dirt and rounded corners. Only the characters are in the label.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.synth.designs import DESIGNS, FILL_MAX_GAP, TONES, Band, Mark, PlateDesign
from recognizer.synth.fonts import FontBook
from recognizer.synth.glyphs import GLYPH_HEIGHT, GlyphSet
from recognizer.spec import PlateFormat, symbol_pools

PLATE_HEIGHT = 110
"""Height in pixels of a rendered plate before it is placed in a scene."""

_TONED_EMBLEM = 0.5
"""Share of the small emblems drawn in part ink (a coloured mark in gray) rather than full ink."""
_BADGE = 0.3
"""Share of emblems that are a framed badge taller than wide (Florida's orange) rather than a small shape."""
_GAP_MARKS = ("seals", "sticker", "shield", "stacked_text", "dot")
"""Marks that stand in the first gap between two groups of characters (or between two characters)."""
DIRT_OPACITY = (0.1, 0.45)
"""Range of a smudge of dirt's opacity: dirt dims what it lies on and never hides a character (an opaque thing on a
plate is a mark, drawn in its place)."""


def smudge(rng: np.random.Generator, canvas: np.ndarray) -> None:
    """Lays one smudge of dirt on a plate: a soft-edged ellipse of a random gray, blended in at
    :data:`DIRT_OPACITY`.

    Args:
        rng: Random generator.
        canvas: ``(h, w)`` float32 plate, changed in place.
    """
    h, w = canvas.shape
    shape = np.zeros((h, w), np.float32)
    cv2.ellipse(shape, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                (int(rng.integers(3, 25)), int(rng.integers(2, 12))), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    shape = cv2.GaussianBlur(shape, (0, 0), float(rng.uniform(0.5, 3.0)))
    canvas += rng.uniform(*DIRT_OPACITY) * shape * (float(rng.uniform(40, 200)) - canvas)


@dataclass(frozen=True)
class PlateImage:
    """A rendered plate.

    Attributes:
        image: ``(h, w)`` uint8 grayscale plate.
        alpha: ``(h, w)`` uint8, 255 inside the plate's outline (rounded corners are 0).
        text: The characters a reader should return, separators and marks left out.
    """

    image: np.ndarray
    alpha: np.ndarray
    text: str


def random_text(rng: np.random.Generator, pattern: str, letters: str = string.ascii_uppercase) -> str:
    """Characters for a plate pattern.

    Args:
        rng: Random generator.
        pattern: ``L`` letter, ``N`` digit, ``A`` either; other characters are kept as they are.
        letters: The letters ``L`` and ``A`` draw from (a format's :attr:`recognizer.spec.PlateFormat.letters`).

    Returns:
        The text with its separators.
    """
    pools = symbol_pools(letters)
    return "".join(pools[s][rng.integers(len(pools[s]))] if s in pools else s for s in pattern)


def stem_width(glyphs: GlyphSet) -> float:
    """Width of a font's vertical strokes, in glyph pixels: the median ink run across the middle rows of its ``I``."""
    mask = glyphs.masks["I"] > 127
    middle = mask[mask.shape[0] // 4 : 3 * mask.shape[0] // 4]
    return float(np.median(middle.sum(axis=1)))


def _tone(rng: np.random.Generator, name: str) -> float:
    """A gray level of the named colour (:data:`recognizer.synth.designs.TONES`)."""
    low, high = TONES[name]
    return float(rng.uniform(low, high))


def _centred(shape: np.ndarray, height: int) -> np.ndarray:
    """``(height, w)`` mask with the ``(h, w)`` shape vertically centred in it (cut to ``height`` rows)."""
    shape = shape[:height]
    mask = np.zeros((height, shape.shape[1]), np.uint8)
    top = (height - shape.shape[0]) // 2
    mask[top : top + shape.shape[0]] = shape
    return mask


def _toned(rng: np.random.Generator, shape: np.ndarray, low: float = 0.25, high: float = 0.75) -> np.ndarray:
    """A full-ink shape drawn in part ink, as a coloured mark looks in gray: often with a darker rim or lighter core."""
    size = min(shape.shape)
    tone = rng.uniform(low, high)
    core = cv2.erode(shape, np.ones((3, 3), np.uint8), iterations=max(1, round(size * rng.uniform(0.08, 0.2))))
    toned = np.where(shape > 0, tone, 0.0)
    finish = int(rng.integers(3))
    if finish == 1:  # a darker rim
        toned[(shape > 0) & (core == 0)] = min(1.0, tone + rng.uniform(0.25, 0.6))
    elif finish == 2:  # a lighter core
        toned[core > 0] = tone * rng.uniform(0.0, 0.5)
    return np.round(toned * 255).astype(np.uint8)


def emblem_mask(rng: np.random.Generator, height: int) -> np.ndarray:
    """A mark standing between two characters of a plate: a state's shape or a badge (US plates).

    ``_BADGE`` of them are a framed badge taller than wide with a small picture inside (:func:`_badge`). The others
    are a small filled shape: a disc, a diamond, a square or a rough outline (a state's shape), half of them in full
    ink and half toned, as a coloured mark looks in gray: part ink, often with a darker rim or a lighter core. None
    is an upright bar: blurred, an unlabelled bar between two groups is a ``1`` or an ``I``, and a reader taught to
    pass over it drops those characters.

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
    kind = int(rng.integers(4))
    if kind == 0:
        cv2.ellipse(shape, (w // 2, size // 2), (w // 2, size // 2), 0, 0, 360, 255, -1)
    elif kind == 1:
        cv2.fillPoly(shape, [np.array([[w // 2, 0], [w - 1, size // 2], [w // 2, size - 1], [0, size // 2]])], 255)
    elif kind == 2:
        shape[:] = 255
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = rng.uniform(0.6, 1.0, 9)
        points = np.column_stack([w / 2 * (1 + radii * np.cos(angles)), size / 2 * (1 + radii * np.sin(angles))])
        cv2.fillPoly(shape, [np.clip(points, 0, [w - 1, size - 1]).astype(np.int32)], 255)
    if rng.random() < _TONED_EMBLEM:
        shape = _toned(rng, shape)
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


def _disc(rng: np.random.Generator, diameter: int) -> np.ndarray:
    """A round seal or sticker: a toned disc with a darker rim, an inner ring, and ticks or a sector printed on it."""
    d = max(5, diameter)
    disc = np.zeros((d, d), np.float32)
    c = (d - 1) / 2
    cv2.circle(disc, (round(c), round(c)), d // 2, float(rng.uniform(0.2, 0.6) * 255), -1, cv2.LINE_AA)
    cv2.circle(disc, (round(c), round(c)), d // 2, float(rng.uniform(0.5, 1.0) * 255), max(1, d // 12), cv2.LINE_AA)
    detail = float(rng.uniform(0.4, 1.0) * 255)
    if rng.random() < 0.5:  # an inspection sticker: the month's sector, the year in the middle
        start = float(rng.uniform(0, 360))
        cv2.ellipse(disc, (round(c), round(c)), (d // 3, d // 3), 0, start, start + 30, detail, -1)
        cv2.rectangle(disc, (d // 3, d // 2 - max(1, d // 10)), (2 * d // 3, d // 2 + max(1, d // 10)), detail, -1)
    else:  # a seal: a ring of small marks around a coat of arms
        cv2.circle(disc, (round(c), round(c)), d // 3, detail, max(1, d // 16))
        cv2.circle(disc, (round(c), round(c)), max(1, d // 6), detail, -1)
    return np.round(disc).astype(np.uint8)


def _seals_mask(rng: np.random.Generator, height: int, glyphs: GlyphSet) -> np.ndarray:
    """Two round seals stacked between the groups, as on German plates (registration and inspection)."""
    d = max(5, round(height * rng.uniform(0.4, 0.48)))
    gap = max(1, round(height * rng.uniform(0.04, 0.12)))
    return _centred(np.concatenate([_disc(rng, d), np.zeros((gap, d), np.uint8), _disc(rng, d)]), height)


def _sticker_mask(rng: np.random.Generator, height: int, glyphs: GlyphSet) -> np.ndarray:
    """One round sticker between the groups (Poland's legalisation sticker, Czech inspection stickers)."""
    return _centred(_disc(rng, round(height * rng.uniform(0.45, 0.85))), height)


def _shield_mask(rng: np.random.Generator, height: int, glyphs: GlyphSet) -> np.ndarray:
    """A coat of arms: a toned shield with a rim and a cross or blobs inside (Slovakia, Austria)."""
    h = max(8, round(height * rng.uniform(0.5, 0.85)))
    w = max(5, round(h * rng.uniform(0.6, 0.85)))
    shield = np.zeros((h, w), np.uint8)
    points = np.array([[0, 0], [w - 1, 0], [w - 1, int(h * 0.55)], [w // 2, h - 1], [0, int(h * 0.55)]], np.int32)
    cv2.fillPoly(shield, [points], 255)
    shield = _toned(rng, shield, 0.3, 0.8)
    detail = float(rng.uniform(0.0, 1.0) * 255)
    if rng.random() < 0.5:  # a (double) cross, as Slovakia's arms
        cv2.line(shield, (w // 2, h // 6), (w // 2, 3 * h // 4), detail, max(1, w // 8))
        cv2.line(shield, (w // 4, h // 3), (3 * w // 4, h // 3), detail, max(1, h // 14))
        cv2.line(shield, (w // 5, h // 2), (4 * w // 5, h // 2), detail, max(1, h // 14))
    else:  # an eagle or a figure: a few blobs
        for _ in range(int(rng.integers(1, 4))):
            cv2.ellipse(shield, (int(rng.integers(w // 4, 3 * w // 4 + 1)), int(rng.integers(h // 5, 3 * h // 5 + 1))),
                        (max(1, w // 5), max(1, h // 6)), float(rng.uniform(0, 180)), 0, 360, detail, -1)
    shield[cv2.fillPoly(np.zeros_like(shield), [points], 255) == 0] = 0
    return _centred(shield, height)


def _dot_mask(rng: np.random.Generator, height: int, glyphs: GlyphSet) -> np.ndarray:
    """A round dot between the groups."""
    d = max(2, round(height * rng.uniform(0.1, 0.2)))
    dot = np.zeros((d, d), np.uint8)
    cv2.circle(dot, (d // 2, d // 2), d // 2, 255, -1)
    return _centred(dot, height)


def _stacked_text_mask(rng: np.random.Generator, height: int, glyphs: GlyphSet) -> np.ndarray:
    """Two rows of tiny characters stacked between the groups (a district's or a sticker's small print)."""
    small = max(4, round(height * rng.uniform(0.25, 0.38)))
    rows = [text_strip(glyphs, random_text(rng, "AA"), small, 0.1, 1.0, 4 * small) for _ in range(2)]
    w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, w - r.shape[1]))) for r in rows]
    gap = np.zeros((max(1, small // 4), w), np.uint8)
    return _centred(np.concatenate([rows[0], gap, rows[1]]), height)


_LINE_MARKS: dict[str, Callable[[np.random.Generator, int, GlyphSet], np.ndarray]] = {
    "seals": _seals_mask,
    "sticker": _sticker_mask,
    "shield": _shield_mask,
    "dot": _dot_mask,
    "stacked_text": _stacked_text_mask,
    "emblem": lambda rng, height, glyphs: emblem_mask(rng, height),
}
"""Ink mask ``(height, w)`` of each mark that stands among the characters, for a line ``height`` rows tall."""


def _dash(height: int, round_dash: bool) -> np.ndarray:
    """A hyphen: a bar, or a square dot with ``round_dash``, vertically centred in ``(height, w)``."""
    w = max(2, round(0.3 * height))
    t = max(2, round((0.2 if round_dash else 0.1) * height))
    dash = np.zeros((height, w), np.uint8)
    if round_dash:
        dash[height // 2 - t // 2 : height // 2 - t // 2 + t, w // 2 - t // 2 : w // 2 - t // 2 + t] = 255
    else:
        dash[height // 2 - t // 2 : height // 2 - t // 2 + t] = 255
    return dash


def text_strip(glyphs: GlyphSet, text: str | list[str | np.ndarray], height: int, spacing: float, stretch: float,
               max_width: int, round_dash: bool = False, bar_one: bool = False, group_gap: float = 0.35,
               fill_width: int = 0) -> np.ndarray:
    """Ink mask of a line of text and marks, ``(height, w)`` with ``w <= max_width``.

    A space is a gap of ``group_gap`` times the height (never the font's space glyph, which some plate fonts draw
    marks in), ``-`` a hyphen (:func:`_dash`); an array in ``text`` is a mark (``(height, w)`` ink amounts) drawn
    as it is. With ``bar_one``, ``1`` and ``I`` are both a plain bar of the font's stem width (not condensed by
    ``stretch``), centred in a cell as wide as the font's ``0``, as on old Brazilian plates. Characters the font
    lacks are left out. A line narrower than ``fill_width`` has its gaps widened evenly towards it, each by at most
    :data:`recognizer.synth.designs.FILL_MAX_GAP` times the height, as plate makers space characters across a plate.
    """
    pieces = []
    gap = np.zeros((height, max(1, round(spacing * height))), np.uint8)
    bar = None
    if bar_one:
        stem = max(2, round(stem_width(glyphs) * height / GLYPH_HEIGHT))
        zero = glyphs.masks.get("0")
        cell = stem if zero is None else max(stem, round(zero.shape[1] * height / zero.shape[0] * stretch))
        bar = np.zeros((height, cell), np.uint8)
        bar[:, (cell - stem) // 2 : (cell - stem) // 2 + stem] = 255
    for item in text:
        if isinstance(item, np.ndarray):
            pieces += [item, gap]
        elif item == " ":
            pieces.append(np.zeros((height, max(2, round(group_gap * height))), np.uint8))
        elif item == "-":
            pieces += [_dash(height, round_dash), gap]
        elif bar is not None and item in "1I":
            pieces += [bar, gap]
        elif (mask := glyphs.masks.get(item)) is not None:
            w = max(2, round(mask.shape[1] * height / mask.shape[0] * stretch))
            pieces += [cv2.resize(mask, (w, height), interpolation=cv2.INTER_AREA), gap]
    if pieces and pieces[-1] is gap:
        pieces.pop()
    natural = sum(piece.shape[1] for piece in pieces)
    gaps = [i for i, piece in enumerate(pieces) if not piece.any()]
    if gaps and natural < fill_width:
        extra = min((fill_width - natural) / len(gaps), FILL_MAX_GAP * height)
        for i in gaps:
            pieces[i] = np.zeros((height, pieces[i].shape[1] + round(extra)), np.uint8)
    strip = np.concatenate(pieces or [np.zeros((height, 2), np.uint8)], axis=1)
    if strip.shape[1] > max_width:
        strip = cv2.resize(strip, (max(2, max_width), height), interpolation=cv2.INTER_AREA)
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


def _small_text(canvas: np.ndarray, glyphs: GlyphSet, text: str, box: tuple[float, float, float, float],
                value: float) -> None:
    """Draws small text centred in ``box`` = ``(left, top, right, bottom)``, as high as the box and at most as wide."""
    left, top, right, bottom = box
    height = max(3, int(bottom - top))
    strip = text_strip(glyphs, text.upper(), height, 0.1, 1.0, max(2, int(right - left)), group_gap=0.4)
    _stamp(canvas, strip, int((left + right - strip.shape[1]) / 2), int(top), value)


def _star_ring(canvas: np.ndarray, cx: float, cy: float, radius: float, value: float) -> None:
    """The EU's ring of 12 five-pointed stars around ``(cx, cy)``."""
    size = max(1.2, radius * 0.28)
    angles = np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, size, size * 0.45)  # points and the notches between them
    star = np.column_stack([np.sin(angles) * radii, -np.cos(angles) * radii])
    for a in np.arange(12) * np.pi / 6:
        centre = np.array([cx + radius * np.cos(a), cy + radius * np.sin(a)])
        cv2.fillPoly(canvas, [np.round((star + centre) * 4).astype(np.int32)], value, cv2.LINE_AA, shift=2)


def _contrast(rng: np.random.Generator, background: float) -> float:
    """A light or dark gray level that stands out from ``background``."""
    return _tone(rng, "light") if background < 140 else _tone(rng, "black")


def _draw_band(rng: np.random.Generator, canvas: np.ndarray, band: Band, box: tuple[int, int, int, int],
               glyphs: GlyphSet) -> None:
    """Fills one band's box ``(x0, y0, x1, y1)`` and draws its symbol and small text."""
    x0, y0, x1, y1 = box
    tone = _tone(rng, band.tone)
    canvas[y0:y1, x0:x1] = tone
    bw, bh = x1 - x0, y1 - y0
    light = _contrast(rng, tone)
    code = str(band.codes[rng.integers(len(band.codes))]) if band.codes else random_text(rng, band.code_pattern)
    if band.side == "top":  # Mercosur: the country's name across the band, a flag at the right, a logo at the left
        _small_text(canvas, glyphs, code, (x0 + 0.2 * bw, y0 + 0.2 * bh, x1 - 0.2 * bw, y1 - 0.2 * bh), light)
        fx0 = int(x1 - 0.15 * bw)
        for k, stripe in enumerate(band.flag_tones):
            cv2.rectangle(canvas, (fx0, int(y0 + 0.2 * bh + k * 0.6 * bh / len(band.flag_tones))),
                          (int(x1 - 0.04 * bw), int(y0 + 0.2 * bh + (k + 1) * 0.6 * bh / len(band.flag_tones))),
                          _tone(rng, stripe), -1)
        cv2.circle(canvas, (int(x0 + 0.08 * bw), (y0 + y1) // 2), max(2, int(0.3 * bh)), light, max(1, bh // 10))
        return
    symbol_bottom = y0 + 0.58 * bh
    cx, cy = (x0 + x1) / 2, y0 + 0.3 * bh
    if band.top == "stars":
        _star_ring(canvas, cx, cy, 0.3 * bw, _tone(rng, "yellow"))
    elif band.top in ("flag", "union"):
        fx0, fy0, fx1, fy1 = int(x0 + 0.12 * bw), int(y0 + 0.1 * bh), int(x1 - 0.12 * bw), int(y0 + 0.45 * bh)
        if band.top == "union":  # dark field, a light saltire, a cross over it
            canvas[fy0:fy1, fx0:fx1] = _tone(rng, "blue")
            width = max(1, (fy1 - fy0) // 5)
            cv2.line(canvas, (fx0, fy0), (fx1, fy1), _tone(rng, "white"), width)
            cv2.line(canvas, (fx0, fy1), (fx1, fy0), _tone(rng, "white"), width)
            cross = _tone(rng, "red")
            cv2.line(canvas, ((fx0 + fx1) // 2, fy0), ((fx0 + fx1) // 2, fy1), cross, width + 1)
            cv2.line(canvas, (fx0, (fy0 + fy1) // 2), (fx1, (fy0 + fy1) // 2), cross, width + 1)
        else:
            for k, stripe in enumerate(band.flag_tones):
                ya = fy0 + k * (fy1 - fy0) // len(band.flag_tones)
                yb = fy0 + (k + 1) * (fy1 - fy0) // len(band.flag_tones)
                canvas[ya:yb, fx0:fx1] = _tone(rng, stripe)
    elif band.top == "logo":
        shape = np.zeros((int(0.4 * bh), max(3, int(0.7 * bw))), np.uint8)
        cv2.ellipse(shape, (shape.shape[1] // 2, shape.shape[0] // 2), (shape.shape[1] // 2, shape.shape[0] // 2),
                    0, 0, 360, 255, -1)
        _stamp(canvas, _toned(rng, shape, 0.5, 1.0), int(cx - shape.shape[1] / 2), int(y0 + 0.1 * bh), light)
    elif band.top == "digits":
        _small_text(canvas, glyphs, random_text(rng, "NN"), (x0 + 0.1 * bw, y0 + 0.12 * bh, x1 - 0.1 * bw,
                                                             y0 + 0.36 * bh), light)
    _small_text(canvas, glyphs, code, (x0 + 0.08 * bw, symbol_bottom + 0.08 * bh, x1 - 0.08 * bw,
                                       symbol_bottom + 0.32 * bh), light)


def _choose_glyphs(rng: np.random.Generator, design: PlateDesign, fonts: FontBook) -> GlyphSet:
    """The font of one plate: one the design names, the stroke typeface or any font, by the design's shares."""
    preferred = fonts.named(design.fonts)
    u = rng.random()
    if preferred:
        if u < design.font_share:
            return preferred[rng.integers(len(preferred))]
        u -= design.font_share
    strokes = fonts.strokes if design.californian else fonts.plain_strokes
    if u < design.stroke_share and strokes:
        return strokes[rng.integers(len(strokes))]
    general = fonts.general
    return general[rng.integers(len(general))]


def _rows(text: str, rows: int) -> list[str]:
    """The text with its separators split into rows: for two rows, the last group goes on the second (a text of one
    group is halved)."""
    if rows == 1:
        return [text]
    cut = max(text.rfind(" "), text.rfind("-"))
    if cut <= 0:
        return [text[: len(text) // 2], text[len(text) // 2 :]]
    return [text[:cut].rstrip(" -"), text[cut + 1 :]]


def _with_line_marks(rng: np.random.Generator, text: str, drawn: list[Mark], height: int,
                     glyphs: GlyphSet) -> list[str | np.ndarray]:
    """The characters of a line with the drawn marks that stand among them put in place."""
    items: list[str | np.ndarray] = list(text)
    for mark in drawn:
        if mark.kind == "hyphen":
            items = ["-" if c == " " else c for c in items]
            continue
        if mark.kind not in _LINE_MARKS:
            continue
        shape = _LINE_MARKS[mark.kind](rng, height, glyphs)
        chars = [i for i, c in enumerate(items) if isinstance(c, str) and c.isalnum()]
        gaps = [i for i, c in enumerate(items) if isinstance(c, str) and c in " -"]
        space = np.zeros((height, max(1, height // 8)), np.uint8)
        if mark.place == "gap" and gaps:  # the mark fills the first gap (a hyphen's too), a little space around it
            items[gaps[0] : gaps[0] + 1] = [space, shape, space]
        elif mark.place == "lead":  # before the first character (a US plate's picture at its left)
            items[:0] = [shape, space, space]
        elif len(chars) >= 3:
            k = chars[int(rng.integers(1, len(chars) - 1))] if mark.place == "inline" else chars[len(chars) // 2]
            items.insert(k, shape)
    return items


def render_plate(rng: np.random.Generator, plate_format: PlateFormat, fonts: FontBook) -> PlateImage:
    """Draws one plate of a format, in its design, with random text, font, colours, marks, screws and dirt.

    Args:
        rng: Random generator.
        plate_format: Format to draw (its ``design`` names a :data:`recognizer.synth.designs.DESIGNS` entry).
        fonts: Fonts to draw in.

    Returns:
        The plate image, its outline and its text (characters only).
    """
    design = DESIGNS[plate_format.design]
    pattern = plate_format.patterns[rng.integers(len(plate_format.patterns))]
    text = random_text(rng, pattern, plate_format.letters)
    glyphs = _choose_glyphs(rng, design, fonts)
    small_glyphs = fonts.general[rng.integers(len(fonts.general))] if rng.random() < 0.5 else glyphs
    h = PLATE_HEIGHT
    w = int(round(h * design.aspect * rng.uniform(0.95, 1.05)))
    background = _tone(rng, design.backgrounds[rng.integers(len(design.backgrounds))])
    ink = _tone(rng, design.inks[rng.integers(len(design.inks))])
    if rng.random() < design.inverted:
        background, ink = 255 - background, 255 - ink
    canvas = np.full((h, w), background, np.float32)
    canvas += np.linspace(rng.uniform(-20, 20), rng.uniform(-20, 20), h, dtype=np.float32)[:, None]
    drawn = [m for m in design.marks if rng.random() < m.probability]
    kinds = {m.kind: m for m in drawn}
    left, top, right, bottom = 0.04 * w, 0.04 * h, 0.96 * w, 0.96 * h

    if "frame" in kinds:  # a dealer frame: bars above and below with text, thin sides
        bar_top, bar_bottom = int(rng.uniform(0.08, 0.14) * h), int(rng.uniform(0.1, 0.18) * h)
        side = int(rng.uniform(0.015, 0.03) * w)
        frame = _tone(rng, "black") if rng.random() < 0.7 else _tone(rng, "light")
        canvas[:bar_top], canvas[h - bar_bottom :], canvas[:, :side], canvas[:, w - side :] = frame, frame, frame, frame
        words = kinds["frame"].words
        _small_text(canvas, small_glyphs, words[rng.integers(len(words))],
                    (0.2 * w, h - 0.85 * bar_bottom, 0.8 * w, h - 0.15 * bar_bottom), _contrast(rng, frame))
        left, top, right, bottom = side + 0.02 * w, bar_top + 0.02 * h, w - side - 0.02 * w, h - bar_bottom - 0.02 * h
    if "stripes" in kinds:  # Austria: red stripes along the top and bottom edges
        t = int(rng.uniform(0.07, 0.1) * h)
        stripe = _tone(rng, kinds["stripes"].tone)
        canvas[int(top) : int(top) + t], canvas[int(bottom) - t : int(bottom)] = stripe, stripe
        top, bottom = top + t + 0.02 * h, bottom - t - 0.02 * h

    sides_used: set[str] = set()
    for band in design.bands:
        if band.side in sides_used or rng.random() >= band.probability:
            continue
        sides_used.add(band.side)
        if band.side == "top":
            size = int(band.size * h)
            _draw_band(rng, canvas, band, (int(left - 0.04 * w), int(top - 0.04 * h), int(right + 0.04 * w),
                                           int(top - 0.04 * h) + size), small_glyphs)
            top += size
        elif band.side == "left":
            size = int(band.size * w)
            _draw_band(rng, canvas, band, (int(left - 0.04 * w), int(top - 0.04 * h), int(left - 0.04 * w) + size,
                                           int(bottom + 0.04 * h)), small_glyphs)
            left += size - 0.02 * w
        else:
            size = int(band.size * w)
            _draw_band(rng, canvas, band, (int(right + 0.04 * w) - size, int(top - 0.04 * h), int(right + 0.04 * w),
                                           int(bottom + 0.04 * h)), small_glyphs)
            right -= size - 0.02 * w
    for kind in ("top_text", "bottom_text"):
        if kind in kinds:
            words = kinds[kind].words
            small_h = (0.16 if kind == "top_text" else 0.11) * h
            y = top + 0.02 * h if kind == "top_text" else bottom - small_h - 0.01 * h
            _small_text(canvas, small_glyphs, words[rng.integers(len(words))],
                        (left + 0.05 * w, y, right - 0.05 * w, y + small_h), ink)
            if kind == "top_text":
                top = y + small_h + 0.03 * h
            else:
                bottom = y - 0.02 * h

    # The characters: one or two rows, each centred in its share of the free area.
    lines = _rows(text, design.rows)
    row_h = (bottom - top) / len(lines)
    char_h = max(6, int(min(design.text_height * h / len(lines) * rng.uniform(0.9, 1.05), row_h - 4)))
    spacing = rng.uniform(*design.spacing)
    stretch = rng.uniform(*design.stretch)
    group_gap = rng.uniform(*design.group_gap)
    bar_one = bool(rng.random() < design.bar_one)
    round_dash = bool(rng.random() < design.round_dash)
    thicken = int(rng.integers(2, 5)) if rng.random() < 0.3 else 0
    dilate = rng.random() < 0.6
    x_shift, y_shift = rng.uniform(-0.02, 0.02) * w, rng.uniform(-0.03, 0.03) * h
    fill = 0 if design.fill is None or len(lines) > 1 else int(rng.uniform(*design.fill) * (right - left))
    for row, line in enumerate(lines):
        items = _with_line_marks(rng, line, drawn if row == 0 else [], char_h, glyphs)
        mask = text_strip(glyphs, items, char_h, spacing, stretch, int(right - left), round_dash=round_dash,
                          bar_one=bar_one, group_gap=group_gap, fill_width=fill)
        if thicken:
            kernel = np.ones((thicken, thicken), np.uint8)
            mask = cv2.dilate(mask, kernel) if dilate else cv2.erode(mask, kernel)
        x = int(np.clip(left + (right - left - mask.shape[1]) / 2 + x_shift, left, right - mask.shape[1]))
        y = int(top + row * row_h + (row_h - char_h) / 2 + y_shift)
        _stamp(canvas, mask, x, y, ink)

    # Border, screws and dirt.
    if rng.random() < 0.6 and "frame" not in kinds:
        t = int(rng.integers(2, 6))
        inset = int(rng.integers(1, 6))
        cv2.rectangle(canvas, (inset, inset), (w - inset - 1, h - inset - 1), float(ink), t)
    if "screws" in kinds:
        sy = 0.12 if design.aspect < 2.5 else 0.5
        for sx in (0.12, 0.88) if rng.random() < 0.5 else (0.2, 0.8):
            cv2.circle(canvas, (int(sx * w), int(sy * h)), int(0.04 * h), float(rng.uniform(60, 220)), -1)
    for _ in range(int(rng.integers(0, 6))):
        smudge(rng, canvas)
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
