"""The reconstruction panel with a real (tiny) autoencoder and real drop events carrying real
files written here: good images become rows with what was done to them, bad files become rows
with the reason, folders load in the background, results save as PNGs plus a CSV."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from aigc_studio.core.quality import INFERNO_LUT, error_heatmap
from aigc_studio.engine.inference import LoadedModel, load_model, reconstruct
from aigc_studio.gui.panels.reconstruct.panel import ReconstructionPanel
from aigc_studio.gui.panels.reconstruct.table import ResultsModel
from tests.gui.conftest import shown_panel

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def runs(tiny_runs: dict[str, Path]) -> dict[str, Path]:
    """The session's tiny autoencoder (and DCGAN, for the "needs an autoencoder" note)."""
    return tiny_runs


@pytest.fixture(scope="module")
def ae_model(runs: dict[str, Path]) -> LoadedModel:
    return load_model(runs["ae"])


@pytest.fixture
def panel(qtbot) -> Iterator[ReconstructionPanel]:
    with shown_panel(qtbot, ReconstructionPanel(chunk=8)) as widget:
        yield widget
    assert not widget.worker.is_running()


@pytest.fixture
def ready(qtbot, panel: ReconstructionPanel, runs: dict[str, Path]) -> ReconstructionPanel:
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["ae"])
    assert panel.is_ready()
    return panel


