"""JPEG crops of each published plate and its vehicle, kept under a disk quota (oldest out first)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


def crop(image: np.ndarray, box: tuple[float, float, float, float], grow_x: float, grow_y: float) -> np.ndarray:
    """The part of an image around a box, grown by a share of the box's size on each side, clipped to the image.

    Args:
        image: ``(H, W, 3)`` image.
        box: ``(x, y, w, h)``.
        grow_x: Share of the box width added on the left and on the right.
        grow_y: Share of the box height added above and below.

    Returns:
        ``(h', w', 3)`` crop (a copy), at least 1x1.
    """
    x, y, w, h = box
    x0, y0 = int(max(0, x - grow_x * w)), int(max(0, y - grow_y * h))
    x1 = int(min(image.shape[1], max(x0 + 1, x + w + grow_x * w)))
    y1 = int(min(image.shape[0], max(y0 + 1, y + h + grow_y * h)))
    return image[y0:y1, x0:x1].copy()


class SnapshotStore:
    """A folder of JPEG snapshots that never grows past its quota.

    Args:
        folder: Where the files go (created).
        quota_mb: Most megabytes the folder may hold; the oldest files go first.
    """

    def __init__(self, folder: Path, quota_mb: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.quota = int(quota_mb * 1024 * 1024)
        self._files = sorted(folder.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
        self._size = sum(p.stat().st_size for p in self._files)

    def save(self, name: str, image: np.ndarray) -> str | None:
        """Writes ``name`` (a file name ending in ``.jpg``) and trims the folder to the quota.

        Returns:
            The file name, or None if it could not be written.
        """
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            log.warning("could not encode snapshot %s", name)
            return None
        path = self.folder / name
        try:
            path.write_bytes(data.tobytes())
        except OSError as error:
            log.warning("could not write snapshot %s: %s", path, error)
            return None
        self._files.append(path)
        self._size += len(data)
        while self._size > self.quota and len(self._files) > 1:
            oldest = self._files.pop(0)
            try:
                self._size -= oldest.stat().st_size
                oldest.unlink()
            except OSError:
                continue
        return name
