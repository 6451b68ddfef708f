"""Opening runs: headless-written runs, following a run being written, damaged runs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from aigc_studio.engine import runs as run_store
from aigc_studio.engine.trainer import Trainer
from aigc_studio.gui.main_window import MainWindow
from aigc_studio.gui.panels.runs.browser import RunsBrowser
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


@pytest.fixture
def headless_run(runs_root: Path) -> Path:
    """A finished 1-epoch run written by the headless engine (what `aigc-studio train` runs)."""
    end = Trainer(tiny_config(epochs=1), runs_root=runs_root).fit()
    assert end.status == "finished" and end.run_dir is not None
    return end.run_dir


def test_open_headless_run_restores_plots_grid_and_settings(
    qtbot, window: MainWindow, headless_run: Path
) -> None:
    window.panel.epochs.setValue(77)
    assert window.open_run(headless_run)
    steps = [r for r in run_store.read_metrics(headless_run) if r.get("kind") == "step"]
    assert steps and window.plots.point_count("loss_d") == len(steps)
    assert window.samples.epochs() == [1]
    assert not window.samples.current_image().isNull()
    assert window.panel.epochs.value() == 1 and window.panel.dataset_value() == "shapes"
    assert headless_run.name in window.run_header.toolTip()
    qtbot.waitUntil(lambda: window.runs.selected_path() == headless_run)  # listed off-thread
    assert "1/1 epochs" in window.progress.format()


def test_runs_browser_lists_and_opens_on_double_click(
    qtbot, window: MainWindow, headless_run: Path
) -> None:
    window.tabs.setCurrentWidget(window.runs)
    window.runs.refresh()
    qtbot.waitUntil(lambda: not window.runs.listing)
    assert window.runs.tree.topLevelItemCount() == 1
    item = window.runs.tree.topLevelItem(0)
    assert item.text(1) == "DCGAN" and headless_run.name in item.toolTip(0)
    assert item.text(3) == "1/1"
    window.runs.tree.setCurrentItem(item)
    assert window.runs.resume_button.isEnabled()  # it has a checkpoint
    with qtbot.waitSignal(window.runs.open_requested) as opened:
        rect = window.runs.tree.visualItemRect(item)
        # Qt's item views need the press of the first click before the double-click event.
        qtbot.mouseClick(window.runs.tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=rect.center())
        qtbot.mouseDClick(window.runs.tree.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    assert opened.args == [headless_run]
    assert window.current_run == headless_run


def test_open_checkpoint_opens_its_run(qtbot, window: MainWindow, headless_run: Path,
                                       tmp_path: Path) -> None:
    assert window.open_checkpoint(run_store.last_checkpoint(headless_run))
    assert window.current_run == headless_run
    # a loose weights file opens in the explorer; a broken one says why, nothing else changes
    exported = tmp_path / "generator.safetensors"
    exported.write_bytes(run_store.epoch_weights(headless_run)[-1].read_bytes())
    assert window.open_checkpoint(exported)
    assert window.workspace.currentIndex() == 1
    qtbot.waitUntil(lambda: window.explorer.model_info() is not None, timeout=60_000)
    assert window.explorer.model_info().path == exported
    stray = tmp_path / "stray.pt"
    stray.write_bytes(b"x")
    with qtbot.waitSignal(window.explorer.load_failed, timeout=60_000) as failed:
        assert window.open_checkpoint(stray)
    assert "stray.pt" in failed.args[0]
    assert window.current_run == headless_run


def test_view_follows_a_run_written_by_another_trainer(
    qtbot, window: MainWindow, headless_run: Path
) -> None:
    assert window.open_run(headless_run)
    before = window.plots.point_count("loss_d")
    errors: list[BaseException] = []

    def continue_headless() -> None:  # another process's trainer, as far as the window knows
        try:
            Trainer.resume(headless_run, epochs=2).fit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=continue_headless)
    writer.start()
    try:
        qtbot.waitUntil(lambda: window.samples.epochs() == [1, 2], timeout=TRAIN_TIMEOUT_MS)
    finally:
        writer.join()
    assert not errors
    qtbot.waitUntil(lambda: window.plots.point_count("loss_d") == 2 * before,
                    timeout=TRAIN_TIMEOUT_MS)
    assert window.samples.shown_epoch() == 2  # the view followed the new epoch


def test_damaged_runs_are_listed_and_others_still_open(
    qtbot, window: MainWindow, headless_run: Path, runs_root: Path
) -> None:
    broken = runs_root / "20000101-000000-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    (broken / "metrics.jsonl").write_text('{"kind": "step", "step": 1, "loss_d": 1.0}\n')
    window.runs.refresh()
    qtbot.waitUntil(lambda: not window.runs.listing)
    items = [window.runs.tree.topLevelItem(i) for i in range(window.runs.tree.topLevelItemCount())]
    rows = {Path(item.data(0, Qt.ItemDataRole.UserRole)).name: item for item in items}
    assert set(rows) == {broken.name, headless_run.name}
    assert rows[broken.name].text(1) == "damaged"
    assert "config.json" in rows[broken.name].toolTip(0)
    window.runs.select(broken)
    assert not window.runs.resume_button.isEnabled()
    assert window.open_run(broken)  # shows what it can, with a warning, no traceback
    assert window.banner.level == "warning" and "config.json" in window.banner.text()
    assert window.plots.point_count("loss_d") == 1
    assert window.open_run(headless_run)
    assert window.samples.epochs() == [1]


def test_not_a_run_folder_is_refused(qtbot, window: MainWindow, tmp_path: Path) -> None:
    assert not window.open_run(tmp_path)
    assert "not an AIGC Studio run folder" in window.banner.text()


def test_runs_browser_alone_without_torch(qtbot, tmp_path: Path) -> None:
    browser = RunsBrowser(tmp_path / "nothing-yet")
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.listed):
        browser.refresh()
    assert browser.tree.topLevelItemCount() == 0
    assert not browser.open_button.isEnabled() and not browser.resume_button.isEnabled()


def test_resume_without_checkpoint_says_so(qtbot, window: MainWindow, runs_root: Path) -> None:
    run = runs_root / "20000101-000000-nockpt"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"config": tiny_config().to_dict()}))
    assert not window.resume_run(run)
    assert "no checkpoint" in window.banner.text() and not window.is_training()
