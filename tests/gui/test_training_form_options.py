"""The training form: each family's own options, presets, "Copy as command", and live
learning-rate changes that stay with their run."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QGuiApplication

from aigc_studio import families
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.config import TrainConfig
from aigc_studio.gui.panels.training.form import TrainingPanel


@pytest.fixture
def panel(qtbot, studio_home: Path) -> TrainingPanel:
    form = TrainingPanel()
    qtbot.addWidget(form)
    form.show()
    return form


def test_each_family_shows_its_own_options_only(panel: TrainingPanel) -> None:
    for family in families.all_families():
        panel.select_model(family.name)
        shown = set(panel.options.visible_names())
        declared = {o.name for o in family.options}
        assert shown <= declared  # never another family's (stale) option
        assert shown == {o.name for o in family.options if family.records(o, {})}
        assert panel.config().extras == {}  # every option at its default
    panel.select_model("autoencoder")
    assert not panel.options.isVisible() and panel.config().extras == {}


def test_critic_steps_appear_with_the_wgan_loss_only(panel: TrainingPanel) -> None:
    panel.select_model("dcgan")
    assert "n_critic" not in panel.options.visible_names()
    panel.options.field("loss").setCurrentIndex(panel.options.field("loss").findData("wgan-gp"))
    assert "n_critic" in panel.options.visible_names()
    panel.options.field("n_critic").setValue(3)
    panel.options.field("conditional").setChecked(True)
    cfg = panel.config()
    assert cfg.extras == {"loss": "wgan-gp", "n_critic": 3, "conditional": True}
    panel.options.field("loss").setCurrentIndex(panel.options.field("loss").findData("hinge"))
    assert "n_critic" not in panel.config().extras  # hidden: not in the run either


def test_every_field_starts_at_one_x(qtbot, panel: TrainingPanel) -> None:
    """One label column across the boxes and the family's own options, for every family."""
    for family in families.all_families():
        panel.select_model(family.name)
        fields = [panel.dataset, panel.model, panel.width, panel.epochs, panel.precision,
                  *(panel.options.field(name) for name in panel.options.visible_names())]

        def lefts(fields: list = fields) -> set[int]:
            return {f.mapTo(panel, QPoint(0, 0)).x() for f in fields}

        qtbot.waitUntil(lambda lefts=lefts: len(lefts()) == 1, timeout=2000)


def test_guidance_only_for_a_conditional_diffusion_model(panel: TrainingPanel) -> None:
    panel.select_model("diffusion")
    assert {"guidance", "label_dropout"} <= set(panel.options.visible_names())
    panel.options.field("guidance").setValue(3.0)
    assert panel.config().extras == {"guidance": 3.0}
    panel.options.field("conditional").setChecked(False)
    assert panel.config().extras == {"conditional": False}  # guidance went with it


def test_switching_model_follows_its_defaults_but_keeps_user_values(panel: TrainingPanel
                                                                    ) -> None:
    panel.select_model("dcgan")
    panel.epochs.setValue(7)  # the user's choice
    panel.select_model("vae")
    vae = TrainConfig.defaults_for("vae")
    assert panel.latent_dim.value() == vae.latent_dim == 2  # the latent map's size
    assert panel.lr_g.value() == pytest.approx(vae.lr_g)
    assert panel.epochs.value() == 7
    panel.select_model("dcgan")
    assert panel.latent_dim.value() == TrainConfig().latent_dim
    panel.select_model("diffusion")
    assert panel.config().eval_samples == 0  # the family's default, not the GAN's


def test_the_loss_moves_the_betas_the_user_left_alone(panel: TrainingPanel) -> None:
    panel.select_model("dcgan")
    loss = panel.options.field("loss")
    loss.setCurrentIndex(loss.findData("hinge"))
    assert (panel.beta1.value(), panel.beta2.value()) == (0.0, 0.9)  # SN-GAN's Adam
    loss.setCurrentIndex(loss.findData("bce"))
    assert (panel.beta1.value(), panel.beta2.value()) == (0.5, 0.999)
    loss.setCurrentIndex(loss.findData("hinge"))
    panel.beta1.setValue(0.3)  # the user's choice stays through a loss change
    loss.setCurrentIndex(loss.findData("wgan-gp"))
    assert (panel.beta1.value(), panel.beta2.value()) == (0.3, 0.999)
    # a saved run shows as saved: its bce betas are not moved by showing its loss
    panel.set_config(TrainConfig(extras={"loss": "hinge"}, beta1=0.5, beta2=0.999).validate())
    assert (panel.config().beta1, panel.config().beta2) == (0.5, 0.999)


