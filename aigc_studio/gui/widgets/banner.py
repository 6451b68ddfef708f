"""Small widgets every panel shares."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

_PREFIX = {"error": "⚠  ", "warning": "⚠  "}


class Banner(QFrame):
    """A one-sentence info / warning / error strip (styled by style.py through ``level``).

    ``action`` labels the button for that message; with none, a dismissible banner offers
    "Dismiss", which hides it.
    """

    def __init__(self, parent: QWidget | None = None, *, dismissible: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.dismissible = dismissible
        self.level = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setFlat(True)
        self.dismiss.clicked.connect(self.hide)
        self.dismiss.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action)
        layout.addWidget(self.dismiss)
        self.hide()

    def show_message(self, text: str, level: str = "info", action: str = "") -> None:
        """Show ``text`` ('info', 'warning' or 'error'); ``action`` labels the button."""
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(_PREFIX.get(level, "") + text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self.dismiss.setVisible(self.dismissible and not action)
        self.show()

    def text(self) -> str:
        """The message shown (empty when hidden)."""
        return self.label.text() if not self.isHidden() else ""
