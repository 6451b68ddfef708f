"""The VAE family and the latent map: learning, exact resume, options, map, export."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_trainer import Recorder, _assert_same_training, _final_state

from aigc_studio import families
from aigc_studio.core.datasets import load_dataset
from aigc_studio.core.grid import make_grid
from aigc_studio.engine.callbacks import TrainingControl
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.export import export_model, onnx_max_difference
from aigc_studio.engine.inference import load_model, sample
from aigc_studio.engine.latent_map import (
    LatentMap,
    build_latent_map,
    class_color,
    encode_images,
    render_map,
    render_map_png,
)
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import CheckpointError
from aigc_studio.families.step import HealthContext
from aigc_studio.families.vae.model import VaeStep

Tiny = Callable[..., TrainConfig]
# the family's preferred optimiser settings; no per-epoch sample quality (it has tests of its own,
# and a resumed run records its real-data baselines again)
VAE = dict(model="vae", lr_g=1e-3, beta1=0.9, eval_samples=0)


def _tiny_vae(tiny: Tiny, **overrides: object) -> TrainConfig:
    return tiny(**{**VAE, **overrides})


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trained runs shared by the map and export tests (trained once per module)."""
    root = tmp_path_factory.mktemp("vae_runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_STUDIO_HOME", str(root / "home"))
        base = dict(dataset="digits", limit=256, batch_size=32, width=8, epochs=1, log_every=4,
                    seed=3)
        for name, extra in (("vae2", dict(VAE, latent_dim=2)), ("vae8", dict(VAE, latent_dim=8)),
                            ("ae", dict(model="autoencoder", latent_dim=4)),
                            ("gan", dict(model="dcgan", latent_dim=8, limit=64, eval_samples=0))):
            config = TrainConfig(**{**base, **extra}).validate()  # type: ignore[arg-type]
            end = Trainer(config, runs_root=root / name).fit()
            assert end.status == "finished"
        yield root


def _run(root: Path, name: str) -> Path:
    return next((root / name).iterdir())


# --------------------------------------------------------------------------- the family
def test_vae_learns(tiny: Tiny, tmp_path: Path) -> None:
    rec = Recorder()
    Trainer(_tiny_vae(tiny, latent_dim=2, epochs=3, limit=256), runs_root=tmp_path,
            callbacks=[rec]).fit()
    recon = [e.means["loss_recon"] for e in rec.epochs]
    assert recon[-1] < 0.8 * recon[0], recon
    assert rec.epochs[-1].means["loss_kl"] > 0.1  # the codes are used, not collapsed to the prior
    assert all(set(s.values) == {"loss_recon", "loss_kl"} for s in rec.steps)
    # the epoch grid: two rows of samples, then two pairs of original/reconstruction rows
    assert rec.epochs[-1].grid.shape == (2 + 6 * 34, 2 + 8 * 34, 3)


def test_vae_stop_and_resume_is_bit_identical(tiny: Tiny, tmp_path: Path) -> None:
    """The reparameterisation noise comes from the step's generator, saved with the run."""
    cpu = dict(epochs=3, limit=256, device="cpu")  # bit for bit on the CPU (GPU kernels vary)
    whole = Trainer(_tiny_vae(tiny, **cpu), runs_root=tmp_path / "a").fit()
    control = TrainingControl()
    rec = Recorder(stop_at=12, control=control)  # mid-way through epoch 2 (8 steps/epoch)
    stopped = Trainer(_tiny_vae(tiny, **cpu), runs_root=tmp_path / "b", control=control,
                      callbacks=[rec]).fit()
    assert stopped.status == "stopped" and stopped.step == 12
    assert _final_state(stopped.run_dir)["epoch_step"] == 4
    resumed = Trainer.resume(stopped.run_dir).fit()
    assert resumed.status == "finished" and resumed.step == 24
    _assert_same_training(whole.run_dir, resumed.run_dir)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_vae_step_is_captured_as_a_cuda_graph(tiny: Tiny) -> None:
    """Noise drawn inside the step from its device generator: the whole step is one graph."""
    rec = Recorder()
    trainer = Trainer(_tiny_vae(tiny, device="cuda", epochs=2, limit=1024), callbacks=[rec],
                      save=False)
    assert trainer.fit().status == "finished" and trainer.runner.captured
    recon = [e.means["loss_recon"] for e in rec.epochs]
    assert recon[-1] < recon[0] and not rec.warnings


def test_beta_reaches_the_step_and_weights_the_kl(tiny: Tiny, tmp_path: Path) -> None:
    trainers = []
    for beta in (0.0, 4.0):
        trainer = Trainer(_tiny_vae(tiny, limit=64, extras={"beta": beta}), runs_root=tmp_path,
                          save=False)
        trainer.prepare()
        trainers.append(trainer)
    steps = [t.step_fn for t in trainers]
    assert all(isinstance(s, VaeStep) for s in steps)
    assert [s.beta for s in steps] == [0.0, 4.0]
    assert TrainConfig(model="vae").option("beta") == 1.0


def test_posterior_collapse_is_a_health_warning() -> None:
    impl = families.get("vae").impl

    def warnings(kl: float, epochs: int) -> list[str]:
        return impl.health_warnings(HealthContext({"loss_recon": 300.0, "loss_kl": kl}, epochs,
                                                  {}, torch.zeros(0), torch.device("cpu"), 0.5))

    assert warnings(4.0, 5) == [] and warnings(0.001, 1) == []
    (message,) = warnings(0.001, 5)
    assert "posterior collapse" in message and "--beta" in message


