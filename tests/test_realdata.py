"""Plate crops placed in network windows, as the scanner re-reads a candidate."""

import numpy as np

from detector.scanner import centred_windows
from recognizer.realdata import plate_in_windows
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
