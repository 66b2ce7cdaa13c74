"""Every plate design the renderer draws, as data: one entry per design in :data:`DESIGNS`.

A plate is a background, groups of characters and marks that are not characters. A design says how its plates
look (aspect, colours, fonts, character size and spacing, one or two rows), which bands stand at its edges (the
EU band with its ring of stars and country code, a national flag, Italy's or France's right band) and which marks
may be drawn, each with its probability (seals and stickers between the groups, coats of arms, small text above
or below, screws, dealer frames, US emblems). :mod:`recognizer.synth.plates` draws any design; a new country is
one more entry here and a :class:`recognizer.spec.PlateFormat` naming it. Marks are drawn, never labelled.

Colours are names of gray-level ranges (:data:`TONES`): the renderer draws grayscale plates, as the network sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TONES: dict[str, tuple[float, float]] = {
    "white": (195.0, 250.0),
    "yellow": (165.0, 225.0),  # bright in gray: UK rear, Dutch plates, PT's right band
    "grey": (135.0, 215.0),  # old Brazilian plates
    "black": (5.0, 50.0),
    "dark": (20.0, 90.0),  # old Argentine plates, dark bands
    "blue": (30.0, 95.0),  # EU band, Italy's and France's right bands, Mercosur's top band
    "red": (55.0, 115.0),  # Belgian ink, Brazilian commercial plates, Austria's stripes
    "light": (185.0, 250.0),  # light ink on a dark plate
    "toned": (90.0, 170.0),  # a coloured mark as it looks in gray
}
"""Gray-level range ``(low, high)`` of each colour name a design may use."""

EU_CODES: tuple[str, ...] = ("A", "B", "BG", "CY", "CZ", "D", "DK", "E", "EST", "F", "FIN", "GR", "H", "HR", "I",
                             "IRL", "L", "LT", "LV", "M", "NL", "P", "PL", "RO", "S", "SK", "SLO", "IS", "FL", "N")
"""Country codes of the EU band of every EU and EEA country."""

BandTop = Literal["stars", "flag", "union", "logo", "digits", "none"]
MarkKind = Literal["seals", "sticker", "shield", "emblem", "dot", "hyphen", "stacked_text", "top_text", "bottom_text",
                   "screws", "frame", "stripes"]


@dataclass(frozen=True)
class Band:
    """A coloured band at one edge of the plate holding a symbol above a small text.

    Attributes:
        side: ``left``, ``right`` or ``top`` (Mercosur's band over the whole width).
        size: Its width (left, right) or height (top) as a share of the plate's.
        tone: Its colour (a :data:`TONES` name).
        top: What is drawn in its upper part: the EU ring of 12 ``stars``, a ``flag`` of horizontal stripes
            (``flag_tones``), the ``union`` flag, a ``logo`` (a regional emblem), two ``digits`` (Italy's year) or
            ``none``.
        codes: Small texts under the symbol, one chosen per plate (a country code, a province).
        code_pattern: Used where ``codes`` is empty: ``N`` a digit, ``L`` a letter (France's department ``NN``).
        flag_tones: Stripe colours of a ``flag``, top to bottom.
        probability: Share of plates that have it.
    """

    side: Literal["left", "right", "top"]
    size: float
    tone: str = "blue"
    top: BandTop = "stars"
    codes: tuple[str, ...] = ()
    code_pattern: str = ""
    flag_tones: tuple[str, ...] = ()
    probability: float = 1.0


@dataclass(frozen=True)
class Mark:
    """A mark that is not a character, drawn with a probability and never labelled.

    Attributes:
        kind: ``seals`` (two round registration and inspection seals stacked, Germany), ``sticker`` (one round
            sticker, Poland, Czechia), ``shield`` (a coat of arms), ``emblem`` (a state's shape or a framed badge,
            US), ``dot``, ``hyphen``, ``stacked_text`` (two rows of tiny characters), ``top_text`` and
            ``bottom_text`` (a small line of words above or below the characters), ``screws``, ``frame`` (a dealer
            frame with text on its top and bottom bars) or ``stripes`` (coloured stripes along the top and bottom
            edges, Austria).
        place: For marks among the characters: ``gap`` (in the first gap between two groups, or between two
            characters where the pattern has no gap), ``inline`` (between any two characters) or ``lead`` (before
            the first character: a US plate's picture or small stacked letters at its left).
        probability: Share of plates that have it.
        words: Texts of ``top_text``, ``bottom_text`` and ``frame``, one chosen per plate.
        tone: Colour of ``stripes`` (a :data:`TONES` name); other marks use the ink or a toned ink.
    """

    kind: MarkKind
    probability: float = 1.0
    place: Literal["gap", "inline", "lead"] = "gap"
    words: tuple[str, ...] = ()
    tone: str = "red"


@dataclass(frozen=True)
class PlateDesign:
    """How the plates of one design look.

    Attributes:
        aspect: Width over height of the plate.
        backgrounds: Background colours, one chosen per plate (:data:`TONES` names).
        inks: Ink colours, one chosen per plate.
        fonts: Font file names in order of preference (from ``renderer.font_dirs``); those found are drawn on
            ``font_share`` of the plates.
        font_share: Share of plates drawn in one of ``fonts`` when any is found.
        stroke_share: Share of plates drawn in the project's stroke typeface (:mod:`recognizer.synth.stroke_font`);
            the rest take any font found.
        californian: Whether the stroke typeface may draw the open ``4`` and slanted ``6`` of Californian plates.
        text_height: Character height as a share of the plate's height (of a row's, for two rows).
        stretch: Range of the characters' width stretch (condensed plate faces are below 1).
        spacing: Range of the gap between characters, a share of their height.
        group_gap: Range of the gap between groups, a share of the character height.
        fill: Range of the share of the free width (between the bands) that a one-row plate's line of characters
            spans: a narrower line has its gaps widened towards it (each by at most :data:`FILL_MAX_GAP`), as plate
            makers space a plate's characters across it. None: the line keeps the width its glyphs and gaps give.
        rows: One row, or two (the last group of the pattern on the second row).
        bar_one: Share of plates whose ``1`` and ``I`` are one plain bar (old Brazilian plates).
        round_dash: Share of the hyphens drawn as a square dot rather than a bar.
        inverted: Share of plates drawn light on dark (embossed metal, infrared light).
        bands: Bands at the plate's edges; bands of one side are alternatives (the first drawn by its probability).
        marks: Marks drawn with their probabilities.
    """

    aspect: float
    backgrounds: tuple[str, ...] = ("white",)
    inks: tuple[str, ...] = ("black",)
    fonts: tuple[str, ...] = ()
    font_share: float = 0.5
    stroke_share: float = 0.3
    californian: bool = False
    text_height: float = 0.72
    stretch: tuple[float, float] = (0.6, 1.2)
    spacing: tuple[float, float] = (0.03, 0.12)
    group_gap: tuple[float, float] = (0.25, 0.45)
    fill: tuple[float, float] | None = None
    rows: Literal[1, 2] = 1
    bar_one: float = 0.0
    round_dash: float = 0.5
    inverted: float = 0.1
    bands: tuple[Band, ...] = ()
    marks: tuple[Mark, ...] = ()


FILL_MAX_GAP = 0.45
"""Most each gap of a line is widened by to fill its plate (:attr:`PlateDesign.fill`), as a share of the character
height: a short text stays narrower."""

EU_FILL = (0.82, 0.97)
"""How much of an EU-format plate's free width (between its bands) the characters span."""

# Fonts, by what they imitate (/work/shared/fonts/README.md); absent ones are skipped.
FE_SCHRIFT = ("GL-Nummernschild-Mtl.ttf", "GL-Nummernschild-Eng.ttf")
DIN_1451 = ("AlteDIN1451-Mittelschrift.ttf", "AlteDIN1451-Mittelschrift-gepraegt.ttf", "DINish-Bold.ttf",
            "DINishCondensed-Bold.ttf", "OSP-DIN.ttf")
UK_FACE = ("CharlesWright-Bold.otf",)
HIGHWAY_GOTHIC = ("Roadgeek2014-SeriesC.ttf", "Roadgeek2014-SeriesB.ttf", "RG2014C.ttf", "RG2014B.ttf", "RG2014D.ttf")


def eu_band(*codes: str, probability: float = 1.0) -> Band:
    """The blue EU band at the left: the ring of 12 stars over the country code."""
    return Band(side="left", size=0.085, tone="blue", top="stars", codes=codes or EU_CODES, probability=probability)


SCREWS = Mark("screws", 0.5)
DEALER = Mark("frame", 0.12, words=("AUTOHAUS", "DEALER", "GARAGE", "MOTORS", "AUTO CENTER", "WWW.CARS.COM",
                                    "CONCESIONARIO", "SERVICE", "01234 567890"))
_US_STATES = ("CALIFORNIA", "TEXAS", "NEW YORK", "FLORIDA", "OHIO", "ILLINOIS", "ARIZONA", "GEORGIA", "VIRGINIA",
              "MICHIGAN", "NEW JERSEY", "PENNSYLVANIA", "COLORADO", "OREGON", "NEVADA", "UTAH")
_US_SLOGANS = ("GARDEN STATE", "EMPIRE STATE", "SUNSHINE STATE", "LAND OF LINCOLN", "THE LONE STAR STATE",
               "GRAND CANYON STATE", "DMV.CA.GOV", "DEALER", "ford", "Toyota", "www.dealer.com")
_BR_CITIES = ("SP - SAO PAULO", "RJ - RIO DE JANEIRO", "PR - CURITIBA", "MG - BELO HORIZONTE", "SC - JOINVILLE",
              "RS - PORTO ALEGRE", "BA - SALVADOR", "GO - GOIANIA")
_DE_CITIES = ("AUTOHAUS MUSTER", "BERLIN", "MUNCHEN", "HAMBURG", "KOLN")

DESIGNS: dict[str, PlateDesign] = {
    # United Kingdom: white front, yellow rear, the Charles Wright face; a GB/UK band on some.
    "uk_front": PlateDesign(
        aspect=4.7, fill=(0.8, 0.95), fonts=UK_FACE, font_share=0.8, stroke_share=0.1, text_height=0.7,
        bands=(Band("left", 0.085, "blue", "union", ("UK", "GB"), probability=0.25),
               Band("left", 0.085, "blue", "stars", ("GB",), probability=0.2)),
        marks=(SCREWS, Mark("bottom_text", 0.3, words=("DEALER LTD", "MOTORS", "AUTOS", "BS AU 145e"))),
    ),
    "uk_rear": PlateDesign(
        aspect=4.7, fill=(0.8, 0.95),
        backgrounds=("yellow",), fonts=UK_FACE, font_share=0.8, stroke_share=0.1, text_height=0.7,
        bands=(Band("left", 0.085, "blue", "union", ("UK", "GB"), probability=0.25),
               Band("left", 0.085, "blue", "stars", ("GB",), probability=0.2)),
        marks=(SCREWS, Mark("bottom_text", 0.3, words=("DEALER LTD", "MOTORS", "AUTOS", "BS AU 145e"))),
    ),
    "uk_square": PlateDesign(
        aspect=1.55, backgrounds=("yellow", "white"), fonts=UK_FACE, font_share=0.8, stroke_share=0.1,
        text_height=0.7, rows=2, group_gap=(0.1, 0.2), marks=(SCREWS,),
    ),
    # European Union: the blue band at the left with the country's code.
    "de": PlateDesign(
        aspect=4.73, fill=EU_FILL,
        fonts=FE_SCHRIFT, font_share=0.7, stroke_share=0.2, text_height=0.68, stretch=(0.7, 1.0),
        bands=(eu_band("D"),), marks=(Mark("seals", 0.9), SCREWS, DEALER),
    ),
    "fr": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451 + FE_SCHRIFT, font_share=0.6, text_height=0.68, stretch=(0.65, 1.0),
        bands=(eu_band("F"), Band("right", 0.085, "blue", "logo", code_pattern="NN")),
        marks=(SCREWS, DEALER),
    ),
    "it": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.5, text_height=0.68, stretch=(0.6, 0.95),
        bands=(eu_band("I"), Band("right", 0.085, "blue", "digits",
                                  ("MI", "RM", "TO", "NA", "BO", "FI", "GE", "BA", "PA", "VE", "VR", "BS"),
                                  probability=0.7)),
        marks=(SCREWS,),
    ),
    "es": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.7, stretch=(0.65, 1.0),
        bands=(eu_band("E"),), marks=(SCREWS, DEALER),
    ),
    "es_old": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.7, stretch=(0.65, 1.0),
        marks=(Mark("hyphen", 0.3), Mark("shield", 0.15), SCREWS),
    ),
    "nl": PlateDesign(
        aspect=4.73, fill=EU_FILL, backgrounds=("yellow",), fonts=("Kenteken.ttf",) + DIN_1451[:1], font_share=0.8,
        stroke_share=0.15, text_height=0.66, stretch=(0.75, 1.05), bands=(eu_band("NL"),),
        marks=(SCREWS, DEALER),
    ),
    "be": PlateDesign(
        aspect=4.73, fill=EU_FILL, inks=("red",), fonts=DIN_1451 + FE_SCHRIFT, font_share=0.6, text_height=0.66,
        stretch=(0.65, 1.0), bands=(eu_band("B"),), marks=(SCREWS,),
    ),
    "pl": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.7, stretch=(0.6, 0.95),
        bands=(eu_band("PL"),), marks=(Mark("sticker", 0.5), SCREWS, DEALER),
    ),
    "cz": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.68, stretch=(0.6, 0.95),
        bands=(eu_band("CZ"),), marks=(Mark("sticker", 0.35), Mark("stacked_text", 0.1), SCREWS),
    ),
    "sk": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.68, stretch=(0.6, 0.95),
        bands=(eu_band("SK"),), marks=(Mark("shield", 0.9), SCREWS),
    ),
    "at": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.6, stretch=(0.6, 0.95),
        bands=(eu_band("A"),), marks=(Mark("stripes", 0.95, tone="red"), Mark("shield", 0.9), SCREWS),
    ),
    "pt": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.68, stretch=(0.65, 1.0),
        bands=(eu_band("P"), Band("right", 0.085, "yellow", "digits", code_pattern="NN", probability=0.5)),
        marks=(SCREWS,),
    ),
    "ro": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451, font_share=0.6, text_height=0.68, stretch=(0.65, 1.0),
        bands=(eu_band("RO"),), marks=(SCREWS,),
    ),
    "eu": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451 + FE_SCHRIFT, font_share=0.5, text_height=0.7,
        bands=(eu_band(),), marks=(Mark("sticker", 0.15), Mark("shield", 0.1), SCREWS, DEALER),
    ),
    "eu_square": PlateDesign(
        aspect=1.35, fonts=FE_SCHRIFT + DIN_1451, font_share=0.6, text_height=0.72, rows=2,
        stretch=(0.7, 1.0), group_gap=(0.1, 0.25),
        bands=(Band("left", 0.13, "blue", "stars", EU_CODES),), marks=(Mark("sticker", 0.3), SCREWS),
    ),
    "ua": PlateDesign(
        aspect=4.73, fill=EU_FILL, fonts=DIN_1451 + FE_SCHRIFT, font_share=0.6, text_height=0.68, stretch=(0.6, 0.95),
        bands=(Band("left", 0.085, "blue", "flag", ("UA",), flag_tones=("blue", "yellow")),),
        marks=(SCREWS, DEALER),
    ),
    # South America.
    "br_old": PlateDesign(
        aspect=3.08, fill=(0.8, 0.95),
        backgrounds=("grey",), fonts=DIN_1451, font_share=0.2, stroke_share=0.6, text_height=0.55,
        stretch=(0.5, 0.9), spacing=(0.05, 0.22), bar_one=0.85, inverted=0.25,
        marks=(Mark("top_text", 1.0, words=_BR_CITIES), SCREWS),
    ),
    "br_red": PlateDesign(
        aspect=3.08, fill=(0.8, 0.95),
        backgrounds=("red",), inks=("light",), fonts=DIN_1451, font_share=0.2, stroke_share=0.6,
        text_height=0.55, stretch=(0.5, 0.9), spacing=(0.05, 0.22), bar_one=0.85, inverted=0.25,
        marks=(Mark("top_text", 1.0, words=_BR_CITIES), SCREWS),
    ),
    "mercosur": PlateDesign(
        aspect=3.08, fill=(0.8, 0.95),
        fonts=FE_SCHRIFT, font_share=0.5, stroke_share=0.4, text_height=0.55, stretch=(0.55, 0.95),
        bands=(Band("top", 0.22, "blue", "flag", ("BRASIL", "REPUBLICA ARGENTINA", "MERCOSUR"),
                    flag_tones=("toned",)),),
        marks=(SCREWS,),
    ),
    "ar_old": PlateDesign(
        aspect=3.08, fill=(0.75, 0.95),
        backgrounds=("dark",), inks=("light",), fonts=DIN_1451, font_share=0.5, stroke_share=0.3,
        text_height=0.55, stretch=(0.55, 0.95), inverted=0.1,
        marks=(Mark("top_text", 0.9, words=("REPUBLICA ARGENTINA", "ARGENTINA")), SCREWS),
    ),
    # North America and elsewhere.
    "us": PlateDesign(
        aspect=2.0, fill=(0.7, 0.92),
        backgrounds=("white", "white", "yellow", "toned"), inks=("black", "blue", "red", "dark"),
        fonts=HIGHWAY_GOTHIC, font_share=0.3, stroke_share=0.3, californian=True, text_height=0.5,
        inverted=0.15,
        marks=(Mark("top_text", 1.0, words=_US_STATES), Mark("bottom_text", 0.7, words=_US_SLOGANS),
               Mark("emblem", 0.5, place="inline"), Mark("emblem", 0.3, place="lead"),
               Mark("stacked_text", 0.1, place="lead"), SCREWS, Mark("frame", 0.15, words=_US_SLOGANS)),
    ),
    "generic": PlateDesign(
        aspect=3.6, fill=(0.7, 0.95), backgrounds=("white", "yellow"), fonts=DIN_1451 + HIGHWAY_GOTHIC, font_share=0.4,
        text_height=0.66, marks=(SCREWS, Mark("bottom_text", 0.3, words=_DE_CITIES + ("NEW ZEALAND", "NZ"))),
    ),
    "moto": PlateDesign(
        aspect=1.25, backgrounds=("white", "yellow"), fonts=DIN_1451 + FE_SCHRIFT, font_share=0.5,
        text_height=0.75, rows=2, group_gap=(0.1, 0.2), marks=(SCREWS,),
    ),
}
"""Every design by name; :class:`recognizer.spec.PlateFormat` names one."""
