"""The window trains for real (tiny runs on the CPU): start, pause, stop, LR, close, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_studio.engine import runs as run_store
from aigc_studio.gui.main_window import MainWindow
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


def first_steps(qtbot, window: MainWindow) -> None:
    """Wait until the plots have received step metrics."""
    qtbot.waitUntil(lambda: window.plots.point_count("loss_d") > 0, timeout=TRAIN_TIMEOUT_MS)


def test_train_to_finish_fills_plots_grid_and_runs(qtbot, window: MainWindow) -> None:
    assert window.panel.start_button.isEnabled()
    assert window.panel.start_button.text() == "Start training"
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        assert window.start_training(tiny_config(epochs=2))
        assert window.is_training() and not window.panel.model.isEnabled()
    end = done.args[0]
    assert end.status == "finished" and end.epoch == 2
    steps_per_epoch = window.run_info.steps_per_epoch
    assert window.plots.point_count("loss_d") == 2 * steps_per_epoch
    assert window.plots.point_count("d_fake") == 2 * steps_per_epoch
    assert window.samples.epochs() == [1, 2]
    for epoch in (1, 2):  # the scrubber shows each epoch
        window.samples.show_epoch(epoch)
        assert window.samples.epoch_label.text() == f"Epoch {epoch} of 2"
        assert not window.samples.current_image().isNull()
    assert window.progress.value() == window.progress.maximum()
    assert "Finished" in window.state_label.text()
    assert end.run_dir is not None and (end.run_dir / "config.json").exists()
    qtbot.waitUntil(lambda: window.runs.selected_path() == end.run_dir)  # listed and selected
    assert window.panel.model.isEnabled() and window.panel.start_button.isEnabled()
    assert window.banner.level != "error"  # at most an engine warning (e.g. mode collapse)


def test_pause_resume_stop_writes_checkpoint(qtbot, window: MainWindow) -> None:
    window.panel.set_config(tiny_config(epochs=500))
    qtbot.mouseClick(window.panel.start_button, qtbot_button())
    first_steps(qtbot, window)
    control = window.session.control
    qtbot.mouseClick(window.panel.pause_button, qtbot_button())
    assert control.paused and window.panel.pause_button.text() == "Resume"
    assert "Paused" in window.state_label.text()
    qtbot.mouseClick(window.panel.pause_button, qtbot_button())
    assert not control.paused and window.panel.pause_button.text() == "Pause"
    window.act_pause.trigger()  # Space: pause again, then stop while paused
    assert control.paused
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.panel.stop_button, qtbot_button())
        assert not window.panel.stop_button.isEnabled()
    end = done.args[0]
    assert end.status == "stopped"
    assert end.checkpoint is not None and end.checkpoint.exists()
    assert "Stopped" in window.state_label.text()
    qtbot.waitUntil(lambda: window.runs.resume_button.isEnabled())  # listed off-thread


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_resume_continues_a_stopped_run(qtbot, window: MainWindow) -> None:
    window.start_training(tiny_config(epochs=3))
    qtbot.waitUntil(lambda: window.samples.epochs() == [1], timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.stop_training()
    run_dir = done.args[0].run_dir
    stopped_at = done.args[0].step
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        assert window.resume_run(run_dir)
    end = done.args[0]
    assert end.status == "finished" and end.epoch == 3 and end.run_dir == run_dir
    assert window.samples.epochs() == [1, 2, 3]
    xs = window.plots.buffers["loss_d"].data()[0]
    assert list(xs) == sorted(set(xs)) and xs[-1] == end.step > stopped_at


def test_learning_rates_change_mid_run(qtbot, window: MainWindow) -> None:
    window.start_training(tiny_config(epochs=500))
    first_steps(qtbot, window)
    assert window.panel.apply_lr.isEnabled() and window.panel.lr_g.isEnabled()
    window.panel.lr_g.setValue(0.0005)
    window.panel.lr_d.setValue(0.0001)
    qtbot.mouseClick(window.panel.apply_lr, qtbot_button())
    run_dir = window.current_run
    assert run_dir is not None and "from the next step on" in window.banner.text()

    def logged() -> bool:  # the trainer logs the change once it has applied it
        return any(r.get("event") == "lr_change" for r in run_store.read_metrics(run_dir))

    qtbot.waitUntil(logged, timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.stop_training()
    events = [r for r in run_store.read_metrics(done.args[0].run_dir)
              if r.get("event") == "lr_change"]
    assert events and events[0]["lr_g"] == pytest.approx(0.0005)
    assert events[0]["lr_d"] == pytest.approx(0.0001)


def test_close_while_training_stops_saves_and_joins(qtbot, window: MainWindow) -> None:
    window.start_training(tiny_config(epochs=500))
    first_steps(qtbot, window)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.close()
        assert "Closing" in window.state_label.text()
    qtbot.waitUntil(lambda: not window.isVisible())
    end = done.args[0]
    assert end.status == "stopped" and end.checkpoint.exists()
    assert not window.is_training()
    # joined: the autouse fixtures fail the test if any thread or pool task still runs


def test_missing_image_folder_shows_message_and_app_stays_usable(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder"
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.start_training(tiny_config(dataset=str(missing)))
    assert window.banner.isVisible() and window.banner.level == "error"
    assert "no-such-folder" in window.banner.text()
    assert "Traceback" not in window.banner.text()
    assert window.panel.start_button.isEnabled()
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.start_training(tiny_config(epochs=1))  # still usable afterwards
    assert done.args[0].status == "finished"


def test_unexpected_worker_error_is_shown_not_raised(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aigc_studio.engine import trainer

    def broken_fit(self: object) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(trainer.Trainer, "fit", broken_fit)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.start_training(tiny_config())
    assert done.args[0] is None
    assert "Unexpected error" in window.banner.text()
    assert window.banner.text().endswith("injected fault")
    assert "could not start" in window.state_label.text()
    assert window.panel.start_button.isEnabled()


def test_second_start_is_refused_while_training(qtbot, window: MainWindow) -> None:
    window.start_training(tiny_config(epochs=500))
    assert not window.start_training(tiny_config())
    assert window.banner.level == "warning"
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.stop_training()


def test_start_before_torch_is_loaded_is_refused(qtbot, make_window: Callable) -> None:
    window = make_window(wait_ready=False, load_torch=False)
    assert not window.panel.start_button.isEnabled()
    assert window.panel.start_button.text() == "Loading PyTorch…"
    assert not window.start_training(tiny_config())
    assert "loading" in window.banner.text().lower()


@pytest.mark.parametrize("fault", ["nan", "oom"])
def test_training_faults_show_a_message_and_the_window_stays_usable(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    import torch

    from aigc_studio.families.dcgan.model import GanStep

    real_step = GanStep.__call__
    calls = {"n": 0}

    def faulty_step(self: GanStep, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 6:
            if fault == "oom":
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8 GiB")
            return real_step(self, real, labels) * float("nan")
        return real_step(self, real, labels)

    monkeypatch.setattr(GanStep, "__call__", faulty_step)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        window.start_training(tiny_config(epochs=3))
    expected = "Training diverged" if fault == "nan" else "try a smaller batch"
    assert window.banner.level == "error" and expected in window.banner.text()
    assert "Traceback" not in window.banner.text()
    monkeypatch.setattr(GanStep, "__call__", real_step)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        window.start_training(tiny_config(epochs=1))
    assert done.args[0].status == "finished"


def test_a_checkpoint_that_would_run_code_is_refused_in_the_window(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    import os

    import torch

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "aigc-studio-checkpoint", "models": Payload()}, evil)
    window.show_explorer()
    with qtbot.waitSignal(window.explorer.load_failed, timeout=TRAIN_TIMEOUT_MS) as failed:
        assert window.open_checkpoint(evil)
    assert "evil.pt was refused" in failed.args[0]
    assert not marker.exists()
