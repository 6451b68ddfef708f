"""The reconstruction table: one row per image (original, reconstruction, error heatmap,
MSE, PSNR, SSIM, notes) with the batch mean pinned first; thumbnails are cached pixmaps."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPixmap

from aigc_studio.core.quality import format_psnr, mean_metrics
from aigc_studio.gui.panels.reconstruct.worker import ResultRow
from aigc_studio.gui.widgets.qimage import array_to_qimage

PIXMAP_CACHE = 600  # thumbnails kept as pixmaps; rows are made from numpy again on demand

_ROOT = QModelIndex()


class ResultsModel(QAbstractTableModel):
    """Rows of reconstructions, with the batch mean pinned as the first row."""

    COLUMNS = ("File", "Original", "Reconstruction", "|Error|", "MSE", "PSNR", "SSIM",
               "What was done to the file")
    FILE, ORIGINAL, RECON, ERROR, MSE, PSNR, SSIM, NOTES = range(8)
    TOOLTIPS = (
        "The image file (hover a row for the full path).",
        "The image as the model sees it: upright, resized and cropped to the model's size.",
        "What the model rebuilt from its compressed latent code.",
        "Absolute difference, bright = large error (the scale is the same for every row).",
        "Mean squared error on a 0-1 scale: lower is better.",
        "Peak signal-to-noise ratio in dB: higher is better (above ~20 dB looks close).",
        "Structural similarity from -1 to 1: 1 means the same structure.",
        "How the file was brought to the model's size and channels (as training data is).",
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.scale = 3
        self._pixmaps: OrderedDict[tuple[int, int], QPixmap] = OrderedDict()
        self._mean: dict[str, float] | None = None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Results plus the mean row."""
        if parent.isValid() or not self.rows:
            return 0
        return len(self.rows) + 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """The fixed set of columns."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column names and their tooltips."""
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.TOOLTIPS[section]
        return None

    def append(self, rows: Sequence[ResultRow]) -> None:
        """Add results at the end (the mean row updates)."""
        if not rows:
            return
        if not self.rows:
            self.beginInsertRows(QModelIndex(), 0, len(rows))
        else:
            first = len(self.rows) + 1
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self._mean = mean_metrics([r.result for r in self.rows])
        self.endInsertRows()
        self.dataChanged.emit(self.index(0, 0), self.index(0, len(self.COLUMNS) - 1))

    def clear(self) -> None:
        """Remove every row."""
        self.beginResetModel()
        self.rows = []
        self._mean = None
        self._pixmaps.clear()
        self.endResetModel()

    def mean(self) -> dict[str, float] | None:
        """The batch means shown in the first row."""
        return self._mean

    def _pixmap(self, row: int, column: int) -> QPixmap:
        key = (row, column)
        cached = self._pixmaps.get(key)
        if cached is not None:
            self._pixmaps.move_to_end(key)
            return cached
        item = self.rows[row]
        array = {self.ORIGINAL: item.result.original, self.RECON: item.result.reconstruction,
                 self.ERROR: item.error}[column]
        if self.scale > 1:
            array = array.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        pixmap = QPixmap.fromImage(array_to_qimage(array))
        self._pixmaps[key] = pixmap
        if len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pixmap

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, thumbnails, tooltips and the mean row's look."""
        if not index.isValid():
            return None
        col = index.column()
        if index.row() == 0:
            return self._mean_data(col, role)
        item = self.rows[index.row() - 1]
        r = item.result
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.FILE:
                return r.path.name
            if col == self.MSE:
                return f"{r.mse:.5f}"
            if col == self.PSNR:
                return format_psnr(r.psnr)
            if col == self.SSIM:
                return f"{r.ssim:.3f}"
            if col == self.NOTES:
                return "\n".join(r.notes) if r.notes else "used as is"
        elif role == Qt.ItemDataRole.DecorationRole and col in (self.ORIGINAL, self.RECON,
                                                                 self.ERROR):
            return self._pixmap(index.row() - 1, col)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == self.FILE:
                return str(r.path)
            if col == self.NOTES:
                return "; ".join(r.notes) if r.notes else "The file already matched the model."
            return self.TOOLTIPS[col]
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (self.MSE, self.PSNR,
                                                                    self.SSIM):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.ForegroundRole and col == self.NOTES and not r.notes:
            return QBrush(QColor("#7d8590"))
        return None

    def _mean_data(self, col: int, role: int) -> Any:
        mean = self._mean
        if mean is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            n = len(self.rows)
            return {
                self.FILE: f"Mean of {n} image{'s' if n != 1 else ''}",
                self.MSE: f"{mean['mse']:.5f}",
                self.PSNR: format_psnr(mean["psnr"]),
                self.SSIM: f"{mean['ssim']:.3f}",
            }.get(col)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor("#1c2a3a"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.MSE, self.PSNR, self.SSIM):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "The average over every reconstructed image (PSNR over finite values)."
        return None
