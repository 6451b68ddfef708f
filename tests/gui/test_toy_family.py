"""A family added at run time shows up everywhere in the window, with no other file changed.

The toy family lives in a temporary module written by the test (a tiny network and step); it
is registered, appears in the model list, plots its own metric series (step and epoch axes),
lists in the runs browser with its short name and trains for real; then it is unregistered.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aigc_studio import families
from aigc_studio.engine import runs as run_store
from aigc_studio.engine.config import TrainConfig
from aigc_studio.families import Capabilities, MetricSpec, ModelFamily, PlotSpec
from tests.gui.conftest import TRAIN_TIMEOUT_MS, tiny_config

TOY_MODULE = textwrap.dedent('''
    """A toy family: one linear layer that learns the mean image."""
    from __future__ import annotations

    import torch
    from torch import nn

    from aigc_studio.core.grid import make_grid, to_uint8_images
    from aigc_studio.families.base import FamilyImpl
    from aigc_studio.families.step import TrainStep


    class ToyNet(nn.Module):
        def __init__(self, size, channels):
            super().__init__()
            self.shape = (channels, size, size)
            self.image = nn.Parameter(torch.zeros(1, channels, size, size))

        def forward(self, x):
            return self.image.expand(x.shape[0], *self.shape)


    class ToyStep(TrainStep):
        def __init__(self, net, opt, accel):
            super().__init__(accel)
            self.net, self.opt = net, opt

        def __call__(self, real, labels):
            self.opt.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(self.net(real).float(), real.float())
            self.update(loss, self.opt)
            self.end_step()
            return loss.detach()[None]


    class ToyImpl(FamilyImpl):
        def build_networks(self, config, channels, num_classes=0):
            return {"toy": ToyNet(config.image_size, channels)}

        def build_optimizers(self, nets, config, adam):
            return {"g": adam(nets["toy"].parameters(), config.lr_g)}

        def make_step(self, nets, optims, ctx):
            return ToyStep(nets["toy"], optims["g"], ctx.accel)

        def fixed_inputs(self, config, real_images):
            return real_images(4)

        def epoch_grid(self, nets, fixed, device):
            with torch.no_grad():
                out = nets["toy"](fixed.to(device)).float().cpu().numpy()
            return make_grid(to_uint8_images(out), ncols=4)
''')

TOY = ModelFamily(
    name="toy",
    title="Toy model",
    short="Toy",
    description="Learns the mean image (a test family).",
    capabilities=Capabilities(),
    metrics=(MetricSpec("loss_toy", "toy loss", color="#123456"),
             MetricSpec("toy_score", "toy score", axis="epoch", group="epoch")),
    plots=(PlotSpec("loss", "Toy loss", "loss"),),
    inference_key="toy",
    implementation="toy_family_gui:ToyImpl",
)


@pytest.fixture
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelFamily]:
    """The toy family, registered for one test (its module on sys.path), then removed."""
    folder = tmp_path_factory.mktemp("toy-module")
    (folder / "toy_family_gui.py").write_text(TOY_MODULE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    families.register(TOY)
    try:
        yield TOY
    finally:
        families.unregister(TOY.name)
        sys.path.remove(str(folder))
        sys.modules.pop("toy_family_gui", None)


def toy_run(root: Path) -> Path:
    """A toy run folder as the engine writes it: config.json and metrics.jsonl."""
    config = TrainConfig(model="toy", dataset="shapes", epochs=2, latent_dim=8).validate()
    run_dir = run_store.create_run_dir(root, config, {})
    lines = [{"kind": "step", "epoch": 1, "step": s, "loss_toy": 1.0 / s, "images_per_s": 9.0}
             for s in range(1, 6)]
    lines += [{"kind": "epoch", "epoch": 1, "step": 5, "loss_toy": 0.4, "toy_score": 0.25,
               "mystery": 3.0, "seconds": 1.0, "images_per_s": 9.0},
              {"kind": "step", "epoch": 2, "step": 6, "loss_toy": 0.1, "odd_metric": 7.0}]
    (run_dir / run_store.METRICS).write_text("".join(json.dumps(r) + "\n" for r in lines))
    return run_dir


def test_a_registered_family_appears_in_the_model_list_plots_and_runs(
        qtbot, make_window: Callable, runs_root: Path, toy: ModelFamily) -> None:
    run_dir = toy_run(runs_root)
    window = make_window(wait_ready=False, load_torch=False)
    window.finish_startup()  # the plots are built after the first paint

    assert "toy" in window.panel.model_names()  # the model list comes from the registry
    window.panel.select_model("toy")
    assert window.panel.model.currentText() == "Toy model"
    assert not window.panel.lr_d.isVisibleTo(window.panel)  # one optimiser: one rate
    assert window.plots.visible_plots() == ["loss"]
    assert window.plots.shown_series() == ["loss_toy"]
    assert "toy loss" in window.plots.plot("loss").getPlotItem().titleLabel.text

    with qtbot.waitSignal(window.runs.listed, timeout=30_000):
        window.runs.refresh()  # the runs browser's model column: the family's short name
    rows = [window.runs.tree.topLevelItem(i) for i in range(window.runs.tree.topLevelItemCount())]
    assert [r.text(1) for r in rows] == ["Toy"]
    assert "toy loss 0.1" in rows[0].toolTip(0)

    assert window.open_run(run_dir, follow=False)  # every recorded metric, step and epoch
    assert window.run_header.text().startswith("Toy model on shapes")
    assert window.plots.point_count("loss_toy") == 6  # the epoch line's mean is not a point
    assert window.plots.point_count("toy_score") == 1
    assert window.plots.point_count("mystery") == 1  # declared by no family: still plotted
    assert window.plots.point_count("odd_metric") == 1
    assert window.plots.visible_plots() == ["loss", "other", "epoch"]
    assert window.plots.series_label("odd_metric") == "odd metric"  # a generic label
    assert set(window.plots.shown_series()) == {"loss_toy", "odd_metric", "toy_score",
                                                "mystery"}


def test_a_registered_family_trains_in_the_window(qtbot, make_window: Callable,
                                                  toy: ModelFamily) -> None:
    window = make_window()
    with qtbot.waitSignal(window.training_done, timeout=TRAIN_TIMEOUT_MS) as done:
        assert window.start_training(tiny_config(model="toy", epochs=1, limit=64))
    end = done.args[0]
    assert end is not None and end.status == "finished", window.banner.text()
    assert window.plots.point_count("loss_toy") > 0
    assert window.samples.epochs() == [1]
    assert [window.runs.tree.topLevelItem(0).text(1)] == ["Toy"]
