"""Start-up and automation: torch loads after the first paint; --demo --quit-when-done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def run_gui(args: list[str], home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AIGC_STUDIO_HOME": str(home),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([sys.executable, "-m", "aigc_studio.gui", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_gui_modules_do_not_import_torch() -> None:
    code = ("import sys, aigc_studio.gui.app, aigc_studio.gui.main_window; "
            "print(sorted(m for m in ('torch', 'torchvision', 'pyqtgraph') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"  # pyqtgraph and torch load after the window is painted


def test_window_paints_before_torch_loads(tmp_path: Path) -> None:
    result = run_gui(["--exit-after-paint"], tmp_path)
    assert result.returncode == 0, result.stderr
    fields = dict(part.split("=") for part in result.stdout.split())
    assert fields["torch_at_paint"] == "False"
    print("first paint after", fields["painted_since_process_start_s"], "s")


@pytest.mark.slow
def test_demo_trains_screenshots_and_exits_zero(tmp_path: Path) -> None:
    shot = tmp_path / "shots" / "demo.png"
    result = run_gui(["--demo", "--epochs", "1", "--limit", "64", "--quit-when-done",
                      "--screenshot", str(shot)], tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as image:
        assert image.size[0] >= 800 and image.size[1] >= 500
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "samples" / "epoch_0001.png").exists()


def test_bad_epochs_flag_is_refused(tmp_path: Path) -> None:
    from aigc_studio.gui.app import run_app

    assert run_app(["--epochs", "0"]) == 2
