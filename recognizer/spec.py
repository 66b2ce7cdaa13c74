"""Settings shared by the renderer, the network and the decoder.

These pydantic models are parts of the one application config (``stream.config.AppConfig``); they live
here so that ``recognizer`` never imports from ``stream``.
"""

from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from recognizer.synth.designs import DESIGNS

BLANK = "_"
"""Label of the "no character" class; it is always the last class of every position."""

SYMBOLS = "LNA"
"""The character symbols of a plate format's pattern: a letter, a digit, either; other pattern characters are drawn
gaps."""


def symbol_pools(letters: str = string.ascii_uppercase) -> dict[str, str]:
    """The characters each pattern symbol allows: ``L`` one of ``letters``, ``N`` a digit, ``A`` either."""
    return {"L": letters, "N": string.digits, "A": letters + string.digits}


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(StrictModel):
    """What the network sees and says.

    Attributes:
        alphabet: The characters a position can hold, in class order; "no character" follows them.
        positions: Number of character positions read per window.
        window_width: Window width in pixels.
        window_height: Window height in pixels.
        trunk_widths: Filters of the four trunk blocks, finest first. The first block runs at full resolution
            and dominates the whole-frame cost.
        column_stride: Pixels between the character columns the network reads (CTC frames): 8 or 4. Finer
            columns leave room for the blanks CTC needs between repeated characters of a narrow plate.
        window_bottleneck: Channels the trunk's features are reduced to (a 1x1 convolution) before the window
            head, which makes that head cheaper; None: no reduction.
    """

    alphabet: str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    positions: int = Field(7, ge=1, le=16)
    window_width: int = Field(128, ge=32)
    window_height: int = Field(64, ge=16)
    trunk_widths: tuple[PositiveInt, PositiveInt, PositiveInt, PositiveInt] = (16, 48, 80, 128)
    column_stride: Literal[4, 8] = 4
    window_bottleneck: int | None = Field(48, ge=1)

    @field_validator("alphabet")
    @classmethod
    def _unique_characters(cls, value: str) -> str:
        if not value or len(set(value)) != len(value) or BLANK in value:
            raise ValueError(f"alphabet must be non-empty, unique and without {BLANK!r}: {value!r}")
        return value

    @property
    def classes(self) -> int:
        """Classes per position: the alphabet plus "no character"."""
        return len(self.alphabet) + 1

    @property
    def window_shape(self) -> tuple[int, int]:
        """``(height, width)`` of one window."""
        return (self.window_height, self.window_width)


class PlateFormat(StrictModel):
    """One plate layout the renderer draws and the decoder may check a read against.

    Attributes:
        name: Short name, e.g. ``br_old``.
        pattern: Characters of the plate: ``L`` a letter, ``N`` a digit, ``A`` either, ``-`` (a hyphen) or a space
            a gap that is drawn but not read. Several patterns may be separated by ``|``.
        design: Name of the plate design it is drawn in, one of :data:`recognizer.synth.designs.DESIGNS`.
        weight: Relative frequency among generated plates, and the format's prior when reads are fitted to the
            formats (split evenly among the texts its patterns allow).
        letters: The letters its plates use, where the country leaves some out (France: no ``I``, ``O`` or ``U``,
            which look like ``1``, ``0`` and ``V``); its patterns' ``L`` and ``A`` allow only these.
    """

    name: str
    pattern: str
    design: str
    weight: float = Field(1.0, gt=0)
    letters: str = string.ascii_uppercase

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        for part in value.split("|"):
            if not part or set(part) - set(SYMBOLS + "- ") or not set(part) & set(SYMBOLS):
                raise ValueError(f"pattern parts use only L, N, A, '-' and ' ': {value!r}")
        return value

    @field_validator("letters")
    @classmethod
    def _valid_letters(cls, value: str) -> str:
        if not value or set(value) - set(string.ascii_uppercase) or len(set(value)) < len(value):
            raise ValueError(f"letters are distinct uppercase A-Z: {value!r}")
        return value

    @field_validator("design")
    @classmethod
    def _known_design(cls, value: str) -> str:
        if value not in DESIGNS:
            raise ValueError(f"design {value!r} is not one of {sorted(DESIGNS)}")
        return value

    @property
    def patterns(self) -> list[str]:
        """The alternative patterns of this format."""
        return self.pattern.split("|")


