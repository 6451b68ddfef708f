"""Conversions between plain ``numpy`` images and Qt images (no torch here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from aigc_studio.core.safe_read import SafeReadError, read_regular_bytes


def array_to_qimage(array: np.ndarray) -> QImage:
    """Copy a uint8 (H, W), (H, W, 1) or (H, W, 3) array into a QImage the GUI owns."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    arr = np.ascontiguousarray(arr)
    height, width = arr.shape[:2]
    if arr.ndim == 2:
        image = QImage(arr.data, width, height, width, QImage.Format.Format_Grayscale8)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        image = QImage(arr.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        image = QImage(arr.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    else:
        raise ValueError(f"cannot show an image of shape {arr.shape}")
    return image.copy()  # detach from the numpy buffer


def to_pixmap(source: np.ndarray | Path | QImage) -> QPixmap:
    """A pixmap from an array, an image file or a QImage (a null pixmap if unreadable)."""
    if isinstance(source, QImage):
        return QPixmap.fromImage(source)
    if isinstance(source, Path):
        return QPixmap.fromImage(load_qimage(source))
    return QPixmap.fromImage(array_to_qimage(source))


def load_qimage(source: np.ndarray | Path) -> QImage:
    """A QImage from an array or a file (null QImage if the file is unreadable).

    A file is read through the run-folder guard first: a FIFO or device in a run's samples
    folder must never block the GUI thread, and a sample grid is never over 64 MB.
    """
    if isinstance(source, Path):
        try:
            data = read_regular_bytes(source, MAX_IMAGE_BYTES)
        except (OSError, SafeReadError):
            return QImage()
        return QImage.fromData(data)
    return array_to_qimage(source)


MAX_IMAGE_BYTES = 64 << 20
