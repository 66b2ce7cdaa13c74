"""A condensed plate typeface drawn by the project: strokes of even width with rounded-rectangle bowls.

Plate typefaces (DIN 1451 and FE-Schrift in Europe, "Mandatory" on old Brazilian plates, the Mercosur face) draw
``O``, ``0``, ``D`` and ``Q`` as rounded rectangles with straight sides, where the fonts Debian ships draw ovals.
A network that has only seen the ovals reads a real plate's ``O`` as ``D`` or ``0``. Each glyph here is a few
polylines on a 10 x 16 grid whose marked corners are rounded; stroke width and corner radius vary between the
glyph sets, and the renderer condenses them further.
"""

from __future__ import annotations

import cv2
import numpy as np

from recognizer.synth.glyphs import GLYPH_HEIGHT, GlyphSet

Point = tuple[float, float] | tuple[float, float, float]
"""``(x, y)`` on the 10 x 16 grid (y down), or ``(x, y, r)`` with ``r`` times the set's radius rounding that corner."""

Stroke = tuple[list[Point], bool]
"""A polyline and whether it is closed."""


def _mirror(strokes: list[Stroke]) -> list[Stroke]:
    """The strokes turned half a turn about the grid's centre (``6`` into ``9``)."""
    return [([(10 - p[0], 16 - p[1], *p[2:]) for p in points], closed) for points, closed in strokes]


_BOX = [(0, 0, 1), (10, 0, 1), (10, 16, 1), (0, 16, 1)]
_SIX = [([(0, 10, 0), (0, 7, 1), (10, 7, 1), (10, 16, 1), (0, 16, 1)], True),
        ([(0, 10), (0, 0, 1), (9, 0)], False)]

STROKES: dict[str, list[Stroke]] = {
    "0": [(_BOX, True)],
    "1": [([(1.5, 3.5), (6, 0), (6, 16)], False)],
    "2": [([(0, 4), (0, 0, 1), (10, 0, 1), (10, 6), (0, 16), (10, 16)], False)],
    "3": [([(0, 0), (10, 0), (4, 7), (10, 7, 1), (10, 16, 1), (0, 16)], False)],
    "4": [([(7.5, 16), (7.5, 0), (0, 11), (10, 11)], False)],
    "5": [([(10, 0), (0, 0), (0, 7), (10, 7, 1), (10, 16, 1), (0, 16)], False)],
    "6": _SIX,
    "7": [([(0, 0), (10, 0), (10, 2), (3.5, 16)], False)],
    "8": [([(1, 0, 0.8), (9, 0, 0.8), (9, 7.5, 0.8), (1, 7.5, 0.8)], True),
          ([(0, 7.5, 1), (10, 7.5, 1), (10, 16, 1), (0, 16, 1)], True)],
    "9": _mirror(_SIX),
    "A": [([(0, 16), (3.5, 0), (6.5, 0), (10, 16)], False), ([(1.3, 10.5), (8.7, 10.5)], False)],
    "B": [([(0, 0), (6.5, 0, 0.8), (9, 0.5), (9, 7.5, 0.8), (0, 7.5)], False),
          ([(6.5, 7.5), (10, 7.5, 1), (10, 16, 1), (0, 16), (0, 0)], False)],
    "C": [([(10, 4), (10, 0, 1), (0, 0, 1), (0, 16, 1), (10, 16, 1), (10, 12)], False)],
    "D": [([(0, 0), (10, 0, 1), (10, 16, 1), (0, 16)], True)],
    "E": [([(10, 0), (0, 0), (0, 16), (10, 16)], False), ([(0, 7.5), (8, 7.5)], False)],
    "F": [([(10, 0), (0, 0), (0, 16)], False), ([(0, 7.5), (8, 7.5)], False)],
    "G": [([(10, 4), (10, 0, 1), (0, 0, 1), (0, 16, 1), (10, 16, 1), (10, 8), (5.5, 8)], False)],
    "H": [([(0, 0), (0, 16)], False), ([(10, 0), (10, 16)], False), ([(0, 7.5), (10, 7.5)], False)],
    "I": [([(0, 0), (0, 16)], False)],
    "J": [([(10, 0), (10, 16, 1), (0, 16, 1), (0, 11)], False)],
    "K": [([(0, 0), (0, 16)], False), ([(10, 0), (0, 10)], False), ([(3.5, 6.5), (10, 16)], False)],
    "L": [([(0, 0), (0, 16), (10, 16)], False)],
    "M": [([(0, 16), (0, 0), (5.5, 10), (11, 0), (11, 16)], False)],
    "N": [([(0, 16), (0, 0), (10, 16), (10, 0)], False)],
    "O": [([(0, 0, 1), (11, 0, 1), (11, 16, 1), (0, 16, 1)], True)],
    "P": [([(0, 16), (0, 0), (10, 0, 1), (10, 8.5, 1), (0, 8.5)], False)],
    "Q": [([(0, 0, 1), (11, 0, 1), (11, 16, 1), (0, 16, 1)], True), ([(6.5, 11), (11, 17)], False)],
    "R": [([(0, 16), (0, 0), (10, 0, 1), (10, 8.5, 1), (0, 8.5)], False), ([(5, 8.5), (10, 16)], False)],
    "S": [([(10, 2), (10, 0, 1), (0, 0, 1), (0, 7.5, 1), (10, 7.5, 1), (10, 16, 1), (0, 16, 1), (0, 14)], False)],
    "T": [([(0, 0), (10, 0)], False), ([(5, 0), (5, 16)], False)],
    "U": [([(0, 0), (0, 16, 1), (10, 16, 1), (10, 0)], False)],
    "V": [([(0, 0), (5, 16), (10, 0)], False)],
    "W": [([(0, 0), (2.5, 16), (5.5, 4), (8.5, 16), (11, 0)], False)],
    "X": [([(0, 0), (10, 16)], False), ([(10, 0), (0, 16)], False)],
    "Y": [([(0, 0), (5, 8)], False), ([(10, 0), (5, 8), (5, 16)], False)],
    "Z": [([(0, 0), (10, 0), (0, 16), (10, 16)], False)],
    "-": [([(0, 8), (6, 8)], False)],
}
"""Every character's strokes."""

