"""The explorer's own views: an image view that fills its space and a film strip of frames.

A grid of 36 samples is ~200 pixels; drawn at a whole-number zoom it used a third of the
canvas (issue 13). :class:`FillView` scales to the space it has, keeping the aspect and
nearest-neighbour pixels. :class:`FilmStrip` shows every frame of a walk, marks the one on
screen and lets a click (or a drag) pick a frame.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

from aigc_studio.gui.widgets.qimage import array_to_qimage
from aigc_studio.gui.widgets.views import BACKGROUND, ImageView

WHOLE_ZOOM_SHARE = 0.9  # a whole-number zoom is kept when it fills at least this much
MARK = QColor("#f0b429")  # the current frame's outline


def fill_rect(area: QRect, width: int, height: int) -> QRect:
    """The largest rectangle of ``width``:``height`` centred in ``area``.

    A whole-number zoom (every pixel the same size) is used when it loses under a tenth of
    the space; otherwise the image fills the area at a fractional zoom.
    """
    scale = min(area.width() / width, area.height() / height)
    if scale >= 1 and int(scale) / scale >= WHOLE_ZOOM_SHARE:
        scale = float(int(scale))
    tw, th = max(1, round(width * scale)), max(1, round(height * scale))
    return QRect(area.x() + (area.width() - tw) // 2, area.y() + (area.height() - th) // 2,
                 tw, th)


class FillView(ImageView):
    """An :class:`ImageView` that fills the space it has (on resize too), aspect kept."""

    def target_rect(self) -> QRect:
        """Where the image is drawn: as large as the widget allows."""
        if self._image is None:
            return QRect()
        return fill_rect(self.contentsRect().adjusted(4, 4, -4, -4), self._image.width(),
                         self._image.height())


class _Cells(QWidget):
    """The painted row of frames inside :class:`FilmStrip`'s scroll area."""

    picked = Signal(int)

    GAP = 3
    MIN_CELL = 20  # below this a frame is unreadable: the strip scrolls instead

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: list[QImage] = []
        self.current = -1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def cell(self) -> int:
        """The side of one frame's square: as tall as the strip, narrower to fit them all."""
        n = max(1, len(self.images))
        tall = self.height() - 2 * self.GAP
        wide = (self.width() - self.GAP) // n - self.GAP
        return max(self.MIN_CELL, min(tall, wide))

    def cell_rect(self, index: int) -> QRect:
        """Where frame ``index`` is drawn."""
        side = self.cell()
        n = len(self.images)
        used = n * (side + self.GAP) + self.GAP
        left = max(0, (self.width() - used) // 2)
        top = max(self.GAP, (self.height() - side) // 2)
        return QRect(left + self.GAP + index * (side + self.GAP), top, side, side)

    def index_at(self, x: int) -> int | None:
        """The frame under ``x`` (the nearest one at the ends), None without frames."""
        if not self.images:
            return None
        first = self.cell_rect(0)
        step = first.width() + self.GAP
        return max(0, min(len(self.images) - 1, (x - first.x() + self.GAP // 2) // step))

    def minimumSizeHint(self) -> QSize:
        """Wide enough for every frame at the smallest readable size."""
        return QSize(len(self.images) * (self.MIN_CELL + self.GAP) + self.GAP,
                     self.MIN_CELL + 2 * self.GAP)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Every frame, pixel-sharp, the current one outlined."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for i, image in enumerate(self.images):
            painter.drawImage(self.cell_rect(i), image)
        if 0 <= self.current < len(self.images):
            painter.setPen(QPen(MARK, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.cell_rect(self.current).adjusted(-2, -2, 1, 1))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click picks the frame under the pointer."""
        self._pick(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Dragging along the strip scrubs through the frames."""
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)

    def _pick(self, event: QMouseEvent) -> None:
        index = self.index_at(int(event.position().x()))
        if index is not None:
            self.picked.emit(index)


class FilmStrip(QScrollArea):
    """Every frame of a sequence in one row (scrolling when they cannot all be read), the
    current one outlined; ``picked(index)`` when the user clicks a frame."""

    picked = Signal(int)

    def __init__(self, tooltip: str = "", height: int = 84,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells = _Cells()
        self.cells.picked.connect(self.picked)
        self.cells.setToolTip(tooltip)
        self.setWidget(self.cells)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._max_height = height
        self.setFixedHeight(height)

    def set_frames(self, frames: np.ndarray | None) -> None:
        """Show ``frames`` (N, H, W, 3) uint8 (None: empty); the current mark is kept."""
        self.cells.images = [] if frames is None else [array_to_qimage(f) for f in frames]
        self.cells.setMinimumWidth(self.cells.minimumSizeHint().width())
        self._fit_height()
        self.cells.update()
        self.set_current(self.cells.current)

    def count(self) -> int:
        """Frames in the strip."""
        return len(self.cells.images)

    def current(self) -> int:
        """The outlined frame (-1 for none)."""
        return self.cells.current

    def set_current(self, index: int) -> None:
        """Outline frame ``index`` and scroll it into sight."""
        self.cells.current = int(index)
        self.cells.update()
        if 0 <= index < self.count():
            rect = self.cells.cell_rect(index)
            self.ensureVisible(rect.center().x(), rect.center().y(), rect.width(), 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the current frame in sight and the strip no taller than its frames."""
        super().resizeEvent(event)
        self._fit_height()
        self.set_current(self.cells.current)

    def _fit_height(self) -> None:
        """As tall as the frames are wide (plus the scroll bar when they scroll), so frames
        narrowed to fit the width leave no empty band for the view above to lose."""
        gap, n = _Cells.GAP, max(1, self.count())
        wide = (self.width() - gap) // n - gap
        side = max(_Cells.MIN_CELL, min(wide, self._max_height - 2 * gap))
        scrolls = n * (_Cells.MIN_CELL + gap) + gap > self.width()
        bar = self.horizontalScrollBar().sizeHint().height() if scrolls else 0
        height = min(self._max_height, side + 2 * gap + bar)
        if self.count() and height != self.height():
            self.setFixedHeight(height)
