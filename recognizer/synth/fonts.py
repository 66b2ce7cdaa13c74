"""The fonts a plate may be drawn in: the fonts found in ``renderer.font_dirs`` and the project's stroke typeface."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recognizer.synth.glyphs import GlyphSet, find_fonts, load_glyph_sets
from recognizer.synth.stroke_font import VARIANTS, stroke_glyph_sets
from recognizer.spec import RendererSpec

REPO = Path(__file__).resolve().parents[2]
"""The repository root, against which relative font paths are taken."""


@dataclass(frozen=True)
class FontBook:
    """Every font a plate may be drawn in.

    Attributes:
        fonts: Every usable font found, by file name.
        strokes: The project's stroke typeface, one glyph set per variant.
        plain_strokes: Those of ``strokes`` without the Californian ``4`` and ``6``.
    """

    fonts: dict[str, GlyphSet]
    strokes: tuple[GlyphSet, ...]
    plain_strokes: tuple[GlyphSet, ...]

    @property
    def general(self) -> list[GlyphSet]:
        """Every font found, in file-name order."""
        return list(self.fonts.values())

    def named(self, names: tuple[str, ...]) -> list[GlyphSet]:
        """Those of the named fonts that were found, in the order named."""
        return [self.fonts[n] for n in names if n in self.fonts]


def load_font_book(font_paths: list[Path], characters: str) -> FontBook:
    """Renders the fonts found and the stroke typeface.

    Args:
        font_paths: Font files (:func:`find_fonts`); the same file name found twice is loaded once.
        characters: Characters every font must have (the model's alphabet); ``-`` is rendered where present.

    Returns:
        The fonts.

    Raises:
        FileNotFoundError: If no font renders all the characters.
    """
    unique = list({path.name: path for path in font_paths}.values())
    fonts = {g.name: g for g in load_glyph_sets(unique, characters, optional="-")}
    strokes = tuple(stroke_glyph_sets(characters + "-"))
    plain = tuple(g for g, (_, _, californian) in zip(strokes, VARIANTS) if not californian)
    return FontBook(fonts=dict(sorted(fonts.items())), strokes=strokes, plain_strokes=plain)


def in_repo(path: Path) -> Path:
    """A configured path made absolute: relative paths are taken from the repository root."""
    return path if path.is_absolute() else REPO / path


def renderer_fonts(renderer: RendererSpec, characters: str) -> FontBook:
    """The fonts of ``renderer.font_dirs`` (and ``renderer.uk_font`` where it is a file) and the stroke typeface.

    Args:
        renderer: Renderer settings.
        characters: Characters every font must have.

    Returns:
        The fonts.

    Raises:
        FileNotFoundError: If no font renders all the characters.
    """
    paths = find_fonts([in_repo(folder) for folder in renderer.font_dirs])
    if renderer.uk_font is not None and in_repo(renderer.uk_font).is_file():
        paths.append(in_repo(renderer.uk_font))
    return load_font_book(paths, characters)
