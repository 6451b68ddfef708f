"""Issue 13 items 14 and 15 in the explorer: the Explore grid fills its view (on resize too),
the Interpolate film strip shows every frame, marks the one on screen and picks a frame on a
click, and Compare epochs shows the picked epochs newest first in rows as wide as the view."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect, Qt

from aigc_studio.core.grid import make_grid
from aigc_studio.core.provenance import read_provenance
from aigc_studio.gui.panels.explore.epochs import PICK_ALL, PICK_EVERY, PICK_LAST, pick_epochs
from aigc_studio.gui.panels.explore.panel import ExplorerPanel
from aigc_studio.gui.panels.explore.views import fill_rect
from tests.gui.conftest import shown_panel

TIMEOUT_MS = 60_000


@pytest.fixture
def panel(qtbot, tiny_runs: dict[str, Path]) -> Iterator[ExplorerPanel]:
    """The panel at a laptop size with the session's tiny DCGAN loaded and rendered."""
    with shown_panel(qtbot, ExplorerPanel(auto_directions=False)) as widget:
        with qtbot.waitSignal(widget.model_loaded, timeout=TIMEOUT_MS):
            widget.set_model(tiny_runs["gan"])
        settle(qtbot, widget)
        yield widget


def settle(qtbot, panel: ExplorerPanel) -> None:
    """Wait until the newest render request is the image on screen."""
    qtbot.waitUntil(lambda: panel.shown_serial() == panel.latest_serial() > 0,
                    timeout=TIMEOUT_MS)


def fills(rect: QRect, area: QRect) -> bool:
    """The image reaches (nearly) two opposite edges of the area: nothing left to grow into."""
    return rect.width() >= 0.97 * area.width() or rect.height() >= 0.97 * area.height()


def test_fill_rect_keeps_the_aspect_and_whole_zoom_only_when_it_costs_little() -> None:
    area = QRect(0, 0, 800, 600)
    wide = fill_rect(area, 206, 206)  # 2.9x: a whole 2x would waste a third of the view
    assert (wide.width(), wide.height()) == (600, 600) and wide.x() == 100
    exact = fill_rect(area, 100, 58)  # 8x loses under a tenth: every pixel the same size
    assert (exact.width(), exact.height()) == (800, 464)
    small = fill_rect(QRect(0, 0, 100, 100), 400, 200)  # larger than the view: shrinks
    assert (small.width(), small.height()) == (100, 50)


def test_the_grid_of_36_fills_the_view_and_follows_a_resize(qtbot,
                                                           panel: ExplorerPanel) -> None:
    panel.set_count(36)
    settle(qtbot, panel)
    image = panel.current_image()
    assert image is not None and image.shape[0] < 300  # 36 small images, ~200 px
    area = panel.view.contentsRect().adjusted(4, 4, -4, -4)
    before = panel.view.target_rect()
    assert fills(before, area) and before.height() > 2.5 * image.shape[0]
    panel.resize(1400, 900)
    qtbot.waitUntil(lambda: panel.view.target_rect().height() > before.height(),
                    timeout=TIMEOUT_MS)
    assert fills(panel.view.target_rect(), panel.view.contentsRect().adjusted(4, 4, -4, -4))


def test_the_film_strip_shows_every_frame_marks_and_picks_one(qtbot,
                                                              panel: ExplorerPanel) -> None:
    panel.tabs.setCurrentWidget(panel.walk_page)
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_interpolation(1, 2, steps=24)
    strip, frames = panel.strip_view, panel.frames()
    assert frames is not None and strip.count() == 24  # every frame, not 12 of them
    cells = strip.cells
    rects = [cells.cell_rect(i) for i in range(24)]
    assert all(cells.rect().contains(r) for r in rects)  # all in sight at this width
    assert all(a.right() < b.left() for a, b in pairwise(rects))

    panel.set_position(5)
    assert strip.current() == 5
    qtbot.mouseClick(cells, Qt.MouseButton.LeftButton, pos=rects[17].center())
    assert panel.position_index() == 17 and panel.position.value() == 17
    assert strip.current() == 17
    assert np.array_equal(panel.walk_view.image(), frames[17])
    assert panel.position_label.text() == "18 / 24"
    grab = cells.grab().toImage()  # the current frame is outlined in the mark colour
    edge = rects[17].adjusted(-2, -2, 1, 1)
    assert grab.pixelColor(edge.center().x(), edge.top()).name() == "#f0b429"
    assert grab.pixelColor(rects[3].center().x(), rects[3].top() - 2).name() != "#f0b429"

    # a long walk scrolls instead of shrinking its frames to slivers, and follows the scrubber
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_interpolation(1, 2, steps=120)
    assert strip.count() == 120 and cells.cell() >= cells.MIN_CELL
    assert strip.horizontalScrollBar().maximum() > 0
    panel.set_position(119)
    assert strip.horizontalScrollBar().value() > 0
    visible = strip.viewport().rect().translated(strip.horizontalScrollBar().value(), 0)
    assert visible.intersects(cells.cell_rect(119))


def test_pick_epochs_newest_first() -> None:
    thirty = list(range(1, 31))
    assert pick_epochs(thirty, PICK_LAST, 3) == [30, 29, 28]
    assert pick_epochs(thirty, PICK_EVERY, 10) == [30, 20, 10]
    assert pick_epochs(thirty, PICK_ALL, 1) == list(range(30, 0, -1))
    assert pick_epochs([], PICK_LAST, 5) == []


def test_compare_epochs_newest_first_picked_and_as_wide_as_the_view(
        qtbot, panel: ExplorerPanel, tmp_path: Path) -> None:
    panel.compare_count.setValue(4)
    with qtbot.waitSignal(panel.compare_done, timeout=TIMEOUT_MS) as done:
        panel.tabs.setCurrentWidget(panel.compare_page)
    assert done.args == [2]
    rows = panel.compare_rows()
    assert [epoch for epoch, _ in rows] == [2, 1]  # newest at the top
    assert "newest at the top" in panel.compare_status.text()

    # each strip is drawn as wide as the list allows, not at a small whole-number zoom
    strip = rows[0][1]
    view = panel.compare_list._rows[0][1]
    assert view.target_rect().width() >= 0.9 * (view.width() - 8)
    assert view.height() > 3 * strip.shape[0]

    with qtbot.waitSignal(panel.compare_done, timeout=TIMEOUT_MS) as done:
        panel.set_compare_epochs(PICK_LAST, 1)
    assert done.args == [1] and [e for e, _ in panel.compare_rows()] == [2]
    assert "1 of 2 saved epochs" in panel.compare_status.text()
    with qtbot.waitSignal(panel.compare_done, timeout=TIMEOUT_MS):
        panel.set_compare_epochs(PICK_EVERY, 1)
    assert [e for e, _ in panel.compare_rows()] == [2, 1]

    out = panel.save_current(tmp_path / "epochs.png")  # the export: what the tab shows
    stamp = read_provenance(out)
    assert stamp.kind == "epoch-compare" and stamp.sampler["rows"] == 2
    assert stamp.sampler["order"] == "newest first" and stamp.sampler["epochs"] == "every 1st"
    assert (stamp.sampler["first_epoch"], stamp.sampler["last_epoch"]) == (1, 2)
    with Image.open(out) as image:
        saved = np.asarray(image.convert("RGB"))
    rows = panel.compare_rows()
    assert np.array_equal(saved, make_grid(np.stack([s for _, s in rows]), ncols=1))
