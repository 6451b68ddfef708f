"""Window messages speak the window's language (issue 13 item 20): a folder deleted after it
was picked, MNIST offline, an empty folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
from PIL import Image

from aigc_studio.engine.config import ConfigError
from aigc_studio.gui.main_window import MainWindow
from aigc_studio.gui.panels.training.form import TrainingPanel
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config


@pytest.fixture
def panel(qtbot) -> TrainingPanel:
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    yield widget
    widget.wait_for_preview()


def _image_folder(folder: Path, count: int = 4) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(folder /
                                                                                f"{i}.png")
    return folder


def _previewed(qtbot, panel: TrainingPanel) -> None:
    qtbot.waitUntil(lambda: not panel.preview_label.text().startswith(("Scanning", "Loading")),
                    timeout=60_000)


def test_a_folder_deleted_after_it_was_picked_says_so_in_the_window(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    folder = _image_folder(tmp_path / "holiday photos")
    window.panel.set_dataset(folder)
    _previewed(qtbot, window.panel)
    assert window.panel.start_button.isEnabled()
    shutil.rmtree(folder)
    assert not window.start_training()
    expected = f"The folder {folder} no longer exists: pick another folder or a data set."
    assert window.banner.text().endswith(expected) and window.panel.error_label.text() == expected
    assert "built-in name" not in window.banner.text() and not window.is_training()


def test_a_missing_folder_preview_turns_start_off_until_the_data_set_changes(
    qtbot, panel: TrainingPanel, tmp_path: Path
) -> None:
    panel.set_ready(True)
    _previewed(qtbot, panel)
    gone = tmp_path / "gone"
    panel.set_dataset(gone)  # e.g. restored from the last session
    _previewed(qtbot, panel)
    assert panel.preview_label.text().startswith(f"The folder {gone} no longer exists")
    assert not panel.start_button.isEnabled()
    assert not any(t.isVisibleTo(panel) for t in panel.preview_images)
    with pytest.raises(ConfigError, match="no longer exists: pick another folder"):
        panel.config()
    panel.set_dataset("shapes")
    assert panel.start_button.isEnabled()


def test_an_empty_folder_says_no_usable_images_and_start_waits(
    qtbot, panel: TrainingPanel, tmp_path: Path
) -> None:
    panel.set_ready(True)
    _previewed(qtbot, panel)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    panel.set_dataset(empty)
    _previewed(qtbot, panel)
    assert panel.preview_label.text() == ("No usable images in empty (1 file skipped): pick "
                                          "another folder or a data set.")
    assert not any(t.isVisibleTo(panel) for t in panel.preview_images)  # no blank row
    assert not panel.start_button.isEnabled()
    assert panel.start_button.toolTip() == panel.preview_label.text()
    panel.set_training(False)  # a run ending elsewhere does not switch Start back on
    assert not panel.start_button.isEnabled()
    panel.set_dataset(_image_folder(tmp_path / "full"))
    _previewed(qtbot, panel)
    assert panel.start_button.isEnabled() and "usable" in panel.preview_label.text()


def test_mnist_offline_is_one_complete_sentence(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets.mnist as tv_mnist

    def offline(url: str, *args: object, **kwargs: object) -> None:
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS):
        assert window.start_training(tiny_config(dataset="mnist"))
    text = window.banner.text()
    assert "MNIST" in text and "could not be downloaded (no internet connection?)" in text
    assert "use the bundled digits" in text and text.endswith(".")
    assert "Error downloading" not in text and ":)" not in text
