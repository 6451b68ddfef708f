"""The main window routes drops and hosts the explorer and reconstruction tabs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def trained(tiny_runs: dict[str, Path]) -> dict[str, Path]:
    """The session's tiny real autoencoder and DCGAN runs."""
    return tiny_runs


def drop(widget: object, paths: list[Path]) -> None:
    """A real drag-enter + drop pair carrying file URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(20, 20)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    widget.dragEnterEvent(enter)  # type: ignore[attr-defined]
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)  # type: ignore[attr-defined]


def images(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(3):
        path = folder / f"img{i}.png"
        Image.new("L", (40, 40), 40 * i).save(path)
        paths.append(path)
    return paths


def test_dropped_images_are_reconstructed_by_the_open_autoencoder(
        qtbot, make_window: Callable, trained: dict[str, Path], tmp_path: Path) -> None:
    window = make_window()
    assert window.open_run(trained["ae"], follow=False)
    files = images(tmp_path / "in")
    broken = tmp_path / "in" / "broken.png"
    broken.write_text("not an image")
    window.show_reconstruction()
    with qtbot.waitSignal(window.reconstruction.model_loaded, timeout=TIMEOUT_MS):
        pass
    with qtbot.waitSignal(window.reconstruction.batch_finished, timeout=TIMEOUT_MS):
        drop(window, [*files, broken])
    assert window.workspace.currentIndex() == 2
    assert len(window.reconstruction.results()) == 3
    assert [p.name for p, _ in window.reconstruction.failures()] == ["broken.png"]


def test_images_dropped_on_a_gan_run_say_reconstruction_needs_an_autoencoder(
        qtbot, make_window: Callable, trained: dict[str, Path], tmp_path: Path) -> None:
    window = make_window()
    assert window.open_run(trained["gan"], follow=False)
    window.show_reconstruction()
    with qtbot.waitSignal(window.reconstruction.model_loaded, timeout=TIMEOUT_MS):
        pass
    drop(window, images(tmp_path / "in")[:1])
    assert "reconstruction needs a model that encodes images" in window.reconstruction.banner.text()
    assert window.reconstruction.results() == []


def test_a_dropped_folder_asks_train_or_reconstruct(
        qtbot, make_window: Callable, trained: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    folder = tmp_path / "pictures"
    images(folder)
    monkeypatch.setattr(window, "ask_folder_action", lambda path: "train")
    drop(window, [folder])
    assert window.workspace.currentIndex() == 0
    assert window.panel.config().dataset == str(folder)
    assert window.open_run(trained["ae"], follow=False)
    monkeypatch.setattr(window, "ask_folder_action", lambda path: "reconstruct")
    window.show_reconstruction()
    with qtbot.waitSignal(window.reconstruction.model_loaded, timeout=TIMEOUT_MS):
        pass
    with qtbot.waitSignal(window.reconstruction.batch_finished, timeout=TIMEOUT_MS):
        drop(window, [folder])
    assert len(window.reconstruction.results()) == 3
    monkeypatch.setattr(window, "ask_folder_action", lambda path: None)  # Cancel: nothing
    window.workspace.setCurrentIndex(0)
    drop(window, [tmp_path / "pictures"])
    assert window.workspace.currentIndex() == 0


def test_run_folders_checkpoints_and_other_files(
        qtbot, make_window: Callable, trained: dict[str, Path], tmp_path: Path) -> None:
    window = make_window()
    drop(window, [trained["gan"]])
    assert window.current_run == trained["gan"]
    drop(window, [trained["ae"] / "checkpoints" / "last.pt"])
    assert window.current_run == trained["ae"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    drop(window, [text])
    assert "not something AIGC Studio opens" in window.banner.text()


def test_explore_tab_loads_the_current_gan(qtbot, make_window: Callable,
                                           trained: dict[str, Path]) -> None:
    window = make_window()
    assert window.explorer is None  # built on first use
    assert window.open_run(trained["gan"], follow=False)
    with qtbot.waitSignal(window.workspace.currentChanged, timeout=5_000):
        window.workspace.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.explorer is not None and
                    window.explorer.model_info() is not None, timeout=TIMEOUT_MS)
    assert window.explorer.model_info().capabilities.samples
    window.shutdown()
    assert not window.explorer.worker.is_running()