OPEN_FOUR: list[Stroke] = [([(2, 0), (0, 11), (10, 11)], False), ([(7.5, 4), (7.5, 16)], False)]
"""A ``4`` whose stem stands apart from its slanted left stroke, the top left open, as on Californian plates (and
other US states' faces); the ``4`` of :data:`STROKES` is closed, as in DIN 1451 and the fonts Debian ships."""

SLANT_SIX: list[Stroke] = [([(0, 16, 1), (0, 9, 1), (10, 9, 1), (10, 16, 1)], True),
                           ([(8.5, 0), (2.5, 6.5), (0, 12)], False)]
"""A ``6`` whose top is a slanted stroke falling from the upper right into the bowl, as on Californian plates; its
half turn is the ``9``. The ``6`` of :data:`STROKES` has an upright stem under a flat top."""

CALIFORNIAN: dict[str, list[Stroke]] = {"4": OPEN_FOUR, "6": SLANT_SIX, "9": _mirror(SLANT_SIX)}
"""The glyphs a Californian glyph set draws instead of those of :data:`STROKES`."""

VARIANTS: tuple[tuple[float, float, bool], ...] = ((1.7, 3.0, False), (2.2, 4.0, True), (2.7, 3.5, False),
                                                   (2.2, 2.0, True))
"""``(stroke width, corner radius, Californian)`` of each glyph set, the first two in grid units (a glyph is 16
high)."""


def rounded_polyline(points: list[Point], radius: float, closed: bool, steps: int = 8) -> np.ndarray:
    """A polyline whose marked corners are replaced by curves of about the given radius.

    Each marked corner becomes a quadratic curve between the points ``radius`` before and after it along its two
    edges (never more than half of either edge), the corner itself being the curve's control point.

    Args:
        points: Vertices; a third value scales ``radius`` at that vertex (0 or absent: a sharp corner).
        radius: Corner radius in grid units.
        closed: Whether the last vertex joins the first.
        steps: Segments per curve.

    Returns:
        ``(M, 2)`` float vertices of the smoothed polyline.
    """
    xy = np.array([p[:2] for p in points], np.float64)
    scale = np.array([p[2] if len(p) > 2 else 0.0 for p in points])
    out: list[np.ndarray] = []
    n = len(xy)
    for i in range(n):
        ends = not closed and (i == 0 or i == n - 1)
        r = radius * scale[i]
        if ends or r <= 0:
            out.append(xy[i][None])
            continue
        before, after = xy[i - 1], xy[(i + 1) % n]
        d_in = min(r, np.linalg.norm(before - xy[i]) / 2)
        d_out = min(r, np.linalg.norm(after - xy[i]) / 2)
        start = xy[i] + (before - xy[i]) / max(np.linalg.norm(before - xy[i]), 1e-9) * d_in
        end = xy[i] + (after - xy[i]) / max(np.linalg.norm(after - xy[i]), 1e-9) * d_out
        t = np.linspace(0, 1, steps + 1)[:, None]
        out.append((1 - t) ** 2 * start + 2 * (1 - t) * t * xy[i] + t**2 * end)
    return np.concatenate(out)


def draw_glyph(strokes: list[Stroke], width: float, radius: float, pixels_per_unit: int = 8) -> np.ndarray:
    """One character as an ink mask cropped to its ink and scaled to ``GLYPH_HEIGHT`` rows.

    Args:
        strokes: The character's polylines.
        width: Stroke width in grid units.
        radius: Corner radius in grid units.
        pixels_per_unit: Drawing resolution before the mask is scaled down.

    Returns:
        ``(GLYPH_HEIGHT, w)`` uint8 mask, 255 where there is ink.
    """
    s = pixels_per_unit
    pad = int(np.ceil(width * s))
    canvas = np.zeros((18 * s + 2 * pad, 12 * s + 2 * pad), np.uint8)
    for points, closed in strokes:
        line = rounded_polyline(points, radius, closed) * s + pad
        cv2.polylines(canvas, [np.round(line * 16).astype(np.int32)], closed, 255, max(1, round(width * s)), cv2.LINE_AA,
                      shift=4)
    rows, cols = np.flatnonzero(canvas.max(axis=1) > 64), np.flatnonzero(canvas.max(axis=0) > 64)
    crop = canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height = GLYPH_HEIGHT if crop.shape[0] > 4 * s else max(2, round(crop.shape[0] * GLYPH_HEIGHT / (16 + width) / s))
    return cv2.resize(crop, (max(2, round(crop.shape[1] * height / crop.shape[0])), height), interpolation=cv2.INTER_AREA)


def stroke_glyph_sets(characters: str) -> list[GlyphSet]:
    """The project's plate typeface in each of its ``VARIANTS``.

    Args:
        characters: Characters to draw; those it has no strokes for are left out.

    Returns:
        One glyph set per variant.
    """
    sets = []
    for width, radius, californian in VARIANTS:
        strokes = STROKES | CALIFORNIAN if californian else STROKES
        sets.append(GlyphSet(name=f"plate-strokes-{width}-{radius}{'-californian' if californian else ''}",
                             masks={c: draw_glyph(strokes[c], width, radius) for c in characters if c in strokes}))
    return sets
