"""Window details: settings persist, help with live values, drops, worker throttling, AE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect, QSettings, QSize, Qt

from aigc_studio import families
from aigc_studio.core.text import format_duration
from aigc_studio.engine.callbacks import StepMetrics
from aigc_studio.families.help import gan_help
from aigc_studio.gui.main_window import MainWindow
from aigc_studio.gui.training_session import TrainingWorker
from aigc_studio.gui.window.settings import fitted_geometry
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


def gan_step(step: int, loss_d: float, loss_g: float, d_real: float | None = None,
             d_fake: float | None = None) -> StepMetrics:
    """A step of a GAN run, by keyword (the metrics are open, named by the family)."""
    values = {"loss_d": loss_d, "loss_g": loss_g}
    if d_real is not None and d_fake is not None:
        values |= {"d_real": d_real, "d_fake": d_fake}
    return StepMetrics(epoch=1, step=step, values=values)


def test_choices_geometry_and_smoothing_persist(qtbot, make_window: Callable,
                                                settings: QSettings) -> None:
    first = make_window(wait_ready=False, load_torch=False)
    first.panel.set_config(tiny_config(epochs=33, model="autoencoder", batch_size=48))
    first.plots.set_smoothing(0.6)
    first.tabs.setCurrentIndex(1)
    screen_width = first.screen().availableGeometry().width()
    first.resize(screen_width + 100, 520)  # wider than the (800-pixel offscreen) screen
    first.close()
    second = make_window(wait_ready=False, load_torch=False)
    assert second.panel.epochs.value() == 33 and second.panel.batch_size.value() == 48
    assert second.panel.model.currentData() == "autoencoder"
    assert second.plots.smoothing() == 0.6
    assert second.tabs.currentIndex() == 1
    # the saved geometry does not fit the screen: a default size that does replaces it
    available = second.screen().availableGeometry()
    assert second.height() == min(800, available.height())


def test_a_restored_form_shows_the_plots_of_its_loss(qtbot, make_window: Callable) -> None:
    """The saved form's options decide the plots too: a WGAN-GP form reopens with the critic's
    plot, not D(x)."""
    first = make_window(wait_ready=False, load_torch=False)
    first.panel.set_config(tiny_config(extras={"loss": "wgan-gp"}))
    first.plots.build()  # the window builds its plots after the first paint
    assert "critic" in first.plots.visible_plots()
    first.close()
    second = make_window(wait_ready=False, load_torch=False)
    assert second.panel.options.values() == {"loss": "wgan-gp"}
    second.plots.build()
    assert "critic" in second.plots.visible_plots()
    assert "d_out" not in second.plots.visible_plots()


def test_saved_geometry_that_does_not_fit_falls_back_to_one_that_does() -> None:
    laptop = QRect(0, 0, 1280, 800)
    # saved by an offscreen run (800x800 screen): cramped on a 1280x800 display
    assert fitted_geometry(QRect(2, 2, 850, 480), QSize(800, 800), laptop) == laptop
    # saved on a larger monitor: does not fit, so the default size, centred
    big = fitted_geometry(QRect(100, 100, 1800, 1000), QSize(2560, 1440), laptop)
    assert big == QRect(0, 0, 1280, 800)
    small_screen = QRect(0, 0, 1024, 700)
    assert fitted_geometry(QRect(0, 0, 1280, 800), QSize(1280, 800), small_screen) == \
        small_screen
    # saved on this screen and fitting: kept as the user left it
    assert fitted_geometry(QRect(40, 30, 900, 600), QSize(1280, 800), laptop) is None
    # no saved geometry: the default
    assert fitted_geometry(None, None, QRect(0, 0, 1920, 1080)) == QRect(320, 140, 1280, 800)


def test_help_shows_formulas_with_live_values(qtbot, make_window: Callable) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    window.finish_startup()
    window.plots.set_model("dcgan")
    dialog = window.show_learn_help()
    html = dialog.html()
    assert "log(1 − D(G(z)))" in html and "Train a DCGAN" in html
    window.plots.add_steps([gan_step(1, 1.1, 0.9, 0.8, 0.25), gan_step(2, 1.0, 0.8, 0.75, 0.3)])
    text = window.show_learn_help().html()  # shown again: the newest values
    assert "D(x) = 0.750, D(G(z)) = 0.300" in text
    assert "log 0.750" in text and "1.204" in text  # -(ln .75 + ln .7) = 0.644 ... L_G 1.204
    # the trainer's numbers differ, and the help says why (not "a little")
    assert "Jensen" in text and "after D's update" in text
    dialog.close()


def test_live_values_arithmetic() -> None:
    html = gan_help({"d_real": 0.5, "d_fake": 0.5}, {})
    assert "<b>1.386</b>" in html and "<b>0.693</b>" in html  # 2 ln 2 and ln 2


@pytest.mark.parametrize(("model", "options", "values", "expected"), [
    ("dcgan", {"loss": "hinge"}, {}, "max(0, 1 − D(x))"),
    ("dcgan", {"loss": "wgan-gp"}, {"wasserstein": 0.5, "penalty": 0.01, "loss_d": -0.4},
     "−0.500 + 10 × 0.0100 ≈ -0.400"),
    ("vae", {"beta": 4.0}, {"loss_recon": 30.0, "loss_kl": 5.0}, "30.00 + 4 × 5.00 = 50.00"),
    ("diffusion", {"guidance": 3.0}, {"loss": 0.05}, "w = 3"),
    ("autoencoder", {}, {"loss_recon": 0.01}, "0.01000"),
])
def test_help_explains_each_model_with_its_options(qtbot, make_window: Callable, model: str,
                                                   options: dict, values: dict,
                                                   expected: str) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    window.plots.set_model(model, options)
    dialog = window.show_learn_help()
    dialog.update_values(values)
    assert expected in dialog.html()
    assert families.get(model).title in dialog.windowTitle()
    dialog.close()


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
    window.plots.add_steps([gan_step(1, 1.0, 1.0, 0.5, 0.5)])
    window.samples.add_grid(1, np.zeros((8, 8, 3), np.uint8))
    window.act_new.trigger()
    assert window.plots.point_count() == 0 and window.samples.epochs() == []


def test_worker_throttles_step_signals(qtbot) -> None:
    worker = TrainingWorker(tiny_config(), emit_interval_s=3600.0)
    received: list[list[StepMetrics]] = []
    worker.steps_ready.connect(received.append)
    for step in range(1, 1001):  # the trainer reporting far faster than a screen refreshes
        worker.queue_steps([gan_step(step, 1.0, 1.0)])
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
    assert window.plots.visible_plots() == ["loss"]
    assert window.samples.epochs() == [1]
    assert not window.panel.lr_d.isVisible()


def test_empty_states_offer_the_next_step(qtbot, make_window: Callable, runs_root: Path
                                          ) -> None:
    from aigc_studio import families
    from aigc_studio.engine import runs as run_store
    from aigc_studio.engine.config import TrainConfig

    run_dir = run_store.create_run_dir(runs_root, TrainConfig(model="dcgan").validate(), {})
    (run_dir / run_store.METRICS).write_text('{"kind": "step", "epoch": 1, "step": 1, '
                                             '"loss_d": 1.0, "loss_g": 2.0}\n')
    window = make_window(wait_ready=False, load_torch=False)
    window.show_explorer()
    explorer = window.explorer
    assert explorer.stack.currentIndex() == explorer.PAGE_EMPTY
    sampler = next(f for f in families.all_families() if f.capabilities.samples)
    assert explorer.train_button.text() == f"Train a {sampler.title} now"
    with qtbot.waitSignal(window.runs.listed, timeout=30_000):
        qtbot.mouseClick(explorer.open_latest_button, Qt.MouseButton.LeftButton)
    assert window.current_run == run_dir and window.plots.point_count("loss_d") == 1

    window.new_training()
    window.panel.select_model(window.panel.model_names()[-1])
    window.show_reconstruction()
    recon = window.reconstruction
    assert recon.next_steps.isVisibleTo(recon)
    encoder = next(f for f in families.all_families() if f.capabilities.encodes)
    qtbot.mouseClick(recon.train_button, Qt.MouseButton.LeftButton)
    assert window.panel.model.currentData() == encoder.name
    assert window.workspace.currentIndex() == 0 and window.side_panel_key() == "train"
