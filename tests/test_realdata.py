"""Plate crops placed in network windows, as the scanner re-reads a candidate."""

import numpy as np

from recognizer.realdata import plate_in_windows
from recognizer.spec import ModelSpec


def test_plate_in_windows_at_each_width_and_vertical_offset():
    crop = np.zeros((40, 200), np.uint8)
    crop[10:30, 15:185] = 255  # the plate spans 0.85 of the crop's width
    windows = plate_in_windows(crop, ModelSpec(), (0.6, 0.75), (-0.1, 0.0, 0.1))
    assert windows.shape == (6, 64, 128)
    for k, window in enumerate(windows):
        share, shift = (0.6, 0.75)[k // 3], (-0.1, 0.0, 0.1)[k % 3]
        columns = np.flatnonzero(window.max(axis=0) > 127)
        assert abs(len(columns) - share * 128) <= 2 and abs(columns.mean() - 63.5) <= 1.5
        rows = np.flatnonzero(window.max(axis=1) > 127)
        assert abs(rows.mean() - (31.5 - shift * 64)) <= 1.5  # a window lower down shows the plate higher in it
    assert plate_in_windows(crop, ModelSpec()).shape == (5, 64, 128)  # the default widths, centred
