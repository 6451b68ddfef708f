"""What a dropped image says made it, shown when its run is not on this machine (issue 18).

The record is untrusted text from the image: it is shown as plain, selectable text (never
rich text, never a link), checked field by field by ``core.provenance`` before it gets here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from aigc_studio.core.provenance import Provenance


def _plain(text: str) -> QLabel:
    """A selectable label that never interprets the image's text as HTML."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ProvenanceDialog(QDialog):
    """The image's own record: model, run, epoch, seed, class, app version and settings."""

    def __init__(self, image: Path, provenance: Provenance, searched: list[Path],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Where {image.name} came from")
        self.provenance = provenance
        intro = _plain(
            f"{image.name} says it was made by the run below, which is not in "
            + " or ".join(str(p) for p in searched)
            + ". This is what the image records; put the run folder in one of those places "
            "to reopen it.")
        intro.setObjectName("hint")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows = provenance.lines()
        for label, value in self.rows:
            form.addRow(_plain(f"{label}:"), _plain(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def text(self) -> str:
        """Everything shown, one 'label: value' per line (for tests and copying)."""
        return "\n".join(f"{label}: {value}" for label, value in self.rows)
