"""The studio's look: Fusion with a dark palette and a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4fa3f7"

STYLE_SHEET = f"""
QWidget {{ font-size: 10pt; }}
QGroupBox {{
    border: 1px solid #3a3f47; border-radius: 6px; margin-top: 14px; padding: 6px 4px 4px 4px;
    font-weight: 600;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #c9d1d9; }}
QPushButton {{ background: #21262d; border: 1px solid #3a3f47; border-radius: 4px;
    padding: 5px 12px; }}
QPushButton:hover {{ background: #2a313a; border-color: #4b525c; }}
QPushButton:pressed, QPushButton:checked {{ background: #30363d; }}
QPushButton:disabled {{ color: #6e7681; border-color: #30363d; }}
QPushButton:flat {{ background: transparent; border: none; }}
QPushButton#primary {{
    background: {ACCENT}; color: #0d1117; font-weight: 700; border: none; padding: 7px 14px;
}}
QPushButton#primary:disabled {{ background: #2c3b4d; color: #8a8f98; }}
QPushButton#primary:hover {{ background: #6cb4fa; }}
QLabel#panelTitle {{ font-weight: 700; font-size: 11pt; }}
QLabel#runHeader {{ font-size: 11pt; font-weight: 600; padding: 2px 4px; }}
QLabel#hint {{ color: #9aa4b0; }}
QLabel#error {{ color: #ff8a80; }}
QLabel#warning {{ color: #e8b04b; }}
QLabel#sampleImage {{ background: #101318; color: #7d8590; font-size: 11pt; }}
QFrame#banner[level="error"] {{ background: #5c1f1f; border: 1px solid #a33; border-radius: 4px; }}
QFrame#banner[level="warning"] {{
    background: #4d3b12; border: 1px solid #a67c1c; border-radius: 4px;
}}
QFrame#banner[level="info"] {{
    background: #17324d; border: 1px solid #2f6399; border-radius: 4px;
}}
QFrame#banner QLabel {{ color: #f0f3f6; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QTabWidget::pane {{ border: 1px solid #3a3f47; border-radius: 4px; }}
QTabBar::tab {{ padding: 6px 16px; }}
"""


# Fusion drops a button's frame once a style sheet gives it padding and rounded corners, so the
# application's sheet draws every button's background and border itself (plain buttons read
# as text otherwise). Panels that set their own sheet restate the rules (a panel's sheet wins
# over the application's).
PANEL_STYLE = f"""
QPushButton {{ background: #21262d; border: 1px solid #3a3f47; border-radius: 4px;
    padding: 5px 12px; }}
QPushButton:hover {{ background: #2a313a; border-color: #4b525c; }}
QPushButton:pressed, QPushButton:checked {{ background: #30363d; }}
QPushButton:disabled {{ color: #6e7681; border-color: #30363d; }}
QPushButton#primary {{ background: {ACCENT}; color: #0d1117; font-weight: 700; border: none;
    padding: 6px 14px; }}
QPushButton#primary:hover {{ background: #6cb4fa; }}
QPushButton#primary:checked {{ background: #a5d2ff; }}
QPushButton#primary:disabled {{ background: #2c3b4d; color: #8a8f98; }}
"""


def apply_style(app: QApplication) -> None:
    """Fusion + dark palette + style sheet (the plots take their colours from the palette)."""
    app.setStyle("Fusion")
    palette = QPalette()
    base, window, text = QColor("#0d1117"), QColor("#161b22"), QColor("#e6edf3")
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#1b2129"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#1f2630"))
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, QColor("#21262d"))
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#0d1117"))
    palette.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#7d8590"))
    disabled = QColor("#6e7681")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
