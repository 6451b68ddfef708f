"""The frozen app's entry script (PyInstaller runs this, not ``aigc_studio/__main__.py``).

It is the same as ``aigc-studio`` / ``python -m aigc_studio``, plus what only a bundle needs:

- ``multiprocessing.freeze_support()``: a DataLoader worker started with "spawn" (Windows,
  macOS) re-runs this executable; without it each worker would open another window.
- In a windowed app ``sys.stdout``/``sys.stderr`` are None. The app copes with that (its
  writers check for None), but third-party code may not, so stray writes go to os.devnull.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _ensure_streams() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


if __name__ == "__main__":
    multiprocessing.freeze_support()
    _ensure_streams()
    from aigc_studio.cli import main

    sys.exit(main())
