"""Plate crops placed in network windows, as the scanner re-reads a candidate."""

import numpy as np

from detector.scanner import centred_windows
from recognizer.realdata import plate_in_windows, window_placements
from recognizer.spec import ModelSpec


def test_a_crop_is_read_from_the_windows_the_scanner_re_reads_a_plate_from():
    crop = np.zeros((40, 200), np.uint8)
    crop[10:30, 15:185] = 255  # the plate spans 0.85 of the crop's width, centred
    shares, shifts = (0.6, 0.75), (-0.1, 0.0, 0.1)
    windows = plate_in_windows(crop, ModelSpec(), shares, shifts)
    rereads = centred_windows(crop, np.array([[15.0, 10.0, 170.0, 20.0]]), shares, ModelSpec().window_shape, shifts)
    assert windows.shape == rereads.shape == (6, 64, 128)
    for window, reread in zip(windows, rereads):
        for axis in (0, 1):
            ink, expected = np.flatnonzero(window.max(axis=axis) > 127), np.flatnonzero(reread.max(axis=axis) > 127)
            assert abs(len(ink) - len(expected)) <= 2 and abs(ink.mean() - expected.mean()) <= 1.5
    assert plate_in_windows(crop, ModelSpec()).shape == (5, 64, 128)  # the default widths, centred


def test_a_box_in_a_window_maps_back_to_the_crop_it_was_placed_from():
    crop = np.zeros((90, 200), np.uint8)
    crop[50:80, 30:170] = 255  # a plate below the crop's centre: the windows cut part of the crop off
    shares, shifts = (0.6, 0.75), (-0.1, 0.0, 0.2)
    windows = plate_in_windows(crop, ModelSpec(), shares, shifts)
    placements = window_placements(crop.shape, ModelSpec(), shares, shifts)
    assert len(placements) == len(windows) == 6
    for window, place in zip(windows, placements):
        rows, cols = np.flatnonzero(window.max(axis=1) > 127), np.flatnonzero(window.max(axis=0) > 127)
        shares_box = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]) / [128, 64, 128, 64]
        x, y, w, h = place.crop_box(shares_box, ModelSpec().window_shape)
        assert abs(x - 30) <= 2 and abs(x + w - 170) <= 2, (place, x, w)
        if rows[-1] < 63:  # the plate's bottom inside the window
            assert abs(y - 50) <= 2 and abs(y + h - 80) <= 2, (place, y, h)