# ------------------------------------------------------------------------------ test files
def bar(width: int, height: int) -> np.ndarray:
    """A white vertical bar on black: a digit-like shape whose orientation is visible."""
    a = np.zeros((height, width), np.uint8)
    half = max(1, width // 10)
    a[height // 6: 5 * height // 6, width // 2 - half: width // 2 + half] = 255
    return a


def write_files(folder: Path) -> dict[str, Path]:
    """One file per case of RELIABILITY.md rows 6-10 that a user might drop."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in (
        "plain.png", "photo.jpg", "rotated.jpg", "cmyk.jpg", "deep16.png", "anim.gif",
        "truncated.png", "notes.png")}
    Image.fromarray(bar(32, 32)).save(files["plain.png"])
    Image.fromarray(np.stack([bar(64, 48)] * 3, axis=-1)).save(files["photo.jpg"], quality=92)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways (60x30, a lying bar); upright it is 30x60, standing
    sideways = np.ascontiguousarray(np.rot90(bar(30, 60)))
    Image.fromarray(np.stack([sideways] * 3, axis=-1)).save(files["rotated.jpg"],
                                                            exif=exif.tobytes())
    Image.fromarray(np.stack([bar(32, 32)] * 3, axis=-1)).convert("CMYK").save(files["cmyk.jpg"])
    Image.fromarray(bar(40, 40).astype(np.uint16) * 257).save(files["deep16.png"])
    frames = [Image.fromarray(bar(32, 32)).convert("P"),
              Image.fromarray(255 - bar(32, 32)).convert("P")]
    frames[0].save(files["anim.gif"], save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8))
    noisy.save(folder / "whole.png")
    files["truncated.png"].write_bytes((folder / "whole.png").read_bytes()[:200])
    (folder / "whole.png").unlink()
    files["notes.png"].write_text("shopping list: milk, eggs\n", encoding="utf-8")
    return files


def drop(qtbot, widget: ReconstructionPanel, paths: list[Path]) -> None:
    """A real drag-enter then drop, as the window system delivers them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPointF(40, 40).toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    assert event.isAccepted()


# ------------------------------------------------------------------------------ tests
def test_error_heatmap_uses_a_fixed_inferno_scale() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    assert np.array_equal(error_heatmap(a, a), np.broadcast_to(INFERNO_LUT[0], (4, 4, 3)))
    b = np.full((4, 4, 3), 255, np.uint8)
    assert np.array_equal(error_heatmap(a, b)[0, 0], INFERNO_LUT[255])
    half = np.full((4, 4, 3), 64, np.uint8)
    assert np.array_equal(error_heatmap(a, half)[0, 0], INFERNO_LUT[127])
    assert INFERNO_LUT.shape == (256, 3) and INFERNO_LUT[:, 0].argmax() > 128


def test_drop_of_real_files_gives_result_and_error_rows(
        qtbot, ready: ReconstructionPanel, ae_model: LoadedModel, tmp_path: Path) -> None:
    panel = ready
    files = write_files(tmp_path / "in")
    text_mime = QMimeData()
    text_mime.setText("just text")
    enter = QDragEnterEvent(QPointF(5, 5).toPoint(), Qt.DropAction.CopyAction, text_mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, enter)
    assert not enter.isAccepted()  # only files and folders are taken

    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        drop(qtbot, panel, list(files.values()))
        assert panel.is_busy() and panel.results() == []  # the work is in the background
    assert not panel.is_busy()

    by_name = {r.path.name: r for r in panel.results()}
    assert sorted(by_name) == ["anim.gif", "cmyk.jpg", "deep16.png", "photo.jpg", "plain.png",
                               "rotated.jpg"]
    assert by_name["plain.png"].notes == ()
    assert "resized from 64x48" in by_name["photo.jpg"].notes
    assert by_name["rotated.jpg"].notes[:2] == ("rotated upright from EXIF",
                                                "resized from 30x60")
    assert "converted from CMYK" in by_name["cmyk.jpg"].notes
    assert "16-bit scaled to 8-bit" in by_name["deep16.png"].notes
    assert "first of 2 frames used" in by_name["anim.gif"].notes
    # the 16-bit bar is scaled, not clipped: it is white on black like the 8-bit one
    assert by_name["deep16.png"].original.max() == 255 and by_name["deep16.png"].original.min() == 0
    # the EXIF-rotated bar stands upright after loading (a vertical bar: tall, narrow)
    rotated = by_name["rotated.jpg"].original[..., 0] > 128
    assert rotated.any(axis=1).sum() > rotated.any(axis=0).sum()

    reasons = dict((p.name, why) for p, why in panel.failures())
    assert sorted(reasons) == ["notes.png", "truncated.png"]
    assert "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["notes.png"]
    assert panel.skipped.rowCount() == 2 and panel.skipped_box.isVisible()
    assert panel.skipped.item(0, 1).text() in reasons.values()

    # the numbers are the engine's, the heatmap matches the pixels
    expected, _ = reconstruct(ae_model, [files["photo.jpg"]])
    row = next(r for r in panel.result_rows() if r.result.path.name == "photo.jpg")
    assert row.result.mse == pytest.approx(expected[0].mse)
    assert row.result.ssim == pytest.approx(expected[0].ssim)
    assert np.array_equal(row.error, error_heatmap(row.result.original,
                                                   row.result.reconstruction))

    model = panel.table_model
    assert model.rowCount() == 7  # the mean row, then one per image
    mean = panel.mean_metrics()
    assert mean is not None
    assert mean["mse"] == pytest.approx(np.mean([r.mse for r in panel.results()]))
    assert model.data(model.index(0, ResultsModel.FILE)) == "Mean of 6 images"
    assert model.data(model.index(0, ResultsModel.SSIM)) == f"{mean['ssim']:.3f}"
    first = model.index(1, ResultsModel.NOTES)
    assert model.data(first) == "\n".join(panel.results()[0].notes) or "used as is"
    pixmap = model.data(model.index(1, ResultsModel.ERROR), Qt.ItemDataRole.DecorationRole)
    assert pixmap.width() == 32 * model.scale
    assert panel.stack.currentIndex() == ReconstructionPanel.PAGE_RESULTS
    assert panel.save_button.isEnabled()


def test_dropped_folder_loads_in_the_background(qtbot, ready: ReconstructionPanel,
                                                tmp_path: Path) -> None:
    panel = ready
    folder = tmp_path / "digits"
    (folder / "sub").mkdir(parents=True)
    digits = np.load(Path(__file__).parents[2] / "resources/data/mnist_5k.npz")
    for i in range(30):
        where = folder / "sub" if i % 3 == 0 else folder
        Image.fromarray(digits["images"][i]).save(where / f"digit_{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    (folder / "readme.txt").write_text("not an image", encoding="utf-8")
    counts: list[int] = []
    panel.results_changed.connect(counts.append)

    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        drop(qtbot, panel, [folder])
        assert panel.is_busy() and panel.progress_row.isVisible()
        assert panel.results() == []
    assert len(panel.results()) == 30
    assert counts == sorted(counts) and len(set(counts)) > 1  # rows arrived chunk by chunk
    assert threading.get_ident() not in panel.worker.worker_thread_ids
    assert not panel.progress_row.isVisible()
    reasons = {p.name: why for p, why in panel.failures()}
    assert set(reasons) == {"broken.png", "readme.txt"}
    assert "not an image type" in reasons["readme.txt"]
    assert all(r.notes == ("resized from 28x28",) for r in panel.results())


def test_cancel_stops_between_chunks_and_keeps_the_rows(qtbot, ready: ReconstructionPanel,
                                                       tmp_path: Path) -> None:
    panel = ready
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        Image.fromarray(bar(24 + i % 8, 32)).save(folder / f"bar_{i:02d}.png")
    messages: list[str] = []
    panel.message.connect(messages.append)
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.add_paths([folder])
        panel.cancel()
    assert len(panel.results()) < 40 and not panel.is_busy()
    assert messages[-1].startswith("Stopped")
    assert panel.worker.pending_batches() == 0


def test_save_results_writes_pngs_and_a_csv(qtbot, ready: ReconstructionPanel,
                                            tmp_path: Path) -> None:
    panel = ready
    files = write_files(tmp_path / "in")
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.add_paths([files["photo.jpg"], files["rotated.jpg"], files["notes.png"]])
    written = panel.save_results(tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.png")) == [
        "0001_photo_error.png", "0001_photo_original.png", "0001_photo_reconstruction.png",
        "0002_rotated_error.png", "0002_rotated_original.png",
        "0002_rotated_reconstruction.png"]
    with Image.open(out / "0001_photo_error.png") as image:
        assert image.size == (32, 32) and image.mode == "RGB"
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(r["file"]).name for r in rows] == ["photo.jpg", "rotated.jpg"]
    first = panel.results()[0]
    assert float(rows[0]["mse"]) == pytest.approx(first.mse, rel=1e-5)
    assert float(rows[0]["psnr"]) == pytest.approx(first.psnr, rel=1e-5)
    assert float(rows[0]["ssim"]) == pytest.approx(first.ssim, rel=1e-5)
    assert rows[1]["notes"].startswith("rotated upright from EXIF; resized from 30x60")
    with open(out / "skipped.csv", newline="", encoding="utf-8") as handle:
        skipped = list(csv.DictReader(handle))
    assert [Path(r["file"]).name for r in skipped] == ["notes.png"]
    assert out / "results.csv" in written


def test_a_gan_model_shows_the_note_and_keeps_the_drop(qtbot, panel: ReconstructionPanel,
                                                       runs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    files = write_files(tmp_path / "in")
    assert "Open a run of a model that encodes images" in panel.drop_hint.text()
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(runs["gan"])
    assert "reconstruction needs a model that encodes images" in panel.banner.text()
    assert not panel.is_ready()
    drop(qtbot, panel, [files["plain.png"]])
    assert not panel.is_busy() and panel.results() == []
    assert "1 dropped item waiting" in panel.drop_hint.text()
    # opening an autoencoder runs what was dropped
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.set_model(runs["ae"])
    assert [r.path.name for r in panel.results()] == ["plain.png"]
    assert panel.banner.text() == ""
    panel.clear()
    assert panel.results() == [] and panel.stack.currentIndex() == ReconstructionPanel.PAGE_DROP


def test_a_broken_model_file_says_why(qtbot, panel: ReconstructionPanel, tmp_path: Path) -> None:
    bad = tmp_path / "empty.safetensors"
    bad.write_bytes(b"")
    with qtbot.waitSignal(panel.load_failed, timeout=TIMEOUT_MS) as blocker:
        panel.set_model(bad)
    assert "empty.safetensors" in blocker.args[0]
    assert blocker.args[0] in panel.banner.text()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_saved_results_name_their_epoch_and_stay_on_the_page(
        qtbot, panel: ReconstructionPanel, runs: dict[str, Path], tmp_path: Path) -> None:
    """Results re-run as a run trains: the CSV says which epoch and checkpoint made them, and
    where they were saved stays on the page after the status bar has moved on."""
    files = write_files(tmp_path / "in")
    epoch_1 = runs["ae"] / "checkpoints" / "epoch_0001.safetensors"
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(epoch_1)
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.add_paths([files["plain.png"], files["photo.jpg"]])
    assert "epoch 1" in panel.summary_label.text()
    messages: list[str] = []
    panel.message.connect(messages.append)
    assert not panel.saved_row.isVisible()

    panel.save_results(tmp_path / "first")
    rows = read_csv(tmp_path / "first" / "results.csv")
    assert [(r["epoch"], Path(r["checkpoint"])) for r in rows] == [("1", epoch_1)] * 2
    assert panel.saved_row.isVisible()
    saved = panel.saved_label.full_text()
    assert str(tmp_path / "first") in saved and "epoch 1" in saved
    assert messages[-1].startswith("Saved 2 results")

    # the next epoch arrives: the same images run again with the newer weights
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.set_model(runs["ae"])
    assert messages[-1].startswith("Done")  # the status bar moved on ...
    assert panel.saved_row.isVisible() and panel.saved_label.full_text() == saved  # ... not this
    assert "epoch 2" in panel.summary_label.text()
    source = panel.results_source()
    assert source is not None and source.epoch == 2
    panel.save_results(tmp_path / "second")
    rows = read_csv(tmp_path / "second" / "results.csv")
    assert [(r["epoch"], r["checkpoint"]) for r in rows] == [("2", str(source.source))] * 2
    assert str(tmp_path / "second") in panel.saved_label.full_text()
    panel.clear()
    assert not panel.saved_row.isVisible()


def clear_png(path: Path, ink: int) -> Path:
    """A bar of ``ink`` on a fully transparent background, the hidden colour the opposite."""
    a = np.zeros((40, 40, 4), np.uint8)
    a[..., :3] = 255 - ink
    a[6:34, 17:23] = (ink, ink, ink, 255)
    Image.fromarray(a, "RGBA").save(path)
    return path


def test_transparent_pngs_keep_their_content_and_say_so(
        qtbot, ready: ReconstructionPanel, tmp_path: Path) -> None:
    panel = ready
    white = clear_png(tmp_path / "white_on_clear.png", 255)
    black = clear_png(tmp_path / "black_on_clear.png", 0)
    with qtbot.waitSignal(panel.batch_finished, timeout=TIMEOUT_MS):
        panel.add_paths([white, black])
    by_name = {r.path.name: r for r in panel.results()}
    for name, background in (("white_on_clear.png", "black"), ("black_on_clear.png", "white")):
        original = by_name[name].original
        assert original.std() > 60, name  # the bar is still there: not a blank square
        note = f"transparent background: composited onto {background}"
        assert note in by_name[name].notes
    model = panel.table_model
    notes = [model.data(model.index(row, ResultsModel.NOTES)) for row in (1, 2)]
    assert any("composited onto black" in text for text in notes)
    assert any("composited onto white" in text for text in notes)