_DEFAULT_FORMATS: tuple[tuple[str, str, str, float] | tuple[str, str, str, float, str], ...] = (
    # name, pattern(s), design, weight[, letters where the country leaves some out]
    ("uk_front", "LLNN LLL", "uk_front", 0.8),
    ("uk_rear", "LLNN LLL", "uk_rear", 0.8),
    ("es", "NNNN LLL", "es", 0.5, "BCDFGHJKLMNPRSTVWXYZ"),
    ("uk_old", "LNNN LLL|LLL NNNL|LLL NNN", "uk_rear", 0.15),
    ("uk_square", "LLNN LLL", "uk_square", 0.1),
    ("es_old", "L NNNN LL|LL NNNN LL|LL NNNN L", "es_old", 0.15),
    ("de", "L LL NNNN|LL LL NNNN|LLL LL NNN|LL L NNNN|L L NNNN|LLL L NNNN|LLL LL NNNN", "de", 0.5),
    ("fr", "LL-NNN-LL", "fr", 0.4, "ABCDEFGHJKLMNPQRSTVWXYZ"),
    ("it", "LL NNNLL", "it", 0.4),
    ("nl", "NN-LLL-N|N-LLL-NN|LL-NNN-L|L-NNN-LL|NN-LL-LL|LL-NN-LL|LL-LL-NN|LLL-NN-L|L-NN-LLL|N-LL-NNN|NNN-LL-N",
     "nl", 0.5),
    ("be", "N-LLL-NNN|LLL-NNN", "be", 0.3),
    ("pl", "LL NNNNN|LL NNNNL|LL NNNLL|LL NLNNN|LL NLLNN|LLL NNNNN|LLL NNNNL|LLL NNNLL|LLL NNNN|LLL LNNN|LLL NNLL"
           "|LLL NLNN|LLL NNLN|LLL NLLN|LLL LLNN", "pl", 0.5),
    ("cz", "NLN NNNN|NLL NNNN|NLA NNNN", "cz", 0.3),
    ("sk", "LL NNNLL|LL-NNNLL", "sk", 0.3),
    ("at", "L NNNNN L|LL NNN LL|LL NNNN L|L NNN LLL", "at", 0.3),
    ("pt", "LL-NN-LL|NN-LL-NN|NN-NN-LL|LL-NN-NN", "pt", 0.3),
    ("ro", "L NN LLL|LL NN LLL|L NNN LLL", "ro", 0.3),
    ("eu", "LL NNN LL|LL NNNN|LLL NNN|NNN LLL|LL NNNN LL|L NNNN LL|LLL NNNNN", "eu", 0.4),
    ("eu_square", "LL NNNNN|LL LL NNN|LLL NNNN", "eu_square", 0.1),
    ("ua", "LL NNNN LL", "ua", 0.5, "ABCEHIKMOPTX"),
    ("br_old", "LLL-NNNN", "br_old", 2.0),
    ("br_red", "LLL-NNNN", "br_red", 0.4),
    ("mercosur_ar", "LL NNN LL", "mercosur", 0.3),
    ("mercosur_br", "LLLNLNN", "mercosur", 0.5),
    ("ar_old", "LLL NNN", "ar_old", 0.2),
    ("us", "NLLLNNN|LLLNNNN|AAAAAA|AAAAA|NAAANNN|AAAAAAA", "us", 1.6),
    ("generic", "LLLNNN|LLNNNN|AAAAAA", "generic", 0.3),
    ("short", "AAAA|LLNN|NNNN", "generic", 0.1),
    ("moto", "LL NNNN|LLL NNN|NN LLL", "moto", 0.1),
)


def _default_formats() -> list[PlateFormat]:
    keys = ("name", "pattern", "design", "weight", "letters")
    return [PlateFormat.model_validate(dict(zip(keys, entry))) for entry in _DEFAULT_FORMATS]


DEBIAN_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/truetype/freefont"),
    Path("/usr/share/fonts/opentype/bebas-neue"),
    Path("/usr/share/fonts/truetype/opendin"),
    Path("/usr/share/fonts/truetype/roadgeek"),
)
"""Folders of the Debian font packages ``scripts/setup.sh`` installs (DIN 1451 and Highway Gothic among them)."""


