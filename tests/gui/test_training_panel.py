"""The training panel: form to TrainConfig, validation, saved choices, image-folder preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_studio.engine.config import ConfigError
from aigc_studio.gui.panels.training.form import TrainingPanel
from tests.gui.conftest import tiny_config


@pytest.fixture
def panel(qtbot) -> TrainingPanel:
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    yield widget
    widget.wait_for_preview()


def test_form_round_trips_a_config(panel: TrainingPanel) -> None:
    cfg = tiny_config(model="autoencoder", dataset="digits", image_size=64, lr_g=0.001,
                      beta1=0.9, seed=7, limit=500)
    panel.set_config(cfg)
    got = panel.config()
    for field in ("model", "dataset", "epochs", "batch_size", "image_size", "latent_dim",
                  "width", "beta1", "seed", "limit"):
        assert getattr(got, field) == getattr(cfg, field), field
    assert got.lr_g == pytest.approx(0.001)
    assert not panel.lr_d.isVisibleTo(panel)  # the autoencoder has one learning rate


def test_missing_dataset_choice_is_a_clear_message(panel: TrainingPanel) -> None:
    panel.dataset.setCurrentIndex(panel.dataset.count() - 1)  # "Image folder…" not chosen yet
    with pytest.raises(ConfigError, match="data set"):
        panel.config()


def test_saved_values_restore_and_bad_values_are_ignored(panel: TrainingPanel) -> None:
    panel.set_config(tiny_config(epochs=42, batch_size=16, model="autoencoder", fast=False,
                                 precision="bf16"))
    values = {k: str(v) for k, v in panel.values().items()}  # an INI file gives strings back
    other = TrainingPanel()
    other.restore_values(values)
    assert other.epochs.value() == 42 and other.batch_size.value() == 16
    assert other.model.currentData() == "autoencoder"
    assert not other.fast.isChecked() and other.precision.currentData() == "bf16"
    assert not other.precision.isEnabled()  # precision means nothing with the fast path off
    cfg = other.config()
    assert (cfg.fast, cfg.precision) == (False, "bf16")
    other.restore_values({"epochs": "-3", "image_size": "nonsense"})
    assert other.epochs.value() == 42  # an invalid set is ignored as a whole
    other.deleteLater()


def test_training_locks_the_form_but_not_learning_rates(panel: TrainingPanel) -> None:
    panel.set_ready(True)
    panel.set_training(True)
    assert not panel.model.isEnabled() and not panel.start_button.isEnabled()
    assert panel.lr_g.isEnabled() and panel.apply_lr.isEnabled()
    panel.set_training(True, paused=True)
    assert panel.pause_button.text() == "Resume"
    panel.set_training(True, stopping=True)
    assert not panel.stop_button.isEnabled() and panel.stop_button.text() == "Stopping…"
    panel.set_training(False)
    assert panel.model.isEnabled() and panel.start_button.isEnabled()
    assert not panel.apply_lr.isEnabled()


def test_devices_list_only_what_exists(panel: TrainingPanel) -> None:
    panel.set_devices(["auto", "cpu"])
    assert [panel.device.itemData(i) for i in range(panel.device.count())] == ["auto", "cpu"]


def test_image_folder_preview_counts_usable_and_skipped(qtbot, panel: TrainingPanel,
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "my images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(folder /
                                                                                f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    with qtbot.waitSignal(panel.folder_chosen):
        panel.set_dataset(folder)
    assert panel.dataset_value() == str(folder)
    assert panel.dataset.currentText() == "Folder: my images"
    qtbot.waitUntil(lambda: "usable" in panel.preview_label.text(), timeout=30_000)
    assert panel.preview_label.text() == "5 usable images, 2 skipped"
    shown = [t for t in panel.preview_images if t.pixmap() and not t.pixmap().isNull()]
    assert len(shown) == 5
    assert panel.config().dataset == str(folder)


def test_preview_of_a_folder_without_images(qtbot, panel: TrainingPanel,
                                            tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    panel.set_dataset(tmp_path)
    qtbot.waitUntil(lambda: "Scanning" not in panel.preview_label.text(), timeout=30_000)
    assert "No usable images" in panel.preview_label.text()


# --- issue 13 item 21: the data preview for the built-in sets too ---------------------------


def _loaded(qtbot, panel: TrainingPanel) -> None:
    qtbot.waitUntil(lambda: not panel.preview_label.text().startswith(("Loading", "Scanning")),
                    timeout=60_000)


def _thumbs(panel: TrainingPanel) -> list:
    return [t.pixmap().toImage() for t in panel.preview_images
            if t.isVisibleTo(panel) and t.pixmap() and not t.pixmap().isNull()]


def test_bundled_sets_are_previewed_once_pytorch_is_ready(qtbot, panel: TrainingPanel) -> None:
    assert panel.dataset_value() == "digits" and not panel.preview_box.isVisibleTo(panel)
    panel.set_ready(True)  # PyTorch loaded: the chosen set's preview starts
    _loaded(qtbot, panel)
    assert "as the model will see them" in panel.preview_label.text()
    assert "resized to 32x32" in panel.preview_label.text()
    digits = _thumbs(panel)
    assert len(digits) == 8 and digits[0].width() == 32 and digits[0].isGrayscale()
    panel.set_dataset("shapes")
    _loaded(qtbot, panel)
    shapes = _thumbs(panel)
    assert len(shapes) == 8 and not shapes[0].isGrayscale()  # coloured, as trained
    assert panel.start_button.isEnabled()


def test_torchvision_sets_are_previewed_only_when_downloaded(
    qtbot, panel: TrainingPanel, studio_home: Path
) -> None:
    panel.set_ready(True)
    _loaded(qtbot, panel)
    panel.set_dataset("mnist")  # nothing downloaded in the isolated home: no download now
    _loaded(qtbot, panel)
    assert "MNIST is not downloaded yet" in panel.preview_label.text()
    assert not _thumbs(panel) and panel.start_button.isEnabled()
    assert not any((studio_home / "data").rglob("*.gz"))
