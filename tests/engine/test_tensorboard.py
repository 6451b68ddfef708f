"""TensorBoard event files, read back with TensorBoard's own reader: every metric of the
run's metrics.jsonl, the epoch grids and the settings; refusals in one sentence."""

from __future__ import annotations

import errno
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_studio.engine import runs
from aigc_studio.engine import tensorboard as tb
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer
from aigc_studio.errors import AigcError

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)


def _read(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0,
                                                       "tensors": 0})
    acc.Reload()
    return acc


def _expected_tags(run: Path) -> set[str]:
    tags = set()
    for record in runs.read_metrics(run):
        if record.get("kind") in ("step", "epoch"):
            tags |= {f"{record['kind']}/{k}" for k in runs.metric_values(record)}
    return tags


def _snapshot(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny two-epoch run trained with ``tensorboard=True``."""
    config = TrainConfig(dataset="digits", limit=96, batch_size=32, width=8, latent_dim=8,
                         epochs=2, log_every=1, seed=3, eval_samples=0, tensorboard=True)
    end = Trainer(config.validate(), runs_root=tmp_path_factory.mktemp("runs")).fit()
    assert end.run_dir is not None
    return end.run_dir


def test_live_writer_holds_every_metric_and_the_grids(live_run: Path) -> None:
    acc = _read(live_run / tb.LIVE_FOLDER)
    scalars = set(acc.Tags()["scalars"])
    expected = _expected_tags(live_run)
    assert expected and expected <= scalars
    assert [e.step for e in acc.Scalars("epoch/loss_d")] == [1, 2]
    steps = [r["step"] for r in runs.read_metrics(live_run) if r.get("kind") == "step"]
    assert [e.step for e in acc.Scalars("step/loss_g")] == steps
    assert [e.step for e in acc.Images("samples")] == [1, 2]
    assert {"final/loss_d", "final/loss_g"} <= scalars


def test_export_matches_the_run_and_leaves_it_untouched(live_run: Path, tmp_path: Path) -> None:
    before = _snapshot(live_run)
    out = tb.export_tensorboard(live_run, tmp_path / "tb")
    assert _snapshot(live_run) == before
    acc = _read(out)
    assert _expected_tags(live_run) <= set(acc.Tags()["scalars"])
    images = acc.Images("samples")
    assert [e.step for e in images] == [1, 2]
    assert images[0].width == 2 + 8 * 34  # the saved grid, as written
    loss = [r["loss_d"] for r in runs.read_metrics(live_run) if r.get("kind") == "epoch"]
    assert [round(e.value, 5) for e in acc.Scalars("epoch/loss_d")] == \
        [round(v, 5) for v in loss]
    # the hyperparameters with the final metrics, as the HParams plugin reads them
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    content = acc.PluginTagToContent("hparams")
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    params = start.session_start_info.hparams
    assert params["lr_g"].number_value == pytest.approx(2e-4)
    assert params["loss"].string_value == "bce" and params["model"].string_value == "dcgan"
    experiment = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert {"final/loss_d", "final/loss_g"} <= {m.name.tag for m in experiment.metric_infos}


def test_export_refusals_are_one_sentence(live_run: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(live_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(AigcError, match=r"Cannot write TensorBoard files to .*; the run is "
                                        r"untouched\.$"):
        tb.export_tensorboard(live_run, blocker / "tb")

    real = tb.writer_class()

    class FullDisk(real):  # type: ignore[misc, valid-type]
        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tb, "writer_class", lambda: FullDisk)
    with pytest.raises(AigcError, match="No space left on device"):
        tb.export_tensorboard(live_run, tmp_path / "full")
    with pytest.raises(AigcError, match="is not a run folder"):
        tb.export_tensorboard(tmp_path, tmp_path / "x")
    assert _snapshot(live_run) == before


def test_without_the_package_it_says_how_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Callable[..., TrainConfig]
) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(AigcError, match=r"pip install tensorboard$") as caught:
        tb.export_tensorboard(tmp_path, tmp_path / "out")
    assert "\n" not in str(caught.value)
    with pytest.raises(AigcError, match=r"pip install tensorboard$"):
        Trainer(tiny(tensorboard=True), runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # refused before a run folder was made
