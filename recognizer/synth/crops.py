"""Labelled plate crops for the crop reader: what the scanner cuts from a full-resolution frame around a found plate.

A crop is one plate in a street scene, seen at a small angle and at a real size (40 to 400 pixels wide), degraded by
the camera at that size (blur, low resolution, noise, JPEG, contrast), then cut around the plate's box with the
random margins of an imprecise detector box and resized to the reader's input. A two-row plate is laid out as one row
(:func:`recognizer.reader.unroll_rows`), parted near its middle as the reader parts it, and labelled with all of its
characters, top row first.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from recognizer.reader import fit_crop, unroll_rows
from recognizer.spec import ModelSpec, ReaderSpec, RendererSpec
from recognizer.synth.designs import DESIGNS
from recognizer.synth.plates import PlateImage, render_plate
from recognizer.synth.scenes import render_scene
from recognizer.synth.windows import WindowBatch, WindowGenerator, encode_text, plate_quad

PLATE_WIDTHS = (40.0, 400.0)
"""Range of the plate's width in the frame, in pixels (drawn log-uniformly)."""
MARGIN_X = (-0.02, 0.15)
"""Range of each side's margin between the plate and the cut, as shares of the plate's width (negative: cut inside)."""
MARGIN_Y = (-0.05, 0.25)
"""The same above and below, as shares of the plate's height."""
ANGLES = 0.6
"""Spread of the plate's yaw, pitch and roll relative to a window's (:func:`recognizer.synth.windows.plate_quad`)."""
PLATES_PER_RENDER = 2
"""Crops cut from each rendered plate (at other sizes, angles, scenes and cameras): rendering a plate is the slow part."""
TWO_ROW_SPLITS = (0.4, 0.6)
"""Range of the height share where a two-row crop is parted (the reader tries a few splits around the middle)."""
TWO_ROW_OVERLAP = ReaderSpec().two_rows_overlap
"""Share of the cut's height each row's strip reaches beyond the split, as the reader's by default."""
_PAD = 4
"""Pixels of scene around the cut, so that blur and JPEG see a frame beyond its edges."""


