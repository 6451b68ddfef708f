"""A quick look at an image folder before training on it: how many images are usable, and a
few of them prepared exactly as they will be fed (no Qt, no torch)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aigc_studio.core.images import prepare_image, scan_folder


@dataclass(frozen=True)
class FolderPreview:
    """What a preview found: a few prepared images, counts and one note per problem."""

    folder: Path
    arrays: list[np.ndarray] = field(default_factory=list)
    usable: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def preview_folder(folder: Path, size: int, channels: int | None = None, count: int = 8,
                   cancel: threading.Event | None = None) -> FolderPreview:
    """Sort the folder into usable / skipped from the headers, then prepare ``count`` images
    (a file that only shows it is truncated when decoded counts as skipped)."""
    folder = Path(folder)
    usable, skipped = scan_folder(folder, cancel=cancel)
    arrays: list[np.ndarray] = []
    notes = [f"{Path(path).name}: {reason}" for path, reason in skipped]
    bad = 0
    for path in usable:
        if (cancel is not None and cancel.is_set()) or len(arrays) >= count:
            break
        try:
            prepared = prepare_image(path, size, channels or 3)
        except Exception as exc:  # a truncated file only shows when decoded
            bad += 1
            notes.append(f"{Path(path).name}: {exc}")
            continue
        arrays.append(np.asarray(prepared.array))
        notes.extend(f"{Path(path).name}: {n}" for n in prepared.notes)
    return FolderPreview(folder, arrays, len(usable) - bad, len(skipped) + bad, notes)
