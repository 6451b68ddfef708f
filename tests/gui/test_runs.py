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
from aigc_studio.gui.panels.runs.browser import EPOCHS, STATUS, RunsBrowser
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


# --- issue 13 item 16: status, last losses, live epochs, interrupted runs, viewing while training


def _rows(browser: RunsBrowser) -> dict[str, object]:
    """The listed rows by run folder name."""
    items = [browser.tree.topLevelItem(i) for i in range(browser.tree.topLevelItemCount())]
    return {Path(item.data(0, Qt.ItemDataRole.UserRole)).name: item for item in items}


def _listed(qtbot, browser: RunsBrowser) -> None:
    with qtbot.waitSignal(browser.listed, timeout=60_000):
        browser.refresh()


def test_status_and_last_losses_are_shown_not_only_in_tooltips(
    qtbot, headless_run: Path, runs_root: Path
) -> None:
    browser = RunsBrowser(runs_root)
    qtbot.addWidget(browser)
    _listed(qtbot, browser)
    row = _rows(browser)[headless_run.name]
    assert row.text(STATUS) == "finished" and row.text(EPOCHS) == "1/1"
    browser.select(headless_run)
    shown = browser.details.text()
    assert "Finished" in shown and "Epochs 1 of 1" in shown
    assert "D loss" in shown and "G loss" in shown  # the last losses, labelled


def test_an_interrupted_run_shows_the_epochs_it_completed(
    qtbot, headless_run: Path, runs_root: Path
) -> None:
    # a writer killed after epoch 1 of 5: config still says "running", no lock is held, and
    # the epoch's metrics record never reached the disk (its weights did)
    doc = json.loads((headless_run / "config.json").read_text())
    doc["status"], doc["config"]["epochs"] = "running", 5
    (headless_run / "config.json").write_text(json.dumps(doc))
    metrics = headless_run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(x for x in lines if '"kind": "epoch"' not in x) + "\n")
    browser = RunsBrowser(runs_root)
    qtbot.addWidget(browser)
    _listed(qtbot, browser)
    row = _rows(browser)[headless_run.name]
    assert row.text(EPOCHS) == "1/5" and row.text(STATUS) == "interrupted"
    browser.select(headless_run)
    assert "Interrupted" in browser.details.text() and "resume" in browser.details.text()
    assert browser.resume_button.isEnabled()


def test_training_row_keeps_up_and_other_runs_can_be_viewed(
    qtbot, window: MainWindow, headless_run: Path
) -> None:
    runs = window.runs
    assert window.start_training(tiny_config(epochs=5, eval_samples=0))
    qtbot.waitUntil(lambda: bool(window.samples.epochs()), timeout=TRAIN_TIMEOUT_MS)
    window.toggle_pause()  # hold it mid-run while the row is checked
    qtbot.waitUntil(lambda: not runs.listing and bool(runs.running_paths()), timeout=60_000)
    with qtbot.waitSignal(runs.rows_updated, timeout=60_000):
        runs.refresh_running()  # what the periodic re-read does
    training = runs.running_paths()[0]
    row = _rows(runs)[training.name]
    done = int(row.text(EPOCHS).split("/")[0])
    assert done >= 1 and row.text(EPOCHS).endswith("/5") and row.text(STATUS) == "training"
    # another run: Open gives way to viewing it, with a sentence that says why
    runs.select(headless_run)
    assert not runs.open_button.isEnabled()
    assert runs.busy_note.isVisibleTo(runs) and "Explore" in runs.busy_note.text()
    assert runs.view_buttons["explore"].isEnabled()
    with qtbot.waitSignal(runs.view_requested) as viewed:
        runs.view_buttons["explore"].click()  # the window opens it in the explorer
    assert viewed.args == ["explore", headless_run]
    panel = window.workspace_panels["explore"]
    qtbot.waitUntil(lambda: panel.model_info() is not None, timeout=60_000)
    assert window.is_training() and window.current_run == training
    viewed_model = panel.model_info()
    window.toggle_pause()  # training goes on; the viewed run stays in the explorer
    window._refresh_visible_panel()  # what every epoch end does
    assert panel.model_info() == viewed_model
    assert window._panel_sigs["explore"] == (headless_run, -1)  # no reload was asked for
    window.toggle_pause()
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.stop_training()