class CropGenerator(WindowGenerator):
    """Draws labelled plate crops for the crop reader.

    Args:
        model: The crop model (:meth:`recognizer.spec.ReaderSpec.crop_model`): the crop size as its window size, the
            reader's positions, the alphabet.
        renderer: Plate formats and fonts; patterns of more than ``model.positions`` characters are not drawn.
            Two-row designs are drawn in ``renderer.two_row_crops`` of the crops, their formats weighted among
            themselves.
        seed: Seed of the scene pool (the sample stream is seeded by the caller's generator).

    Attributes:
        difficulty: From 0 to 1, how strongly the camera degrades crops and how far plates turn.
        rows: Rows of the last plate drawn (a two-row plate's crops are unrolled).
    """

    def __init__(self, model: ModelSpec, renderer: RendererSpec, seed: int = 0) -> None:
        super().__init__(model, renderer, seed)
        rows = np.array([DESIGNS[f.design].rows for f in self.formats])
        weights = np.array([f.weight for f in self.formats], np.float64)
        self._row_p = {n: np.where(rows == n, weights, 0.0) / weights[rows == n].sum()
                       for n in (1, 2) if (rows == n).any()}
        self._plate: PlateImage | None = None
        self.rows = 1
        self._uses = 0

    def plate(self, rng: np.random.Generator) -> PlateImage:
        """One random plate: of a two-row design in ``renderer.two_row_crops`` of the draws (where there are any), of
        a one-row design otherwise."""
        two = 2 in self._row_p and (1 not in self._row_p or rng.random() < self.renderer.two_row_crops)
        self.rows = 2 if two else 1
        return render_plate(rng, self.formats[rng.choice(len(self.formats), p=self._row_p[self.rows])], self.fonts)

    def _scene(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """``(height, width)`` float32 background: a random part of a pooled scene, resized and maybe mirrored."""
        scene = self.scenes[rng.integers(len(self.scenes))]
        scale = rng.uniform(0.3, 1.0)
        ch = max(8, min(scene.shape[0], int(scene.shape[0] * scale)))
        cw = max(8, min(scene.shape[1], int(ch * width / height)))
        y, x = rng.integers(0, scene.shape[0] - ch + 1), rng.integers(0, scene.shape[1] - cw + 1)
        part = cv2.resize(scene[y : y + ch, x : x + cw], (width, height), interpolation=cv2.INTER_LINEAR)
        return (np.fliplr(part) if rng.random() < 0.5 else part).astype(np.float32)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, bool, str, np.ndarray]:
        """One crop.

        Returns:
            ``(H, W)`` uint8 crop, True (a plate is always present), its text and the plate's ``(4,)`` box
            ``[x0, y0, x1, y1]`` in crop pixels (a two-row plate's in its crop before it is unrolled).
        """
        if self._plate is None or self._uses >= PLATES_PER_RENDER:
            self._drawn += 1
            if self._drawn % 200 == 0:
                self.scenes[rng.integers(len(self.scenes))] = self._new_scene(rng)
            self._plate, self._uses = self.plate(rng), 0
        plate = self._plate
        self._uses += 1
        ph, pw = plate.image.shape
        quad = plate_quad(rng, pw, ph, ANGLES * self.difficulty)
        quad -= quad.min(axis=0)
        quad *= math.exp(rng.uniform(*np.log(PLATE_WIDTHS))) / quad[:, 0].max()
        bw, bh = quad.max(axis=0)
        left, right = rng.uniform(*MARGIN_X, 2) * bw
        top, bottom = rng.uniform(*MARGIN_Y, 2) * bh
        cut_w, cut_h = max(4, int(round(bw + left + right))), max(4, int(round(bh + top + bottom)))
        quad += np.array([left + _PAD, top + _PAD], np.float32)
        canvas = self._scene(rng, cut_h + 2 * _PAD, cut_w + 2 * _PAD)
        self._paste(rng, canvas, plate, quad)
        image = self._camera(rng, canvas)[_PAD : _PAD + cut_h, _PAD : _PAD + cut_w]
        crop_h, crop_w = self.model.window_shape
        box = np.concatenate([quad.min(axis=0), quad.max(axis=0)]) - _PAD
        box *= np.array([crop_w / cut_w, crop_h / cut_h] * 2, np.float32)
        if self.rows == 2:
            cut = fit_crop(image, 2 * crop_h, crop_w // 2)
            unrolled = unroll_rows(cut, rng.uniform(*TWO_ROW_SPLITS), TWO_ROW_OVERLAP, crop_h, crop_w)
            return unrolled, True, plate.text, box
        return fit_crop(image, crop_h, crop_w), True, plate.text, box

    def _new_scene(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh scene for the pool (the pool is refreshed as plates are drawn)."""
        return render_scene(rng, 240, 480, self.glyph_sets)

    def batch(self, rng: np.random.Generator, size: int) -> WindowBatch:
        """``size`` crops with their labels.

        Returns:
            Images ``(N, H, W)`` uint8, presence ``(N,)`` all 1, chars ``(N, P)`` blank-padded classes
            (:func:`recognizer.synth.windows.encode_text`), the plate boxes ``(N, 4)`` as shares of the crop, texts.
        """
        images = np.empty((size, *self.model.window_shape), np.uint8)
        chars = np.empty((size, self.model.positions), np.int32)
        boxes = np.empty((size, 4), np.float32)
        scale = np.array([self.model.window_width, self.model.window_height] * 2, np.float32)
        texts = []
        for i in range(size):
            images[i], _, text, box = self.sample(rng)
            chars[i] = encode_text(text, self.model)
            boxes[i] = box / scale
            texts.append(text)
        return WindowBatch(images=images, presence=np.ones(size, np.float32), chars=chars, boxes=boxes, texts=tuple(texts))
