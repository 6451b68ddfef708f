"""Window details: settings persist, help with live values, drops, worker throttling, AE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from aigc_studio.engine.callbacks import StepMetrics
from aigc_studio.gui.dialogs import live_values_html
from aigc_studio.gui.main_window import MainWindow, format_duration
from aigc_studio.gui.worker import TrainingWorker
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


def test_choices_geometry_and_smoothing_persist(qtbot, make_window: Callable,
                                                settings: QSettings) -> None:
    first = make_window(wait_ready=False, load_torch=False)
    first.panel.set_config(tiny_config(epochs=33, model="autoencoder", batch_size=48))
    first.plots.set_smoothing(0.6)
    first.tabs.setCurrentIndex(1)
    first.resize(first.minimumWidth(), 520)  # the offscreen screen is only 800x600
    first.close()
    second = make_window(wait_ready=False, load_torch=False)
    assert second.panel.epochs.value() == 33 and second.panel.batch_size.value() == 48
    assert second.panel.model.currentData() == "autoencoder"
    assert second.plots.smoothing() == 0.6
    assert second.tabs.currentIndex() == 1
    assert second.height() == 520


def test_help_shows_formulas_with_live_values(qtbot, make_window: Callable) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    window.finish_startup()
    window.show_gan_help()
    html = window._help.text.toPlainText()
    assert "log(1 − D(G(z)))" in html and "Start training a DCGAN" in html
    window.plots.add_steps([StepMetrics(1, 1, 1.1, 0.9, 0.8, 0.25)])
    window._on_steps([StepMetrics(1, 2, 1.0, 0.8, 0.75, 0.3)])
    text = window._help.text.toPlainText()
    assert "D(x) = 0.750, D(G(z)) = 0.300" in text
    assert "log 0.750" in text and "1.204" in text  # -(ln .75 + ln .7) = 0.644 ... L_G 1.204
    window._help.close()


def test_live_values_arithmetic() -> None:
    html = live_values_html({"d_real": 0.5, "d_fake": 0.5})
    assert "<b>1.386</b>" in html and "<b>0.693</b>" in html  # 2 ln 2 and ln 2


def test_dropping_an_image_folder_selects_it(qtbot, make_window: Callable,
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    folder = tmp_path / "faces"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    monkeypatch.setattr(window, "ask_folder_action", lambda path: "train")  # the dialog's answer
    window.handle_dropped_path(folder)
    assert window.panel.dataset_value() == str(folder)
    qtbot.waitUntil(lambda: "usable" in window.panel.preview_label.text(), timeout=30_000)
    window.handle_dropped_path(tmp_path / "notes.txt")
    assert window.banner.level == "warning"


def test_new_training_clears_the_view(qtbot, make_window: Callable) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    window.plots.add_steps([StepMetrics(1, 1, 1.0, 1.0, 0.5, 0.5)])
    window.samples.add_grid(1, np.zeros((8, 8, 3), np.uint8))
    window.act_new.trigger()
    assert window.plots.point_count() == 0 and window.samples.epochs() == []


def test_worker_throttles_step_signals(qtbot) -> None:
    worker = TrainingWorker(tiny_config(), emit_interval_s=3600.0)
    received: list[list[StepMetrics]] = []
    worker.steps_ready.connect(received.append)
    for step in range(1, 1001):  # the trainer reporting far faster than a screen refreshes
        worker.queue_steps([StepMetrics(1, step, 1.0, 1.0)])
    assert len(received) == 1 and len(received[0]) == 1  # the first batch, then held back
    worker.flush_steps()  # epoch end / training end flush what is pending
    assert len(received) == 2 and received[1][-1].step == 1000
    assert sum(len(batch) for batch in received) == 1000


def test_format_duration() -> None:
    assert format_duration(12.4) == "12 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3720) == "1 h 02 min"


def test_autoencoder_run_plots_reconstruction(qtbot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.start_training(tiny_config(model="autoencoder", epochs=1))
    assert done.args[0].status == "finished"
    assert window.plots.point_count("loss_recon") > 0
    assert window.plots.point_count("loss_d") == 0
    assert not window.plots.d_plot.isVisible()
    assert window.samples.epochs() == [1]
    assert not window.panel.lr_d.isVisible()
