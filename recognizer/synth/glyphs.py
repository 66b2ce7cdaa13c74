"""Character images cut from fonts, for the plate renderer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

GLYPH_HEIGHT = 64
"""Height in pixels of every rendered character mask."""

_SKIP_WORDS = ("serif", "oblique", "italic", "extralight", "light", "math", "thin")


@dataclass(frozen=True)
class GlyphSet:
    """The characters of one font as ink masks of one height.

    Attributes:
        name: File name of the font.
        masks: Character to mask, each ``(GLYPH_HEIGHT, w)`` uint8, 255 where there is ink.
    """

    name: str
    masks: dict[str, np.ndarray]


def find_fonts(font_dirs: list[Path]) -> list[Path]:
    """Sans and mono fonts (no serif, italic or light faces) found in the given folders.

    Args:
        font_dirs: Folders to search; missing ones are skipped.

    Returns:
        Sorted font paths.
    """
    found: list[Path] = []
    for folder in font_dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            lower = path.name.lower()
            if path.suffix.lower() in {".ttf", ".otf"} and not any(w in lower for w in _SKIP_WORDS):
                found.append(path)
    return sorted(set(found))


def render_glyphs(font_path: Path, characters: str) -> GlyphSet:
    """Renders each character of a font, cropped to its ink and scaled to ``GLYPH_HEIGHT``.

    Args:
        font_path: A ``.ttf`` or ``.otf`` file.
        characters: The characters to render.

    Returns:
        The font's glyph set.
    """
    font = ImageFont.truetype(str(font_path), 120)
    masks: dict[str, np.ndarray] = {}
    for char in characters:
        canvas = Image.new("L", (200, 200), 0)
        ImageDraw.Draw(canvas).text((30, 10), char, font=font, fill=255)
        ink = np.asarray(canvas)
        rows = np.flatnonzero(ink.max(axis=1) > 64)
        cols = np.flatnonzero(ink.max(axis=0) > 64)
        if rows.size == 0 or cols.size == 0:
            continue
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        if char == "-":
            masks[char] = crop
            continue
        scale = GLYPH_HEIGHT / crop.shape[0]
        width = max(2, round(crop.shape[1] * scale))
        masks[char] = cv2.resize(crop, (width, GLYPH_HEIGHT), interpolation=cv2.INTER_AREA)
    return GlyphSet(name=font_path.name, masks=masks)


def load_glyph_sets(font_paths: list[Path], characters: str, optional: str = "") -> list[GlyphSet]:
    """Renders every font that has all the given characters.

    Args:
        font_paths: Fonts to try.
        characters: Characters each font must render.
        optional: Further characters rendered where the font has them.

    Returns:
        One glyph set per usable font.

    Raises:
        FileNotFoundError: If no font renders all the characters.
    """
    sets = []
    for path in font_paths:
        try:
            glyphs = render_glyphs(path, characters + optional)
        except OSError as error:
            log.warning("skipping font %s: %s", path, error)
            continue
        if all(c in glyphs.masks for c in characters):
            sets.append(glyphs)
    if not sets:
        raise FileNotFoundError("no usable font found: install fonts-dejavu-core or set renderer.font_dirs")
    return sets
