"""Which saved epochs the *Compare epochs* tab renders, newest first.

A run of 30 epochs drew 30 rows oldest first, so reaching the newest took 80 wheel clicks
(issue 13). The user picks the epochs instead: all of them, the last K, or every Nth counted
back from the newest (so the newest is always there). Torch- and Qt-free.
"""

from __future__ import annotations

from pathlib import Path

from aigc_studio.engine import runs

PICK_ALL, PICK_LAST, PICK_EVERY = "all", "last", "every"
PICKS = (  # (mode, what the picker says)
    (PICK_LAST, "The last"),
    (PICK_EVERY, "Every Nth"),
    (PICK_ALL, "Every saved epoch"),
)


def saved_epochs(run_dir: Path) -> dict[int, Path]:
    """{epoch: weights file} of a run, read from the file names (epoch_NNNN.safetensors)."""
    return {int(path.stem.rpartition("_")[2]): path for path in runs.epoch_weights(run_dir)}


def pick_epochs(available: list[int] | set[int], mode: str, n: int) -> list[int]:
    """The epochs to show, newest first: every one, the last ``n``, or every ``n``-th
    counted back from the newest."""
    newest_first = sorted(available, reverse=True)
    n = max(1, int(n))
    if mode == PICK_LAST:
        return newest_first[:n]
    if mode == PICK_EVERY:
        return newest_first[::n]
    return newest_first


def pick_caption(mode: str, n: int) -> str:
    """The pick in words, for a saved image's provenance ("last 8", "every 5th", "all")."""
    if mode == PICK_LAST:
        return f"last {n}"
    if mode == PICK_EVERY:
        return f"every {_ordinal(n)}"
    return "all"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
