"""The sample grid: scrubbing every epoch, zoom, PNG save and GIF export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aigc_studio.gui.widgets.sample_view import SampleView, epoch_of


def grid(value: int, size: int = 34) -> np.ndarray:
    """A flat RGB grid whose colour encodes the epoch."""
    return np.full((size, size, 3), value, dtype=np.uint8)


def test_scrubber_shows_each_epoch(qtbot) -> None:
    view = SampleView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    assert view.epochs() == [] and not view.save_button.isEnabled()
    for epoch in (1, 2, 3):
        view.add_grid(epoch, grid(epoch * 40))
        assert view.shown_epoch() == epoch  # follows the newest while at the end
    assert view.slider.isEnabled() and view.gif_button.isEnabled()
    for index, epoch in enumerate((1, 2, 3)):
        with qtbot.waitSignal(view.epoch_shown) as blocker:
            view.slider.setValue(index)
        assert blocker.args == [epoch]
        assert view.epoch_label.text() == f"Epoch {epoch} of 3"
        image = view.current_image()
        assert image is not None and image.pixelColor(5, 5).red() == epoch * 40
    view.slider.setValue(0)
    view.add_grid(4, grid(200))  # scrubbed back: a new epoch does not yank the view
    assert view.shown_epoch() == 1
    view.show_epoch(4)
    assert view.shown_epoch() == 4


def test_zoom_levels(qtbot) -> None:
    view = SampleView()
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.show()
    view.add_grid(1, grid(90, size=50))
    view.zoom.setCurrentIndex(view.zoom.findText("200%"))
    assert view.image.pixmap().width() == 100
    view.zoom.setCurrentIndex(view.zoom.findText("Fit"))
    assert view.image.pixmap().width() > 100  # fitted to the panel, larger than the grid


def test_save_png_and_export_gif(qtbot, tmp_path: Path) -> None:
    view = SampleView()
    qtbot.addWidget(view)
    for epoch in (1, 2, 3):
        view.add_grid(epoch, grid(epoch * 50))
    view.show_epoch(2)
    with qtbot.waitSignal(view.message) as blocker:
        assert view.save_png(tmp_path / "grid.png")
    assert "epoch 2" in blocker.args[0]
    saved = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB"))
    assert saved.shape == (34, 34, 3) and saved[0, 0, 0] == 100
    with qtbot.waitSignal(view.gif_finished, timeout=30_000) as done:
        view.export_gif(tmp_path / "progress.gif")  # in the background
    assert done.args[0].ok
    gif = Image.open(tmp_path / "progress.gif")
    assert gif.n_frames == 3


def test_run_grids_keep_their_provenance_in_png_and_gif(qtbot, tmp_path: Path) -> None:
    from aigc_studio.core.grid import save_png
    from aigc_studio.core.provenance import Provenance, read_provenance

    paths = []
    for epoch in (1, 2):
        path = tmp_path / f"epoch_{epoch:04d}.png"
        save_png(grid(epoch * 60), path, Provenance(kind="epoch-grid", model="dcgan",
                                                    run_folder="r1", epoch=epoch, seeds=(0,)))
        paths.append(path)
    view = SampleView()
    qtbot.addWidget(view)
    view.set_paths(paths)
    assert view.save_png(tmp_path / "copy.png")
    assert read_provenance(tmp_path / "copy.png").epoch == 2
    with qtbot.waitSignal(view.gif_finished, timeout=30_000):
        view.export_gif(tmp_path / "progress.gif")
    stamp = read_provenance(tmp_path / "progress.gif")
    assert stamp.kind == "training-progress" and stamp.run_folder == "r1"


def test_gif_export_can_be_cancelled(qtbot, tmp_path: Path) -> None:
    view = SampleView()
    qtbot.addWidget(view)
    for epoch in range(1, 400):
        view.add_grid(epoch, grid(epoch % 250, size=300))
    with qtbot.waitSignal(view.gif_finished, timeout=60_000) as done:
        view.export_gif(tmp_path / "big.gif")
        view._gif_task.cancel()
    assert done.args[0].cancelled
    assert not (tmp_path / "big.gif").exists()


def test_grids_from_run_files(qtbot, tmp_path: Path) -> None:
    paths = []
    for epoch in (1, 2, 10):
        path = tmp_path / f"epoch_{epoch:04d}.png"
        Image.fromarray(grid(epoch * 20)).save(path)
        paths.append(path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert epoch_of(paths[2]) == 10 and epoch_of(tmp_path / "other.png") is None
    view = SampleView()
    qtbot.addWidget(view)
    view.set_paths(paths)
    assert view.epochs() == [1, 2, 10] and view.shown_epoch() == 10
    assert view.epoch_label.text() == "Epoch 10 of 10"
    view.add_grid(11, tmp_path / "broken.png")
    assert "cannot be read" in view.image.text()
    view.truncate(2)
    assert view.epochs() == [1, 2]
