"""The one helper every CLI error test goes through: no traceback, one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None,
            stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    """The real `aigc-studio` in a subprocess."""
    full = {**os.environ, "AIGC_STUDIO_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "aigc_studio", *args], text=True, env=full,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)


def one_sentence(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The helper every CLI error test uses: non-zero exit, no traceback, one error line
    that contains each ``expected`` text."""
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "Logging error" not in done.stderr, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], (text, done.stderr)
    return lines[0]