class RendererSpec(StrictModel):
    """How training windows are generated.

    Attributes:
        formats: Plate formats and their frequencies.
        font_dirs: Folders searched for ``.ttf``/``.otf`` fonts, relative ones from the repository root; missing
            folders are skipped. A design draws in the fonts it names (:mod:`recognizer.synth.designs`) where they
            are found here (training configs add ``../shared/fonts``), and in any font found otherwise.
        uk_font: One more font file to load (e.g. the UK plate face, not shipped: training configs name it); None
            or a missing file: only those of ``font_dirs``.
        positive_fraction: Share of generated windows that hold a plate by the presence rule.
        min_fill: A plate is present only if its width or its height exceeds this share of the window's.
        max_width_fill: ... and its width is under this share of the window's width,
        max_height_fill: ... and its height is under this share of the window's height.
        two_row_crops: Share of the crop reader's training crops drawn in two-row designs (laid out as one row),
            whatever their formats weigh; none where no format has a two-row design.
    """

    formats: list[PlateFormat] = Field(default_factory=_default_formats)
    font_dirs: list[Path] = Field(default_factory=lambda: list(DEBIAN_FONT_DIRS))
    uk_font: Path | None = None
    positive_fraction: float = Field(0.6, gt=0, lt=1)
    min_fill: float = Field(0.6, gt=0, lt=1)
    max_width_fill: float = Field(0.8, gt=0, le=1)
    max_height_fill: float = Field(0.875, gt=0, le=1)
    two_row_crops: float = Field(0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _fills_consistent(self) -> "RendererSpec":
        if self.min_fill >= self.max_width_fill:
            raise ValueError(f"min_fill ({self.min_fill}) must be below max_width_fill ({self.max_width_fill})")
        if not self.formats:
            raise ValueError("formats must list at least one plate format")
        return self


class ReadSpec(StrictModel):
    """How a camera's readings are checked against plate formats.

    Attributes:
        formats: Names of the ``renderer.formats`` this camera's plates follow; None: all of them. Every read is
            flagged with the first of them its text fits (``plate_format``).
        constrain: When the network's likeliest text fits none of them, read the likeliest text that fits one (a
            letter where the format wants a letter, a digit where it wants a digit): of the same length, or, when
            no format has that length, the likeliest alignment of the network's columns to a format
            (:mod:`recognizer.fitting`: a faint character the plain reading dropped). Such reads are flagged
            ``constrained``, their confidence is that text's own probability, and the unconstrained text stays
            among the candidates.
        min_length: Readings of fewer characters are not plates (a lone letter of a sign or a badge, a strip of
            a grille) and are dropped: no read, no event.
        tie_break: The formats break ties between look-alike characters (``0``/``O``, ``1``/``I``, ``8``/``B``):
            a text of as many characters as some format has is read as the likeliest text of that length that
            fits one, each text weighted by its format's ``weight`` split among the texts the format allows,
            flagged ``constrained`` where that changed it. It never adds or drops a character (``constrain`` does
            that too).
        tie_ratio: ... and only where that text is at least this share as probable as the network's own reading
            (the formats break near-ties; a sign's or a dealer frame's text is not bent into a plate's).
        readers_tie_weight: Where two readers read one plate (``reader.photos: both``) as many characters but not
            the same ones, each reading's confidence is weighed by its text's format weight (as ``tie_break``
            weighs texts) raised to this power, and the larger counts: a reading that fits a commoner, stricter
            format (``PJI7589``, an old Brazilian plate) wins a near-tie against one that fits a looser one
            (``PJI75B9``). 0: their confidence alone.
        text_line_height: A read that fits none of the formats, lying inside (``scan.merge_contained``) a larger
            read that fits one and at most this share of its height, is a line of text on that plate (a city or
            state name, a dealer's name), not a plate: dropped. 0: never.
    """

    formats: list[str] | None = None
    constrain: bool = False
    min_length: int = Field(4, ge=1)
    tie_break: bool = True
    tie_ratio: float = Field(0.001, ge=0, le=1)
    readers_tie_weight: float = Field(0.1, ge=0)
    text_line_height: float = Field(0.4, ge=0, le=1)


class TrainSpec(StrictModel):
    """Training run settings.

    Attributes:
        batch_size: Windows per step.
        steps_per_epoch: Steps between checkpoints and validations.
        epochs: Total epochs of a run (a resumed run continues up to this number).
        ramp_epochs: Epochs over which the camera degradation of the windows rises to full strength.
        learning_rate: Peak Adam learning rate (cosine decay over all epochs).
        seed: Seed of the generator and of the weights.
        workers: Processes that render training windows.
        val_windows: Generated windows held back for validation.
        real_crops: Manifest of real plate crops scored after every epoch (validation only); None: none.
        init_weights: Window-network weights a new run starts from (a further phase of training); None: random. The
            crop reader's may lack layers the new one has (``reader.context_dilations``): those start as built.
        frozen: Names of the crop reader's layers (or their prefixes, ``stage`` for every convolution stage) that
            ``anpr train-reader`` leaves as ``init_weights`` has them, batch norms included.
        keep: The weights a run copies out when it ends: its epoch with the best real-crop score (the generated
            score without real crops), or its last epoch.
        bank: A bank of windows (``anpr render-bank``) to train on, reshuffled and augmented every pass, instead of
            windows rendered during training; its difficulties are spread already, so ``ramp_epochs`` is unused,
            and ``workers`` threads (at most 4) prepare its batches. None: render during training.
        max_minutes: Stop after the first epoch that ends past this many minutes of this run's wall time (the
            weights are written as after any epoch; running again resumes); None: run all epochs.
    """

    batch_size: int = Field(64, ge=1)
    steps_per_epoch: int = Field(500, ge=1)
    epochs: int = Field(28, ge=1)
    ramp_epochs: int = Field(8, ge=0)
    learning_rate: float = Field(2e-3, gt=0)
    seed: int = 1
    workers: int = Field(1, ge=1)
    val_windows: int = Field(2000, ge=1)
    real_crops: Path | None = None
    init_weights: Path | None = None
    frozen: tuple[str, ...] = ()
    keep: Literal["best", "last"] = "best"
    bank: Path | None = None
    max_minutes: float | None = Field(None, gt=0)


class RecognizerSpec(StrictModel):
    """Where the weights are and which engine runs them.

    Attributes:
        weights: Keras weights file (``.weights.h5``), relative to the repository when not absolute.
        onnx: ONNX export of the same weights, used when ``engine`` is ``onnx``; its 8-bit form, ``.int8.onnx``
            beside it, when ``engine`` is ``onnx_int8``.
        engine: ``onnx_int8`` (ONNX Runtime on the 8-bit export, weights and activations calibrated on generated
            windows: reads real plates as well as the float form and 1.5x faster, so the default), ``onnx`` (the
            float form; no TensorFlow needed either) or ``keras``.
        threads: Threads of one network call (ONNX Runtime's intra-op threads). One, with the pyramid levels
            scanned on ``scan.workers`` threads at once, is faster than splitting each call on small crops.
    """

    weights: Path = Path("recognizer/weights/anpr.weights.h5")
    onnx: Path = Path("recognizer/weights/anpr.onnx")
    engine: str = "onnx_int8"
    threads: int = Field(1, ge=1)

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in {"onnx", "onnx_int8", "keras"}:
            raise ValueError(f"engine must be 'onnx', 'onnx_int8' or 'keras': {value!r}")
        return value


class GateBlock(StrictModel):
    """One convolution block of the gate: a square convolution ("valid" padding), batch normalisation, ReLU.

    Attributes:
        filters: Output channels.
        kernel: Kernel side, pixels of its input.
        stride: Step between its outputs; at most ``kernel``, so that every input pixel is seen.
    """

    filters: PositiveInt
    kernel: PositiveInt
    stride: PositiveInt

    @model_validator(mode="after")
    def _stride_within_kernel(self) -> "GateBlock":
        if self.stride > self.kernel:
            raise ValueError(f"stride {self.stride} is larger than kernel {self.kernel}: pixels would go unseen")
        return self


class GateSpec(StrictModel):
    """The gate network (:mod:`recognizer.gate`): a cheap presence-only first look that picks where the plate
    network runs.

    Attributes:
        onnx: Its ONNX file, relative to the repository when not absolute; None: no gate, every window of the
            levels scanned is scored by the plate network.
        blocks: Its convolution blocks, finest first; their strides multiply to :attr:`stride`.
        hidden: Filters of its window head.
        epochs: Epochs of ``anpr train-gate`` (steps, batch size, seed and workers are ``train``'s).
        learning_rate: Peak Adam learning rate (cosine decay over all epochs).
    """

    onnx: Path | None = Path("recognizer/weights/gate.onnx")
    blocks: tuple[GateBlock, ...] = Field((GateBlock(filters=16, kernel=4, stride=4),
                                           GateBlock(filters=32, kernel=3, stride=2),
                                           GateBlock(filters=32, kernel=3, stride=2)), min_length=1)
    hidden: PositiveInt = 32
    epochs: PositiveInt = 8
    learning_rate: float = Field(3e-3, gt=0)

    @property
    def stride(self) -> int:
        """Pixels between the windows the gate scores over an image (its blocks' strides multiplied)."""
        return math.prod(block.stride for block in self.blocks)


ReadingMode = Literal["crop", "windows", "both"]
"""Who gives a candidate its final reading: the crop reader, re-read windows, or the surer of the two."""


class ReaderSpec(StrictModel):
    """The crop reader (:mod:`recognizer.reader`): a second network that reads each found plate from a crop of the
    full-resolution frame around its box, resized to ``height`` x ``width``, with CTC over its columns.

    Attributes:
        streams: How each candidate of a stream's frames gets its final reading: ``crop`` the crop reader alone,
            ``windows`` 128x64 windows centred on it re-read (``scan.reread_widths``), ``both`` both and the surer
            reading counts.
        one_more_confidence: With both, the crop reader's reading is taken whatever the windows' confidence where
            it extends the windows' reading (one or more characters after theirs, two or more before them, or one
            more between two of them) and is at least this sure of itself (windows lose a plate's last character at
            its edge and narrow or repeated ones inside it, and read one row of a two-row plate); above 1: never.
        longer_by_mean: With both, a crop reading of more characters than the windows' (of at least
            ``read.min_length``; not only one more before them) is taken where its characters are surer on average
            (their geometric mean) than the windows' characters: a reading's confidence, a product over positions,
            falls with each character it has.
        photos: The same for photos (``anpr read``, image files) and photos that are only the plate.
        height: Crop height the network reads (a multiple of 16).
        width: Crop width (a multiple of 4); the network reads ``width / 4`` columns.
        positions: Most characters a crop is read as.
        widths: Filters of the network's five convolution stages.
        context_dilations: Residual 1x3 convolutions along the columns after the context convolution, one per entry,
            each dilated by it (``(2, 4, 8)``: each column sees about 30 columns, most of a plate); empty: none.
        weights: Keras weights (``anpr train-reader``), relative to the repository when not absolute.
        onnx: ONNX export of the same weights, which the reader runs.
        two_rows_onnx: ONNX file of the reader of plates read as two rows (laid out as one row: a reader trained on
            two-row plates, ``configs/finetune_reader_two_rows.yaml``); None: ``onnx`` reads them too.
        second_onnx: ONNX file of a second one-row reader, trained otherwise, whose readings of an unsure crop and of
            its copies join their vote (``jitter``; the context reader, ``configs/finetune_reader_context.yaml``:
            it errs on other crops); None: ``onnx`` reads them alone.
        margin_x: Share of the plate box's width added on each side when cutting a crop.
        margin_y: Share of the plate box's height added above and below.
        deskew_max_degrees: The most a plate's roll is measured to be (:func:`recognizer.deskew.plate_roll`); 0: crops
            are cut as their boxes are, never turned.
        deskew_min_degrees: A plate turned by less than this is cut as its box is.
        deskew_streams: Cut turned plates level, and slanted characters upright, on a stream's frames too, not
            only in photos (it costs about 5 ms a frame on a busy real clip; a fixed camera's plates are turned alike
            frame after frame).
        slant_max_degrees: The most a crop's characters are measured to lean (:func:`recognizer.deskew.plate_slant`);
            0: crops are never sheared.
        slant_min_degrees: Characters leaning by less than this are read as cut.
        edge_columns: A crop whose reading's first or last character lies within this many columns of that end of
            the crop is cut again, widened on that side ...
        edge_widen: ... by this share of the plate's width, and read from that cut at the same pose (0: never).
        two_rows_max_aspect: A plate box narrower than this (its width over its height) may hold two rows: it is also
            read laid out as one row (:func:`recognizer.reader.unroll_rows`), parted at each of ``two_rows_splits``,
            and that reading is kept where it reads more characters and is surer of itself (0: never).
        two_rows_splits: Where a plate's cut is parted into its two rows, as shares of its height.
        two_rows_overlap: Share of the cut's height each row's strip reaches beyond the split.
        two_rows_grow: A plate read as 2 to ``two_rows_grow_length`` characters, at least ``two_rows_grow_min``
            sure, may be one row of a two-row plate (or one row and part of the other): its box, grown upward by each
            of these shares of its height and then downward by each, is read as two rows; of those readings that read
            more characters and are surer of themselves, or at least ``two_rows_grow_sure``, the surest replaces its
            reading (empty: never).
        two_rows_grow_length: See ``two_rows_grow``.
        two_rows_grow_min: See ``two_rows_grow``.
        two_rows_grow_sure: See ``two_rows_grow``.
        jitter: Copies of each crop read beside it, each ``(dx, dy, scale)``: moved by ``dx``, ``dy`` pixels of the
            reader's input and scaled by ``scale`` about its centre. The reading most of the crop and its copies agree
            on is kept (ties: the crop's own), since a reading can turn on a pixel's shift (empty: the crop alone).
        jitter_below: Only crops read less sure of themselves than this (:func:`detector.voting.reading_confidence`)
            are read with their copies.
        jitter_streams: Read a stream's crops with their copies too, not only photos' (each copy costs one more
            crop reading per candidate and frame).
    """

    streams: ReadingMode = "crop"
    photos: ReadingMode = "both"
    one_more_confidence: float = Field(0.7, ge=0)
    longer_by_mean: bool = True
    height: int = Field(48, ge=16, multiple_of=16)
    width: int = Field(192, ge=32, multiple_of=4)
    positions: int = Field(9, ge=1, le=16)
    widths: tuple[PositiveInt, PositiveInt, PositiveInt, PositiveInt, PositiveInt] = (16, 32, 64, 96, 128)
    context_dilations: tuple[PositiveInt, ...] = ()
    weights: Path = Path("recognizer/weights/reader.weights.h5")
    onnx: Path = Path("recognizer/weights/reader.onnx")
    two_rows_onnx: Path | None = Path("recognizer/weights/reader_two_rows.onnx")
    second_onnx: Path | None = Path("recognizer/weights/reader_context.onnx")
    margin_x: float = Field(0.06, ge=0, le=1)
    margin_y: float = Field(0.12, ge=0, le=1)
    deskew_max_degrees: float = Field(25.0, ge=0, lt=45)
    deskew_min_degrees: float = Field(6.0, ge=0)
    deskew_streams: bool = False
    slant_max_degrees: float = Field(39.0, ge=0, lt=60)
    slant_min_degrees: float = Field(10.0, ge=0)
    edge_columns: int = Field(4, ge=0)
    edge_widen: float = Field(0.15, ge=0, le=1)
    two_rows_max_aspect: float = Field(2.3, ge=0)
    two_rows_splits: tuple[Annotated[float, Field(gt=0, lt=1)], ...] = (0.45, 0.5, 0.55)
    two_rows_overlap: float = Field(0.08, ge=0, lt=0.5)
    two_rows_grow: tuple[Annotated[float, Field(gt=0)], ...] = (0.5, 1.0)
    two_rows_grow_length: int = Field(5, ge=2)
    two_rows_grow_min: float = Field(0.5, ge=0, le=1)
    two_rows_grow_sure: float = Field(0.9, ge=0, le=1)
    jitter: tuple[tuple[float, float, Annotated[float, Field(gt=0)]], ...] = (
        (-2, 0, 1), (2, 0, 1), (0, -1, 1), (0, 1, 1), (0, 0, 0.94), (0, 0, 1.06), (-1, 0, 0.97), (1, 0, 1.03))
    jitter_below: float = Field(0.9, ge=0)
    jitter_streams: bool = False

    @field_validator("two_rows_splits")
    @classmethod
    def _some_split(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("two_rows_splits must hold at least one split")
        return value

    def mode(self, photos: bool) -> ReadingMode:
        """How the final readings of photos (True) or of a stream's frames (False) are made."""
        return self.photos if photos else self.streams

    def crop_model(self, model: ModelSpec) -> ModelSpec:
        """The model spec of the crops: the alphabet of ``model``, this reader's positions, the crop as the window."""
        return model.model_copy(update={"positions": self.positions, "window_width": self.width,
                                        "window_height": self.height})
