"""The run store: damaged runs are listed as damaged and never stop the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aigc_studio.cli import main
from aigc_studio.engine import runs
from aigc_studio.engine.config import TrainConfig
from aigc_studio.engine.trainer import Trainer

Tiny = Callable[..., TrainConfig]


def test_damaged_runs_are_marked_and_the_rest_still_open(tiny: Tiny, tmp_path: Path,
                                                         capsys) -> None:
    good = Trainer(tiny(epochs=1), runs_root=tmp_path).fit().run_dir
    no_config = tmp_path / "20200101-000000-dcgan-lost"
    no_config.mkdir()
    (no_config / "metrics.jsonl").write_text('{"kind": "step", "step": 1}\n')
    corrupt = tmp_path / "20200101-000001-dcgan-corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{not json")
    bad_metrics = Trainer(tiny(epochs=1), runs_root=tmp_path).fit().run_dir
    lines = (bad_metrics / "metrics.jsonl").read_text().splitlines()
    lines.insert(3, "garbage{")
    (bad_metrics / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "not-a-run").mkdir()

    listed = {r.path: r for r in runs.list_runs(tmp_path)}
    assert set(listed) == {good, no_config, corrupt, bad_metrics}
    assert listed[good].damaged is None and listed[good].epochs_done == 1
    assert "config.json is missing" in listed[no_config].damaged
    assert "config.json is corrupt" in listed[corrupt].damaged
    assert "metrics.jsonl is corrupt at line 4" in listed[bad_metrics].damaged
    assert listed[bad_metrics].epochs_done == 1  # what can be read still is

    assert main(["runs", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("DAMAGED") == 3 and good.name in out


def test_a_partly_written_last_line_is_not_damage(tiny: Tiny, tmp_path: Path) -> None:
    run = Trainer(tiny(epochs=1), runs_root=tmp_path).fit().run_dir
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"kind": "step", "ep')  # a writer mid-line (live or killed)
    info = runs.read_run(run)
    assert info.damaged is None and info.epochs_done == 1
    assert runs.read_metrics(run)[-1]["kind"] == "epoch"
