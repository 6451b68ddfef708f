"""Labels that give way: a run name, a path or a summary sentence must never make the page (and
so the window) wider than the screen, which a plain QLabel does by asking for its whole text."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

SHRINK_TO = 120  # the narrowest a wrapping label asks for: a long word is cut, not the page


class ElidedLabel(QLabel):
    """One line that shortens itself with "…" to the width it is given; the full text is in
    the tooltip and :meth:`full_text`."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text``, shortened to fit; hover shows all of it."""
        self._full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def full_text(self) -> str:
        """The text before shortening."""
        return self._full

    def sizeHint(self) -> QSize:
        """As wide as the whole text, so it is shown whole when there is room."""
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """Room for a few letters and the "…"."""
        return QSize(self.fontMetrics().horizontalAdvance("Mmm…"), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 0)
        super().setText(self.fontMetrics().elidedText(self._full, self._mode, width))


def wrapping_label(text: str = "", object_name: str = "") -> QLabel:
    """A word-wrapped label whose minimum width does not depend on its longest word (a path)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setMinimumWidth(SHRINK_TO)
    if object_name:
        label.setObjectName(object_name)
    return label
