"""The Reconstruct page fits the screen (issue 13 item 5): with results, skipped files, long
names and a saved-to path shown, in a real main window at 1280x800 and 1024x700, the page asks
for less width than it gets, the window does not grow, and "Save results…", the table's
scrollbar and the colour legend lie inside the visible page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from aigc_studio.gui.panels.reconstruct.panel import ReconstructionPanel

TIMEOUT_MS = 60_000


@pytest.fixture
def app_style() -> Iterator[None]:
    """The studio's own style (Fusion, dark palette, style sheet: its padding and fonts are what
    a user sees), put back afterwards for the other tests."""
    from aigc_studio.gui.widgets.style import apply_style

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style, palette, sheet = app.style().name(), app.palette(), app.styleSheet()
    apply_style(app)
    yield
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setStyle(style)


def inputs(folder: Path) -> list[Path]:
    """Files whose names, notes and failures are long: what widened the page before."""
    folder.mkdir(parents=True)
    digits = np.load(Path(__file__).parents[2] / "resources/data/mnist_5k.npz")["images"]
    paths = []
    for i in range(3):
        path = folder / f"a_very_long_file_name_without_any_spaces_for_digit_number_{i:02d}.png"
        Image.fromarray(digits[i]).resize((64, 48)).save(path)
        paths.append(path)
    clear = np.zeros((40, 40, 4), np.uint8)
    clear[8:32, 18:22] = 255  # a white bar on a transparent background
    paths.append(folder / "white_on_clear.png")
    Image.fromarray(clear, "RGBA").save(paths[-1])
    paths.append(folder / ("broken_" + "x" * 80 + ".png"))
    paths[-1].write_bytes(b"not a png")
    return paths


def inside(widget: QWidget, page: QWidget) -> bool:
    """The widget's whole rectangle lies inside the page's visible rectangle."""
    top_left = widget.mapTo(page, widget.rect().topLeft())
    return page.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.usefixtures("app_style")
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1024, 700)])
def test_reconstruct_page_fits_the_screen(qtbot, make_window: Callable,
                                          tiny_runs: dict[str, Path], tmp_path: Path,
                                          width: int, height: int) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    window.resize(width, height)
    panel: ReconstructionPanel = window.show_panel("reconstruct")
    assert panel.minimumSizeHint().width() <= width - 40  # the empty drop page fits too
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(tiny_runs["ae"])
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.add_paths(inputs(tmp_path / "in"))
    assert len(panel.results()) == 4 and len(panel.failures()) == 1
    panel.save_results(tmp_path / ("results_" + "y" * 120))  # a long path stays on the page
    panel.banner.show_message("Could not save the results in " + "/z" * 90 + ".", "error")
    QApplication.processEvents()
    window.resize(width, height)  # a page that asked for more would have grown the window
    QApplication.processEvents()

    assert window.width() <= width
    assert window.minimumSizeHint().width() <= width
    assert panel.minimumSizeHint().width() <= panel.width() <= width
    assert panel.stack.currentIndex() == ReconstructionPanel.PAGE_RESULTS
    for widget in (panel.save_button, panel.table, panel.table.verticalScrollBar(),
                   panel.summary_label, panel.saved_row, panel.skipped):
        if widget.isVisible():
            assert inside(widget, panel), widget
    assert panel.save_button.isVisible() and panel.saved_row.isVisible()
    legend = panel.summary_label.parentWidget()
    assert legend is not None
    assert all(inside(w, panel) for w in legend.findChildren(QWidget) if w.isVisible())
    # what was cut to fit is still there in full
    assert "results_" + "y" * 120 in panel.saved_label.full_text()
    assert panel.model_label.full_text().startswith("Autoencoder · epoch 2")
