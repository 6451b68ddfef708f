"""What the window remembers between sessions, and a geometry that fits the screen it opens on.

A geometry saved on another screen (or by an offscreen run) can restore as a cramped window
that cuts plot titles and the status bar; :func:`fitted_geometry` decides when a saved one is
used and when the window falls back to a size that fits the current screen's available area.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

DEFAULT_SIZE = QSize(1280, 800)


def fitted_geometry(saved: QRect | None, saved_screen: QSize | None, available: QRect,
                    default: QSize = DEFAULT_SIZE) -> QRect | None:
    """None to restore the saved geometry as it is, else the rectangle to use instead.

    The saved geometry is kept when it lies inside the available area and was saved on a
    screen of the same size (or is at least as large as the default fitted to this screen).
    Otherwise the window takes the default size, shrunk to the available area, centred.
    """
    fallback = QSize(min(default.width(), available.width()),
                     min(default.height(), available.height()))
    if saved is not None and saved.isValid() and available.contains(saved):
        same_screen = saved_screen is not None and saved_screen == available.size()
        roomy = saved.width() >= fallback.width() and saved.height() >= fallback.height()
        if same_screen or roomy:
            return None
    rect = QRect(0, 0, fallback.width(), fallback.height())
    rect.moveCenter(available.center())
    return rect


def restore_geometry(window: QMainWindow, settings: QSettings) -> None:
    """Restore the saved geometry when it fits this screen, else a default size that does."""
    geometry = settings.value("window/geometry")
    saved_rect = settings.value("window/rect")
    saved_screen = settings.value("window/screen")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(DEFAULT_SIZE)
        return
    available = screen.availableGeometry()
    if not isinstance(geometry, QByteArray) or geometry.isEmpty():
        saved = None
    elif isinstance(saved_rect, QRect):
        saved = saved_rect
    else:  # an older settings file: judge the restored geometry itself
        saved = window.geometry()
    target = fitted_geometry(saved, saved_screen if isinstance(saved_screen, QSize) else None,
                             available)
    if target is not None:
        if window.isMaximized() or window.isFullScreen():
            window.showNormal()
        window.setGeometry(target)


def save_geometry(window: QMainWindow, settings: QSettings) -> None:
    """Save the geometry, the normal rectangle and the screen's available size."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/rect", window.normalGeometry())
    screen = window.screen()
    if screen is not None:
        settings.setValue("window/screen", screen.availableGeometry().size())