@pytest.mark.parametrize(("config", "message"), [
    (dict(model="vae", extras={"loss": "hinge"}), "--loss does not apply to a VAE model."),
    (dict(model="vae", extras={"beta": -1.0}), "--beta must be from 0.0 to 1000.0, not -1.0."),
    (dict(model="vae", extras={"beta": "high"}), "--beta must be a float, not 'high'."),
    (dict(model="dcgan", extras={"beta": 1.0}), "--beta does not apply to a DCGAN model."),
])
def test_bad_options_are_one_sentence(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**config).validate()
    assert str(caught.value) == message


def test_family_declaration() -> None:
    family = families.get("vae")
    assert family.capabilities.samples and family.capabilities.encodes
    assert family.step_metrics == ("loss_recon", "loss_kl")
    assert {m.group for m in family.metrics} <= {p.key for p in family.plots}
    assert family.defaults["latent_dim"] == 2
    assert family.option("beta") is not None and family.option("beta").default == 1.0


# --------------------------------------------------------------------------- the latent map
def test_latent_map_of_a_2d_vae(runs_dir: Path, tmp_path: Path) -> None:
    model = load_model(_run(runs_dir, "vae2"))
    lmap = build_latent_map(model, limit=300)
    assert isinstance(lmap, LatentMap) and not lmap.projected and lmap.note == ""
    assert lmap.coords.shape == (300, 2) and lmap.coords.dtype == np.float32
    assert lmap.labels.shape == (300,) and lmap.class_names == tuple("0123456789")
    assert lmap.thumbnails.shape == (300, 32, 32, 3)
    data = load_dataset("digits", 32, channels=1, seed=3, limit=300)  # the run's data, in order
    # identity: the map's points are the encoded means themselves
    assert np.allclose(lmap.coords, encode_images(model, data.images), atol=1e-5)
    x, y = lmap.locate(data.images[7].permute(1, 2, 0).numpy())
    assert np.allclose((x, y), lmap.coords[7], atol=1e-5)
    image = lmap.decode_point(x, y)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert np.array_equal(image, lmap.decode_points(np.array([[x, y]]))[0])
    x0, x1, y0, y1 = lmap.extent
    inside = ((lmap.coords[:, 0] >= x0) & (lmap.coords[:, 0] <= x1)
              & (lmap.coords[:, 1] >= y0) & (lmap.coords[:, 1] <= y1))
    assert inside.mean() > 0.95
    pts = lmap.grid_points(4)
    assert pts.shape == (16, 2)
    assert pts[0, 0] < pts[3, 0] and pts[0, 1] > pts[12, 1]  # row by row, from the top left


def test_map_png_has_scatter_beside_matching_grid(runs_dir: Path, tmp_path: Path) -> None:
    lmap = build_latent_map(load_model(_run(runs_dir, "vae2")), limit=500)
    path = render_map_png(lmap, tmp_path / "map.png", grid=6)
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert np.array_equal(picture, render_map(lmap, grid=6))
    grid = make_grid(lmap.decoded_grid(6), ncols=6, pad=0)
    side = grid.shape[0]
    assert side == 6 * 32
    # the right panel is the decoded grid, pixel for pixel; the left one, coloured points
    found = [(y, x) for y in range(picture.shape[0] - side + 1)
             for x in (picture.shape[1] - 16 - side,)
             if np.array_equal(picture[y:y + side, x:x + side], grid)]
    assert found, "the decoded grid is not in the right panel"
    top = found[0][0]
    scatter = picture[top:top + side, 16:16 + side].reshape(-1, 3)
    colours = {tuple(c) for c in scatter}
    assert sum(class_color(i) in colours for i in range(10)) >= 8


def test_latent_map_projects_a_larger_latent_space(runs_dir: Path) -> None:
    lmap = build_latent_map(load_model(_run(runs_dir, "vae8")), limit=200)
    assert lmap.projected and lmap.axis_names == ("PC 1", "PC 2")
    assert lmap.note.startswith("Latent size 8: the map shows the first two principal "
                                "directions of the encoded means (")
    assert 0 < sum(lmap.explained) <= 1 + 1e-6 and lmap.explained[0] >= lmap.explained[1]
    assert np.allclose(lmap.basis @ lmap.basis.T, np.eye(2), atol=1e-5)
    z = lmap.to_latent(lmap.coords[:5]).numpy()
    assert np.allclose(lmap.to_map(z), lmap.coords[:5], atol=1e-4)
    assert lmap.decoded_grid(3).shape == (9, 32, 32, 3)
    assert lmap.coords.mean(axis=0) == pytest.approx([0.0, 0.0], abs=1e-4)


def test_latent_map_of_an_autoencoder_and_refusal_of_a_gan(runs_dir: Path) -> None:
    lmap = build_latent_map(load_model(_run(runs_dir, "ae")), limit=100)
    assert lmap.projected and lmap.coords.shape == (100, 2)
    with pytest.raises(CheckpointError) as caught:
        build_latent_map(load_model(_run(runs_dir, "gan")), limit=100)
    message = str(caught.value)
    assert "is a DCGAN, which samples images from noise; the latent map needs a model that " \
           "encodes (Autoencoder or VAE)." in message


# --------------------------------------------------------------------------- inference, export
def test_vae_samples_reconstructs_and_exports(runs_dir: Path, tmp_path: Path) -> None:
    run = _run(runs_dir, "vae2")
    model = load_model(run)
    assert sample(model, 4, 7).shape == (4, 32, 32, 3)
    weights = export_model(model, "safetensors", tmp_path / "vae.safetensors")
    again = load_model(weights)
    assert np.array_equal(sample(again, 4, 7), sample(model, 4, 7))
    onnx_path = export_model(model, "onnx", tmp_path / "vae.onnx")
    assert onnx_path.stat().st_size > 1000
    assert onnx_max_difference(model, onnx_path) < 1e-4
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.net(x), model.net.decode(model.net.encode(x)))
