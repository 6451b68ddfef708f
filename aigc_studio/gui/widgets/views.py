"""Shared views: a pixel-sharp image view, wrapped labels and the page layouts panels use."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.gui.widgets.qimage import array_to_qimage

SEED_MAX = 2_147_483_647
BACKGROUND = QColor("#101318")


class ImageView(QWidget):
    """Shows a uint8 image as large as fits, pixel-sharp (whole-number zoom when it can).

    Model outputs are 32 or 64 pixels; smoothing them when enlarged would blur exactly the
    detail a learner wants to see, so scaling is nearest-neighbour.
    """

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(64, 64))

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image`` (H, W[, 3]) or the placeholder when None."""
        self._array = None if image is None else np.asarray(image)
        self._image = None if image is None else array_to_qimage(self._array)
        self.update()

    def image(self) -> np.ndarray | None:
        """The array on screen (None when empty)."""
        return self._array

    def target_rect(self) -> QRect:
        """Where the image is drawn inside the widget."""
        if self._image is None:
            return QRect()
        area = self.contentsRect().adjusted(4, 4, -4, -4)
        w, h = self._image.width(), self._image.height()
        scale = min(area.width() / w, area.height() / h)
        if scale >= 1:
            scale = float(int(scale))  # whole-number zoom keeps every pixel the same size
        tw, th = max(1, int(w * scale)), max(1, int(h * scale))
        return QRect(area.x() + (area.width() - tw) // 2, area.y() + (area.height() - th) // 2,
                     tw, th)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Dark backdrop, then the image (or the placeholder text)."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BACKGROUND)
        painter.drawRoundedRect(self.rect(), 6, 6)
        if self._image is None:
            if self.placeholder:
                painter.setPen(QColor("#7d8590"))
                painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                                 int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                                 self.placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.target_rect(), self._image)
        painter.end()



class WrappedLabel(QLabel):
    """A fixed-width, word-wrapped label that always asks for the height its text needs.

    (A wrapped QLabel placed with an alignment flag is laid out by its one-line size hint and
    cuts the text off.)
    """

    def __init__(self, text: str = "", width: int = 560, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setFixedWidth(width)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Set the text and grow to fit it."""
        super().setText(text)
        self._fit()

    def _fit(self) -> None:
        self.setMinimumHeight(self.heightForWidth(self.width()) if self.text() else 0)

    def event(self, event: QEvent) -> bool:
        """Refit when the style sheet or font changes the text's size (after polishing)."""
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.FontChange,
                            QEvent.Type.StyleChange, QEvent.Type.Show):
            self._fit()
        return handled


def seed_spin(tooltip: str) -> QSpinBox:
    """A seed box: 0..2^31-1, renders once per typed number (no keyboard tracking)."""
    spin = QSpinBox()
    spin.setRange(0, SEED_MAX)
    spin.setAccelerated(True)
    spin.setKeyboardTracking(False)  # typing 1234 renders once, not for 1, 12, 123, 1234
    spin.setToolTip(tooltip)
    spin.setMinimumWidth(110)
    return spin


def view_page(view: QWidget, below: QWidget, side: QWidget) -> QWidget:
    """A page with a large view (and a strip below it) left of a column of controls."""
    left = QVBoxLayout()
    left.addWidget(view, 1)
    left.addWidget(below)
    page = QWidget()
    layout = QHBoxLayout(page)
    layout.addLayout(left, 1)
    layout.addWidget(side)
    return page


def side_column(*widgets: QWidget, width: int = 360) -> QScrollArea:
    """A fixed-width scrollable column of control groups."""
    column = QWidget()
    box = QVBoxLayout(column)
    box.setContentsMargins(0, 0, 6, 0)
    for widget in widgets:
        box.addWidget(widget)
    box.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(column)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFixedWidth(width)
    return scroll


class MessagePage(QWidget):
    """A centred message page (empty state, loading, errors) with an optional next step.

    ``heading`` and ``body`` are the labels; :meth:`add_action` adds a button under the text
    (an empty state always offers the next step, e.g. "Open the latest run").
    """

    def __init__(self, title: str = "", text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel(title)
        self.heading.setObjectName("panelTitle")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heading.setStyleSheet("font-size: 15pt;")
        self.heading.setWordWrap(True)
        self.body = WrappedLabel(text, width=520)
        self.body.setObjectName("hint")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.heading)
        layout.addSpacing(8)
        layout.addWidget(self.body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(self.buttons)
        layout.addStretch(2)

    def add_action(self, text: str, tooltip: str = "", *, primary: bool = True) -> QPushButton:
        """A button under the text (the next step); connect its ``clicked``."""
        button = QPushButton(text)
        if primary:
            button.setObjectName("primary")
        button.setToolTip(tooltip)
        self.buttons.insertWidget(self.buttons.count() - 1, button)
        return button
