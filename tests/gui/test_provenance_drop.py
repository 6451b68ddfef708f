"""Issue 18 in the window: a generated PNG dropped on it reopens its run in the explorer at
the same epoch and seed (pixel-equal), a run that is gone shows the image's own record, and
forged provenance is one sentence with nothing opened."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from aigc_studio.cli import main
from aigc_studio.core.provenance import KEYWORD, read_provenance
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.config import TrainConfig
from aigc_studio.gui.window import drops
from tests.gui.test_window_drops import drop

TIMEOUT_MS = 120_000
SEED = 7
COUNT = 4  # a square grid the explorer can draw too


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny real DCGAN run and a 2x2 sample grid the CLI wrote from it for seed SEED."""
    from aigc_studio.engine.trainer import Trainer

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
        root = tmp_path_factory.mktemp("made")
        config = TrainConfig(dataset="digits", limit=128, width=8, epochs=2, eval_samples=0,
                             device="cpu")
        run = Trainer(config, runs_root=root).fit().run_dir
        assert run is not None
        png = tmp_path_factory.mktemp("out") / "sample.png"
        assert main(["sample", str(run), "--n", str(COUNT), "--seed", str(SEED),
                     "--out", str(png)]) == 0
    return run, png


@pytest.fixture
def run(made: tuple[Path, Path], runs_root: Path) -> Path:
    """The run copied into the window's runs folder (where a dropped image finds it)."""
    runs_root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(made[0], runs_root / made[0].name))


def one_sentence(text: str) -> None:
    assert text and "\n" not in text and text.rstrip().endswith(".")
    assert not re.search(r"[.!?]\s+[A-Z]", text), text


def test_a_dropped_sample_reopens_its_run_epoch_and_seed_pixel_equal(
        qtbot, make_window: Callable, made: tuple[Path, Path], run: Path) -> None:
    png = made[1]
    stamp = read_provenance(png)
    assert stamp.epoch == 2 and stamp.seeds == (SEED,)
    window = make_window()
    drop(window, [png])
    explorer = window.explorer
    assert explorer is not None and window.workspace.currentWidget() is explorer
    qtbot.waitUntil(lambda: explorer.model_info() is not None and
                    explorer.shown_serial() == explorer.latest_serial() > 0, timeout=TIMEOUT_MS)
    assert window.current_run == run.resolve()
    assert explorer._path == run_store.epoch_weights_path(run.resolve(), 2)
    assert explorer.seed() == SEED and explorer.count() == COUNT
    written = np.asarray(Image.open(png).convert("RGB"))
    shown = explorer.current_image()
    assert shown is not None
    size = run_store.load_run_config(run).image_size
    first = (slice(2, 2 + size), slice(2, 2 + size))  # make_grid's padding is 2
    assert np.array_equal(shown[first], written[first])
    assert np.array_equal(shown, written)  # the whole grid, in fact
    assert "seed 7" in window.banner.text() and "epoch 2" in window.banner.text()


def test_a_conditional_sample_reopens_its_class(
        qtbot, make_window: Callable, runs_root: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    from aigc_studio.engine.trainer import Trainer

    config = TrainConfig(dataset="digits", limit=128, width=8, epochs=1, eval_samples=0,
                         device="cpu", extras={"conditional": True})
    run = Trainer(config, runs_root=runs_root).fit().run_dir
    assert run is not None
    png = tmp_path / "three.png"
    assert main(["sample", str(run), "--n", "1", "--seed", "5", "--class", "3",
                 "--out", str(png)]) == 0
    assert read_provenance(png).class_index == 3
    window = make_window()
    drop(window, [png])
    explorer = window.explorer
    qtbot.waitUntil(lambda: explorer.model_info() is not None and
                    explorer.shown_serial() == explorer.latest_serial() > 0, timeout=TIMEOUT_MS)
    assert explorer.class_index() == 3 and explorer.seed() == 5
    written = np.asarray(Image.open(png).convert("RGB"))  # a grid of one: 2 px padding
    assert np.array_equal(explorer.current_image(), written[2:-2, 2:-2])


def test_a_sample_whose_run_is_gone_shows_what_it_records(
        qtbot, make_window: Callable, made: tuple[Path, Path]) -> None:
    window = make_window()
    drop(window, [made[1]])  # the run is neither in the runs folder nor beside the image
    dialog = window.provenance_view
    assert dialog.isVisible()
    text = dialog.text()
    for expected in (f"Run: {made[0].name}", "Epoch: 2", f"Seed: {SEED}",
                     "Model family: dcgan", "Made by: AIGC Studio", f"n: {COUNT}"):
        assert expected in text
    assert window.explorer is None and window.current_run is None
    assert "not here" in window.banner.text()
    dialog.close()


def _forged(path: Path, text: str | bytes) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text(KEYWORD, text)  # type: ignore[arg-type]
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_forged_provenance_is_one_sentence_and_opens_nothing(
        qtbot, make_window: Callable, made: tuple[Path, Path], runs_root: Path,
        tmp_path: Path) -> None:
    good = read_provenance(made[1]).to_dict()
    runs_root.mkdir(parents=True, exist_ok=True)
    os.symlink(made[0], runs_root / made[0].name)  # the name resolves elsewhere: not followed
    images = [
        _forged(tmp_path / "huge.png", "x" * (10 << 20)),
        _forged(tmp_path / "binary.png", b"\x00\x01\xff\xfe\x89junk"),
        _forged(tmp_path / "dotdot.png", json.dumps({**good, "run_folder": "../" + made[0].name})),
        _forged(tmp_path / "linked.png", json.dumps(good)),
    ]
    window = make_window()
    for image in images:
        window.banner.hide()
        drop(window, [image])
        one_sentence(window.banner.text())
        assert window.explorer is None and window.current_run is None
        assert getattr(window, "provenance_view", None) is None
    assert "link" in window.banner.text()


def test_images_without_provenance_still_go_to_the_panels(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    gif = tmp_path / "other.gif"
    Image.new("P", (8, 8)).save(gif, comment=b"made with another tool")
    for path in (plain, gif):
        where = drops.route([path])
        assert where.source is None and not where.refused
        assert "reconstruct" in where.choices


def test_an_image_source_reads_its_grid_size_and_sampler_settings_typed(tmp_path: Path) -> None:
    from aigc_studio.core.provenance import Provenance

    stamp = Provenance(seeds=(3,), sampler={"sampler": "ddim", "steps": 20, "guidance": 2,
                                            "n": 9, "noise": "fixed"})
    source = drops.ImageSource(tmp_path / "x.png", stamp)
    assert source.seed == 3 and source.count == 9
    assert source.sampling == {"sampler": "ddim", "steps": 20, "guidance": 2.0}
    odd = Provenance(sampler={"steps": "many", "sampler": 5, "n": True})
    assert drops.ImageSource(tmp_path / "x.png", odd).sampling == {}
    assert drops.ImageSource(tmp_path / "x.png", odd).count == 1
