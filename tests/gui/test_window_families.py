"""Every model family (and GAN loss) trains from the window end to end: the form's options, the
family's live plots, a grid per epoch, the runs browser; and several processes run as a
followed job (``train --nproc 2`` with gloo on the CPU)."""

from __future__ import annotations

import pytest

from aigc_studio import families
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.config import TrainConfig
from aigc_studio.gui.main_window import MainWindow
from aigc_studio.gui.panels.training.options import set_field_value
from tests.gui.conftest import TRAIN_TIMEOUT_MS

CASES = {
    "dcgan-hinge": ("dcgan", {"loss": "hinge"}),
    "dcgan-wgan-gp": ("dcgan", {"loss": "wgan-gp", "n_critic": 2}),
    "dcgan-conditional": ("dcgan", {"conditional": True}),
    "vae": ("vae", {"beta": 2.0}),
    "autoencoder": ("autoencoder", {}),
    "diffusion": ("diffusion", {"sample_steps": 4}),  # a quick epoch grid
}


def form_config(window: MainWindow, model: str, extras: dict[str, object]) -> TrainConfig:
    """Fill the form as a user would: model, the family's option fields, tiny sizes."""
    panel = window.panel
    panel.select_model(model)
    panel.set_dataset("digits", preview=False)
    for name, value in extras.items():
        field = panel.options.field(name)
        assert field is not None, name
        set_field_value(field, value)
    panel.limit.setValue(64)
    panel.batch_size.setValue(32)
    panel.width.setValue(8)
    panel.epochs.setValue(2)
    panel.eval_samples.setValue(0)
    panel.select_device("cpu")
    return panel.config()


@pytest.mark.parametrize("case", list(CASES))
def test_window_trains_each_family(qtbot, window: MainWindow, case: str) -> None:
    model, extras = CASES[case]
    cfg = form_config(window, model, extras)
    assert cfg.extras == extras
    family = families.get(model)
    step_names = family.step_metric_names(cfg)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.panel.start_button, _left())
    end = done.args[0]
    assert end is not None and end.status == "finished", window.banner.text()
    for name in step_names:  # the family's own live plots, filled
        assert window.plots.point_count(name) > 0, name
        assert window.plots.plot_of(name) is not None, name
    assert window.samples.epochs() == [1, 2]
    trained = run_store.load_run_config(end.run_dir)
    assert trained.extras == extras and trained.model == model
    qtbot.waitUntil(lambda: window.runs.selected_path() == end.run_dir)


def test_several_processes_train_as_a_followed_job(qtbot, window: MainWindow) -> None:
    """Processes 2: the window starts ``train --nproc 2`` and follows the run it writes."""
    window.panel.set_process_limit(2)
    form_config(window, "dcgan", {})
    window.panel.processes.setValue(2)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        assert window.start_training()
        assert window.is_training() and window.external is not None
        assert not window.panel.pause_button.isEnabled()  # one process pauses, not a job
        assert not window.panel.apply_lr.isEnabled()
        assert window.panel.stop_button.isEnabled()
    assert window.external is None and not window.is_training()
    assert "Finished" in window.state_label.text(), window.banner.text()
    run_dir = window.current_run
    assert run_dir is not None and run_store.is_run_dir(run_dir)
    assert run_store.read_run_doc(run_dir)["world_size"] == 2
    qtbot.waitUntil(lambda: window.samples.epochs() == [1, 2])  # followed to the end
    assert window.plots.point_count("loss_d") > 0


def test_stop_asks_every_process_for_a_checkpoint(qtbot, window: MainWindow) -> None:
    window.panel.set_process_limit(2)
    form_config(window, "dcgan", {})
    window.panel.epochs.setValue(500)
    window.panel.processes.setValue(2)
    assert window.start_training()
    qtbot.waitUntil(lambda: window.plots.point_count("loss_d") > 0, timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.stop_training()
    assert "Stopped" in window.state_label.text(), window.banner.text()
    assert run_store.last_checkpoint(window.current_run).exists()


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
