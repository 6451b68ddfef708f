"""Help dialogs: "How this model learns" (with live values) and About."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from aigc_studio import __version__, families
from aigc_studio.gui.model_info import with_article


class LearnHelpDialog(QDialog):
    """Help > How this model learns: the family's formulas with the run's values plugged in
    (``ModelFamily.learn_help``), re-rendered as new values arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resize(640, 660)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.family: families.ModelFamily | None = None
        self._options: dict[str, Any] = {}
        self.set_family(families.all_families()[0], {})

    def set_family(self, family: families.ModelFamily, options: Mapping[str, Any]) -> None:
        """Explain ``family`` as configured by ``options`` (the run's extras)."""
        self.family, self._options = family, dict(options)
        self.setWindowTitle(f"How {with_article(family.title)} learns")
        self.update_values({})

    def update_values(self, values: Mapping[str, float]) -> None:
        """Re-render with the newest metric values (the reader's scroll position stays)."""
        family = self.family
        if family is None:
            return
        html = (family.learn_help(values, self._options) if family.learn_help else
                f"<h2>{family.title}</h2><p>{family.description}</p>")
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(html)
        self.text.verticalScrollBar().setValue(scroll)

    def html(self) -> str:
        """The text shown, as plain text (tests read it)."""
        return self.text.toPlainText()


def about_html(torch_version: str | None, devices: list[str], device_note: str) -> str:
    """Versions and the device found, for Help > About."""
    import pyqtgraph

    torch_text = torch_version or "not loaded yet"
    return (
        f"<h3>AIGC Studio {__version__}</h3>"
        "<p>Train and explore generative image models "
        f"({', '.join(f.title for f in families.all_families())}) on your own machine.</p>"
        f"<p>Python {platform.python_version()} · Qt {qVersion()} · "
        f"PySide6 {PySide6.__version__} · pyqtgraph {pyqtgraph.__version__} · "
        f"PyTorch {torch_text}</p>"
        f"<p>Devices: {', '.join(devices) or 'unknown yet'}"
        f"{'<br>' + device_note if device_note else ''}</p>"
        f"<p>{platform.platform()}</p>"
    )
