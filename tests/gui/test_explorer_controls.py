"""The explorer's controls for conditional and diffusion models, on real tiny runs: the class
picker draws the class asked for, the sampler settings render what ``inference.sample`` gives,
sampling shows progress and gives way to a newer request, the Denoising tab plays and exports,
and every tab saves a PNG that says what made it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aigc_studio.core.grid import make_grid
from aigc_studio.core.provenance import read_provenance
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.explore import Explorer
from aigc_studio.engine.inference import LoadedModel, load_model, sample, trajectory
from aigc_studio.families import get as get_family
from aigc_studio.gui.panels.explore.panel import ExplorerPanel

TIMEOUT_MS = 120_000
STEPS = 3  # sampler steps in most diffusion checks: enough to differ, cheap on a busy CPU


def _smallest_width() -> int:
    """The smallest UNet width the config accepts (the diffusion family sets no floor)."""
    width = 4
    TrainConfig(model="diffusion", dataset="digits", width=width).validate()
    return width


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Three tiny real runs: a conditional DCGAN, an unconditional one, a diffusion model."""
    from aigc_studio.engine.trainer import Trainer

    assert get_family("diffusion").defaults["eval_samples"] == 0
    configs = {
        "cgan": TrainConfig(dataset="digits", limit=128, width=8, epochs=1, eval_samples=0,
                            extras={"conditional": True}),
        "gan": TrainConfig(dataset="digits", limit=64, width=8, epochs=1, eval_samples=0),
        "diffusion": TrainConfig(model="diffusion", dataset="digits", limit=64, epochs=1,
                                 eval_samples=0, width=_smallest_width()),
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared CPU: threads only contend
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIGC_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
            root = tmp_path_factory.mktemp("control-runs")
            yield {name: Trainer(cfg, runs_root=root).fit().run_dir
                   for name, cfg in configs.items()}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(runs: dict[str, Path]) -> dict[str, LoadedModel]:
    """The same runs loaded directly, to compare the panel against."""
    return {name: load_model(path) for name, path in runs.items()}


@pytest.fixture
def panel(explorer_panel: ExplorerPanel) -> ExplorerPanel:
    return explorer_panel


def open_model(qtbot, panel: ExplorerPanel, path: Path) -> ExplorerPanel:
    """Load ``path`` and wait for its first image."""
    with qtbot.waitSignal(panel.model_loaded, timeout=TIMEOUT_MS):
        panel.set_model(path)
    settle(qtbot, panel)
    return panel


def settle(qtbot, panel: ExplorerPanel) -> None:
    """Wait until the newest render request is the image on screen."""
    qtbot.waitUntil(lambda: panel.shown_serial() == panel.latest_serial() > 0,
                    timeout=TIMEOUT_MS)


def test_class_picker_draws_the_class_asked_for(qtbot, panel: ExplorerPanel,
                                                runs: dict[str, Path],
                                                models: dict[str, LoadedModel]) -> None:
    model = models["cgan"]
    open_model(qtbot, panel, runs["cgan"])
    assert panel.seed_form.isRowVisible(panel.class_combo)
    # a conditional GAN always draws some class: ten classes, no "any"
    assert [panel.class_combo.itemData(i) for i in range(panel.class_combo.count())] == \
        list(range(10))
    assert not panel.sampling_box.isVisibleTo(panel)  # a GAN samples in one pass

    panel.set_seed(11)
    panel.set_class_index(7)
    settle(qtbot, panel)
    assert panel.class_index() == 7
    seven = panel.current_image()
    assert np.array_equal(seven, sample(model, 1, 11, 7)[0])
    panel.set_class_index(2)  # same seed, another class
    settle(qtbot, panel)
    assert np.array_equal(panel.current_image(), sample(model, 1, 11, 2)[0])
    assert not np.array_equal(panel.current_image(), seven)
    panel.set_count(4)
    settle(qtbot, panel)
    assert np.array_equal(panel.current_image(), make_grid(sample(model, 4, 11, 2)))

    # the walk honours the class too
    panel.tabs.setCurrentWidget(panel.walk_page)
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_interpolation(3, 9, steps=5)
    frames = panel.frames()
    assert frames is not None
    assert np.array_equal(frames, Explorer(model).interpolation(3, 9, 5, class_index=2))
    assert np.array_equal(frames[0], sample(model, 1, 3, 2)[0])
    assert "class 2" in panel.walk_caption.text()


def test_unconditional_model_has_no_picker_and_no_denoising(qtbot, panel: ExplorerPanel,
                                                            runs: dict[str, Path]) -> None:
    open_model(qtbot, panel, runs["gan"])
    assert not panel.seed_form.isRowVisible(panel.class_combo)
    assert panel.class_index() is None
    panel.set_class_index(3)  # nothing to pick: ignored
    assert panel.class_index() is None and panel.render_request().class_index is None
    assert not panel.sampling_box.isVisibleTo(panel)
    assert panel.sampler_settings() == ()
    assert not panel.tabs.isTabVisible(panel.tabs.indexOf(panel.denoise_page))


def test_diffusion_controls_render_what_sample_gives(qtbot, panel: ExplorerPanel,
                                                     runs: dict[str, Path],
                                                     models: dict[str, LoadedModel]) -> None:
    model = models["diffusion"]
    open_model(qtbot, panel, runs["diffusion"])
    assert panel.sampling_box.isVisibleTo(panel)
    # the header names the latent it walks: the initial noise, not the unused --latent-dim
    size = model.channels * model.config.image_size ** 2
    assert f"latent {size} ·" in panel.model_label.text() and size != model.config.latent_dim
    titles = [panel.sampler_combo.itemText(i) for i in range(panel.sampler_combo.count())]
    assert sorted(titles) == ["DDIM", "DPM-Solver++"]
    assert panel.sample_steps_spin.value() == model.config.option("sample_steps")  # the run's
    assert panel.sample_steps_spin.minimum() == 1  # 0 steps cannot be entered
    # label dropout gives a "no class" row: "any" is offered, and guidance with a class
    assert panel.class_combo.itemData(0) == -1 and panel.class_combo.count() == 11
    assert panel.sampling_form.isRowVisible(panel.guidance_spin)

    panel.set_seed(5)
    panel.set_class_index(3)
    panel.set_sampling("ddim", STEPS, 1.5)
    settle(qtbot, panel)
    options = {"sampler": "ddim", "steps": STEPS, "guidance": 1.5}
    assert dict(panel.sampler_settings()) == options
    expected = sample(model, 1, 5, 3, **options)[0]
    assert np.array_equal(panel.current_image(), expected)
    assert np.array_equal(expected, sample(model, 1, 5, 3, **options)[0])  # deterministic

    panel.set_sampling("dpm++")
    settle(qtbot, panel)
    assert np.array_equal(panel.current_image(),
                          sample(model, 1, 5, 3, **{**options, "sampler": "dpm++"})[0])

    # "any": the model draws without a class, where guidance has no meaning
    panel.set_class_index(None)
    settle(qtbot, panel)
    assert panel.class_index() is None and not panel.guidance_spin.isEnabled()
    assert "guidance" not in dict(panel.sampler_settings())
    assert panel.sampling_note.text().startswith("Guidance needs a class")
    assert np.array_equal(panel.current_image(),
                          sample(model, 1, 5, None, sampler="dpm++", steps=STEPS)[0])


def test_sampling_shows_progress_and_a_newer_request_wins(
        qtbot, panel: ExplorerPanel, runs: dict[str, Path],
        models: dict[str, LoadedModel]) -> None:
    model = models["diffusion"]
    open_model(qtbot, panel, runs["diffusion"])
    steps: list[tuple[str, int, int]] = []
    panel.sampling_progress.connect(lambda *args: steps.append(args))
    cancelled = panel.worker.cancelled_count
    with qtbot.waitSignal(panel.sampling_progress, timeout=TIMEOUT_MS,
                          check_params_cb=lambda kind, step, n: kind == "render" and n == 30):
        panel.set_sampling("ddim", 30)  # a long run: wait until it is under way...
    assert panel.render_progress.maximum() == 30
    first = panel.latest_serial()
    panel.set_seed(panel.seed() + 1)  # ...then ask for something newer
    settle(qtbot, panel)
    assert panel.worker.cancelled_count > cancelled
    assert panel.shown_serial() > first and not panel.render_progress.isVisible()
    assert ("render", 30, 30) in steps  # the newer run went all the way, reported each step
    assert np.array_equal(panel.current_image(),
                          sample(model, 1, panel.seed(), panel.class_index(),
                                 **dict(panel.sampler_settings()))[0])


def test_denoising_tab_plays_and_exports_a_stamped_gif(qtbot, panel: ExplorerPanel,
                                                       runs: dict[str, Path],
                                                       models: dict[str, LoadedModel],
                                                       tmp_path: Path) -> None:
    model = models["diffusion"]
    open_model(qtbot, panel, runs["diffusion"])
    assert panel.tabs.isTabVisible(panel.tabs.indexOf(panel.denoise_page))
    panel.set_seed(8)
    panel.set_class_index(6)
    panel.set_sampling("ddim", 6, 2.0)
    with qtbot.waitSignal(panel.trajectory_shown, timeout=TIMEOUT_MS) as blocker:
        panel.tabs.setCurrentWidget(panel.denoise_page)  # drawn when the tab comes to front
    assert blocker.args == [7]  # pure noise + 6 steps
    frames = panel.trajectory_frames()
    options = {"sampler": "ddim", "steps": 6, "guidance": 2.0}
    assert frames is not None
    # the worker renders with one thread, this test with the machine's: the clipped clean-image
    # estimates can round a few pixels one level apart, no more
    want = trajectory(model, 8, 6, points=7, **options)
    assert np.abs(frames.astype(int) - want.astype(int)).max() <= 2
    final = sample(model, 1, 8, 6, **options)[0]
    assert np.abs(frames[-1].astype(int) - final.astype(int)).max() <= 2  # ends at the image
    strip = panel.denoise_strip.image()
    assert strip is not None and strip.shape[1] == 2 + 7 * 34  # 7 states (fewer than 8 steps)
    assert "Seed 8" in panel.denoise_settings.text()

    panel.denoise_player.fps_spin.setValue(60)
    seen: set[int] = set()
    panel.denoise_player.index_changed.connect(seen.add)
    start = panel.denoise_step()
    panel.denoise_player.play()
    assert panel.denoise_player.is_playing()
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=TIMEOUT_MS)  # it advances, and loops
    panel.denoise_player.pause()
    assert not panel.denoise_player.is_playing() and seen - {start}
    panel.denoise_player.set_index(3)
    assert np.array_equal(panel.denoise_view.image(), frames[3])

    gif = panel.export_denoising_gif(tmp_path / "denoise.gif")
    # every step is a frame (Pillow merges a state identical to the one before it: an untrained
    # model's states saturate alike)
    distinct = 1 + sum(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    with Image.open(gif) as image:
        assert image.n_frames == distinct and image.size == (128, 128)  # 4x by default
    stamp = read_provenance(gif)
    assert stamp.kind == "denoising" and stamp.seeds == (8,) and stamp.class_index == 6
    assert stamp.model == "diffusion" and stamp.run_folder == runs["diffusion"].name
    assert {k: stamp.sampler[k] for k in options} == options and stamp.ai_generated

    # switching the tab away and back with nothing changed does not draw again
    serial = panel._trajectory_serial
    panel.tabs.setCurrentWidget(panel.explore_page)
    panel.tabs.setCurrentWidget(panel.denoise_page)
    assert panel._trajectory_serial == serial


def test_save_current_stamps_what_each_tab_shows(qtbot, panel: ExplorerPanel,
                                                 runs: dict[str, Path],
                                                 models: dict[str, LoadedModel],
                                                 tmp_path: Path) -> None:
    model = models["cgan"]
    open_model(qtbot, panel, runs["cgan"])
    panel.set_seed(21)
    panel.set_class_index(4)
    settle(qtbot, panel)
    out = panel.save_current(tmp_path / "explore")  # no suffix: a .png is added
    assert out.suffix == ".png"
    with Image.open(out) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), sample(model, 1, 21, 4)[0])
    stamp = read_provenance(out)
    assert (stamp.kind, stamp.seeds, stamp.class_index) == ("explorer", (21,), 4)
    assert stamp.class_name == "4" and stamp.epoch == model.epoch

    panel.tabs.setCurrentWidget(panel.walk_page)
    with qtbot.waitSignal(panel.frames_changed, timeout=TIMEOUT_MS):
        panel.set_interpolation(1, 6, steps=4)
    panel.set_position(2)
    out = panel.save_current(tmp_path / "walk.png")
    stamp = read_provenance(out)
    assert (stamp.kind, stamp.seeds, stamp.class_index) == ("interpolation", (1, 6), 4)
    assert stamp.sampler["frame"] == 2 and stamp.sampler["path"] == "slerp"
    frames = panel.frames()
    assert frames is not None
    with Image.open(out) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), frames[2])
    gif = panel.save_current(tmp_path / "walk.gif")
    assert read_provenance(gif).kind == "interpolation"
    written = panel.export_frames(tmp_path / "frames")
    assert [read_provenance(p).sampler["frame"] for p in written] == [0, 1, 2, 3]

    panel.compare_count.setValue(3)
    with qtbot.waitSignal(panel.compare_done, timeout=TIMEOUT_MS):
        panel.tabs.setCurrentWidget(panel.compare_page)
    out = panel.save_current(tmp_path / "epochs.png")
    stamp = read_provenance(out)
    assert stamp.kind == "epoch-compare" and stamp.sampler["rows"] == 1
    assert stamp.sampler["n"] == 3 and stamp.sampler["last_epoch"] == 1


def test_save_current_on_the_denoising_tab(qtbot, panel: ExplorerPanel,
                                           runs: dict[str, Path], tmp_path: Path) -> None:
    open_model(qtbot, panel, runs["diffusion"])
    panel.set_sampling("dpm++", STEPS)
    with qtbot.waitSignal(panel.trajectory_shown, timeout=TIMEOUT_MS):
        panel.tabs.setCurrentWidget(panel.denoise_page)
    out = panel.save_current(tmp_path / "strip.png")
    stamp = read_provenance(out)
    assert stamp.kind == "denoising-strip" and stamp.sampler["sampler"] == "dpm++"
    with Image.open(out) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), panel.denoise_strip.image())
