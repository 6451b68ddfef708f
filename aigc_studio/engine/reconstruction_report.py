"""Saving a batch of reconstructions: PNGs per image and CSV tables, every file atomic.

The window's reconstruction panel calls this; it holds no Qt and no torch (the results are
plain :class:`~aigc_studio.engine.inference.Reconstruction` records with numpy images).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.core.grid import save_png
from aigc_studio.core.quality import error_heatmap

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aigc_studio.engine.inference import Reconstruction

RESULTS_CSV = "results.csv"
SKIPPED_CSV = "skipped.csv"


def _csv_bytes(header: list[str], rows: Sequence[Sequence[str]]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def write_results_csv(results: Sequence[Reconstruction], path: Path, *,
                      epoch: int | None = None, checkpoint: Path | None = None) -> Path:
    """``file, epoch, checkpoint, mse, psnr, ssim, notes`` per reconstruction, written
    atomically; epoch and checkpoint name the weights that made them (results are re-run as a
    run trains, so the numbers mean nothing without them)."""
    made_by = ["" if epoch is None else str(epoch), "" if checkpoint is None else str(checkpoint)]
    rows = [[str(r.path), *made_by, f"{r.mse:.6g}", f"{r.psnr:.6g}", f"{r.ssim:.6g}",
             "; ".join(r.notes)] for r in results]
    header = ["file", "epoch", "checkpoint", "mse", "psnr", "ssim", "notes"]
    atomic_write_bytes(Path(path), _csv_bytes(header, rows))
    return Path(path)


def write_skipped_csv(failures: Sequence[tuple[Path, str]], path: Path) -> Path:
    """``file, reason`` per unusable file, written atomically."""
    rows = [[str(p), reason] for p, reason in failures]
    atomic_write_bytes(Path(path), _csv_bytes(["file", "reason"], rows))
    return Path(path)


def save_reconstructions(results: Sequence[Reconstruction], folder: Path,
                         failures: Sequence[tuple[Path, str]] = (), *,
                         epoch: int | None = None, checkpoint: Path | None = None
                         ) -> list[Path]:
    """Write ``NNNN_name_{original,reconstruction,error}.png`` per image, ``results.csv`` (with
    the model's ``epoch`` and ``checkpoint``) and, when files were unusable, ``skipped.csv``;
    returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, r in enumerate(results, start=1):
        stem = re.sub(r"[^\w.-]+", "_", r.path.stem)[:60] or "image"
        for kind, array in (("original", r.original), ("reconstruction", r.reconstruction),
                            ("error", error_heatmap(r.original, r.reconstruction))):
            target = folder / f"{i:04d}_{stem}_{kind}.png"
            save_png(array, target)
            written.append(target)
    written.append(write_results_csv(results, folder / RESULTS_CSV, epoch=epoch,
                                     checkpoint=checkpoint))
    if failures:
        written.append(write_skipped_csv(failures, folder / SKIPPED_CSV))
    return written