def test_a_run_config_round_trips_through_the_form(panel: TrainingPanel) -> None:
    cfg = TrainConfig(model="vae", dataset="digits", latent_dim=2, epochs=3,
                      extras={"beta": 4.0}, tensorboard=panel.tensorboard.isEnabled())
    panel.set_config(cfg.validate())
    again = panel.config()
    assert again.extras == {"beta": 4.0} and again.tensorboard == cfg.tensorboard
    assert again.to_dict() == panel.config().to_dict()
    panel.restore_values(panel.values())  # QSettings keeps the options too
    assert panel.config().extras == {"beta": 4.0}


def test_live_learning_rate_change_belongs_to_its_run(panel: TrainingPanel) -> None:
    panel.set_config(TrainConfig(dataset="digits", lr_g=2e-4, lr_d=2e-4).validate())
    panel.set_training(True)
    assert panel.apply_lr.isEnabled() and panel.lr_g.isEnabled()
    panel.lr_g.setValue(1e-4)  # changed mid-run
    assert panel.values()["lr_g"] == pytest.approx(2e-4)  # what settings would keep
    panel.set_training(False)
    assert panel.lr_g.value() == pytest.approx(2e-4)  # the next run starts from the default


def test_reset_to_defaults_keeps_the_data_set(panel: TrainingPanel) -> None:
    panel.set_config(TrainConfig(model="vae", dataset="shapes", width=48, epochs=3,
                                 extras={"beta": 9.0}).validate())
    panel.reset_to_defaults()
    cfg = panel.config()
    want = TrainConfig.defaults_for("vae")
    assert cfg.dataset == "shapes" and cfg.width == want.width and cfg.epochs == want.epochs
    assert cfg.extras == {}  # β back at 1


def test_presets_save_list_and_apply(panel: TrainingPanel, studio_home: Path) -> None:
    shipped = [panel.preset.itemData(i) for i in range(1, panel.preset.count())]
    assert len(shipped) >= 4  # seed DCGAN, hinge GAN, VAE map, diffusion digits
    for name in shipped:
        panel.apply_preset(name)
        panel.config()  # every shipped preset makes a valid form
    panel.set_config(TrainConfig(model="dcgan", dataset="shapes", epochs=4, seed=9,
                                 extras={"loss": "hinge"}).validate())
    path = panel.save_preset("my hinge")
    assert path.is_relative_to(studio_home)
    assert "my hinge" in [panel.preset.itemData(i) for i in range(panel.preset.count())]
    panel.reset_to_defaults()
    panel.apply_preset("my hinge")
    cfg = panel.config()
    assert (cfg.epochs, cfg.seed, cfg.extras["loss"]) == (4, 9, "hinge")


def test_processes_field_only_with_several_devices(panel: TrainingPanel) -> None:
    assert panel.processes_value() == 1
    assert not panel.processes.isVisible()
    panel.set_process_limit(2)
    assert panel.processes.isVisible()
    panel.processes.setValue(2)
    assert panel.processes_value() == 2 and panel.command().endswith("--nproc 2")
    panel.set_process_limit(1)
    assert panel.processes_value() == 1


def test_copy_as_command_trains_the_form_config(panel: TrainingPanel, tmp_path: Path) -> None:
    """The clipboard's command, run in a real subprocess, trains exactly the form's config."""
    panel.set_config(TrainConfig(model="dcgan", dataset="digits", limit=64, batch_size=32,
                                 width=8, latent_dim=16, epochs=1, seed=5, lr_g=3e-4,
                                 eval_samples=0, extras={"loss": "hinge"}).validate())
    text = panel.copy_command()
    assert QGuiApplication.clipboard().text() == text
    argv = shlex.split(text)
    assert argv[0] == "aigc-studio"
    out = tmp_path / "runs"
    subprocess.run([sys.executable, "-m", "aigc_studio", *argv[1:], "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    (run_dir,) = [p for p in out.iterdir() if run_store.is_run_dir(p)]
    trained = run_store.load_run_config(run_dir).to_dict()
    wanted = panel.config().to_dict()
    for key in ("model", "dataset", "limit", "batch_size", "width", "latent_dim", "epochs",
                "seed", "lr_g", "lr_d", "eval_samples", "extras"):
        assert trained[key] == wanted[key], key
    assert json.loads(json.dumps(trained["extras"])) == {"loss": "hinge"}
