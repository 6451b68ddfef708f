"""What a new user hits in the first hour (issue 13): layout at small screens, banners that
do not move buttons, honest status texts and plots, shortcuts that do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer
from aigc_studio.gui.main_window import NO_RUN_TEXT, MainWindow
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


def inside_window(window: MainWindow, widget: QWidget) -> bool:
    """The whole widget lies inside the window's visible area and is shown."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    rect = widget.rect().translated(top_left)
    return widget.isVisible() and window.rect().contains(rect)


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)])
def test_start_pause_stop_stay_visible(qtbot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    window.show_side_panel("train")
    qtbot.waitUntil(lambda: window.width() <= size[0])
    for button in (window.panel.start_button, window.panel.pause_button,
                   window.panel.stop_button):
        assert inside_window(window, button), button.text()
    window.panel.select_model("diffusion")  # the longest form still keeps them in view
    assert inside_window(window, window.panel.start_button)


def test_a_banner_does_not_move_the_buttons(qtbot, window: MainWindow) -> None:
    window.resize(1280, 800)
    start = window.panel.start_button
    before = start.mapToGlobal(QPoint(0, 0))
    window.show_message("Something went wrong with a long explanation " * 4, "error")
    qtbot.waitUntil(window.banner.isVisible)
    assert start.mapToGlobal(QPoint(0, 0)) == before
    assert window.banner.width() > 400  # readable, over the page
    # its sentence is laid out across it, with Dismiss at the end
    assert window.banner.label.width() > window.banner.width() // 2
    assert window.banner.dismiss.geometry().right() <= window.banner.width()


def test_failed_start_header_does_not_point_at_a_dismissed_banner(qtbot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    bad = tiny_config(dataset=str(tmp_path / "gone"))
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.start_training(bad)
    window.banner.dismiss.click()
    header = window.run_header.text()
    assert "above" not in header and "gone" in header


def test_status_text_is_elided_with_the_whole_sentence_in_its_tooltip(window: MainWindow
                                                                     ) -> None:
    window.resize(1024, 700)
    long = "Stopped after epoch 3, step 1,234: checkpoint saved, resume it from the Runs tab " * 3
    window.status.set_state(long)
    label = window.status.state_label
    assert label.text() == long and label.toolTip() == long
    assert label.shown_text().endswith("…") and len(label.shown_text()) < len(long)


def test_view_shortcuts_bring_the_training_page_to_the_front(qtbot, window: MainWindow) -> None:
    window.show_panel("explore")
    assert window.workspace.currentIndex() != 0
    for key, side in ((Qt.Key.Key_1, "train"), (Qt.Key.Key_2, "runs")):
        window.show_panel("reconstruct")
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.workspace.currentIndex() == 0
        assert window.side_panel_key() == side


def test_save_and_gif_need_grids(qtbot, window: MainWindow, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert not window.act_gif.isEnabled() and not window.act_save.isEnabled()
    grid = np.zeros((16, 16, 3), np.uint8)
    window.samples.add_grid(1, grid)
    assert window.act_save.isEnabled() and not window.act_gif.isEnabled()
    window.samples.add_grid(2, grid + 50)
    assert window.act_gif.isEnabled()
    target = tmp_path / "grid.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.act_save.trigger()  # Ctrl+S on the training page saves its grid
    assert target.exists()


def test_plan_too_short_to_learn_is_said_before_start(window: MainWindow) -> None:
    panel = window.panel
    panel.select_model("dcgan")
    panel.set_dataset("digits", preview=False)
    panel.limit.setValue(300)
    panel.epochs.setValue(3)
    note = panel.plan_note()
    assert "300 images × 3 epochs is only 15 steps" in note
    assert panel.plan_label.isVisible()
    panel.limit.setValue(0)
    panel.epochs.setValue(20)
    assert panel.plan_note() == "" and not panel.plan_label.isVisible()
    assert panel.start_button.isEnabled()  # a note, never a block


def test_plots_count_whole_steps_without_si_scale(qtbot, window: MainWindow) -> None:
    window.plots.set_model("autoencoder")
    window.plots.add_records([{"kind": "step", "step": s, "loss": 0.0004 * s} for s in (1, 2, 3)])
    plot = window.plots.plot(window.plots.plot_of("loss"))
    axis = plot.getAxis("bottom")
    ticks = axis.tickValues(1.0, 3.0, 400)
    assert all(float(v).is_integer() for _, values in ticks for v in values)
    assert plot.getAxis("left").autoSIPrefixScale == 1.0  # 0.0004 reads as 0.0004
    window.plots.set_model("dcgan")
    dout = window.plots.plot("d_out")
    labels = [item.label.toPlainText() for item in dout.getPlotItem().items
              if hasattr(item, "label") and item.label is not None]
    assert "0.5" in labels  # the sentence is the line's tooltip, not text over the curves
    assert window.plots.slider_label.text() == "0.00"  # "Smoothing" is said once, beside it


def test_second_launch_offers_the_latest_run(qtbot, make_window, runs_root: Path) -> None:
    config = TrainConfig(dataset="shapes", limit=64, batch_size=32, width=8, latent_dim=16,
                         epochs=1, eval_samples=0).validate()
    run_dir = Trainer(config, runs_root=runs_root).fit().run_dir
    window = make_window()
    qtbot.waitUntil(lambda: "open the latest" in window.run_header.text())
    assert run_dir.name in window.run_header.text()
    window.run_header.linkActivated.emit("latest")
    qtbot.waitUntil(lambda: window.current_run == run_dir)
    assert window.run_header.text() != NO_RUN_TEXT


def test_ctrl_s_on_the_explorer_saves_what_it_shows(qtbot, window: MainWindow,
                                                    tiny_runs: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_studio.core.provenance import read_provenance

    explorer = window.show_panel("explore", tiny_runs["gan"])
    qtbot.waitUntil(lambda: explorer.current_image() is not None, timeout=TRAIN_TIMEOUT_MS)
    target = tmp_path / "view.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.act_save.isEnabled()
    window.act_save.trigger()
    assert target.exists() and read_provenance(target).kind
    assert not (tmp_path / "grid.png").exists()  # not the training tab's grid


def test_tensorboard_export_runs_in_the_background(qtbot, window: MainWindow,
                                                   tiny_runs: dict[str, Path],
                                                   tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert window.open_run(tiny_runs["gan"], follow=False)
    window.update_actions()
    assert window.act_tensorboard.isEnabled()
    out = tmp_path / "tb"
    task = window.export_tensorboard(out)
    with qtbot.waitSignal(task.finished, timeout=TRAIN_TIMEOUT_MS) as done:
        pass
    assert done.args[0].ok
    events = EventAccumulator(str(out))
    events.Reload()
    assert "step/loss_d" in events.Tags()["scalars"]
    assert "Wrote TensorBoard files" in window.banner.text()
