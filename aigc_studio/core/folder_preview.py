"""A quick look at a data set before training on it: for a folder, how many images are usable
and a few of them prepared exactly as they will be fed (no Qt, no torch); for a built-in set, a
few of its images as the model sees them (torch, loaded only then). The sentences here are the
window's: they say what to pick, not which command-line name was expected."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aigc_studio.core.images import prepare_image, scan_folder
from aigc_studio.errors import AigcError


@dataclass(frozen=True)
class FolderPreview:
    """What a preview found: a few prepared images, counts and one note per problem."""

    folder: Path
    arrays: list[np.ndarray] = field(default_factory=list)
    usable: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    message: str = ""  # a built-in set's one line (a folder's comes from its counts)


def folder_problem(folder: Path) -> str:
    """Why a picked folder cannot be trained on now, in the window's words ("": it can)."""
    folder = Path(folder)
    if not folder.exists():
        return f"The folder {folder} no longer exists: pick another folder or a data set."
    if not folder.is_dir():
        return f"{folder} is a file, not a folder: pick a folder of images or a data set."
    return ""


def empty_text(folder: Path, skipped: int) -> str:
    """The sentence for a folder with nothing to train on (Start stays off until it changes)."""
    why = f" ({skipped} file{'s' if skipped != 1 else ''} skipped)" if skipped else ""
    return (f"No usable images in {Path(folder).name or folder}{why}: pick another folder "
            "or a data set.")


def preview_folder(folder: Path, size: int, channels: int | None = None, count: int = 8,
                   cancel: threading.Event | None = None) -> FolderPreview:
    """Sort the folder into usable / skipped from the headers, then prepare ``count`` images
    (a file that only shows it is truncated when decoded counts as skipped)."""
    folder = Path(folder)
    problem = folder_problem(folder)
    if problem:
        raise AigcError(problem)
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


def preview_builtin(name: str, size: int, count: int = 8,
                    data_root: Path | None = None) -> FolderPreview:
    """A few images of a built-in set as the model will see them; a torchvision set only
    when it is already downloaded (a preview never downloads). Imports torch: run it in the
    background."""
    from aigc_studio.core.datasets import TORCHVISION_SETS, load_dataset
    from aigc_studio.paths import default_data_root

    root = Path(data_root) if data_root else default_data_root()
    if name in TORCHVISION_SETS and not _downloaded(TORCHVISION_SETS[name], root):
        return FolderPreview(Path(name), message=(
            f"{TORCHVISION_SETS[name]} is not downloaded yet: it is downloaded into {root} "
            "when training starts (an internet connection is needed once)."))
    data = load_dataset(name, size, limit=count, data_root=root)
    assert data.images is not None  # built-in sets are held in memory
    arrays = list(data.images.permute(0, 2, 3, 1).contiguous().numpy())
    how = "; ".join(data.notes) or f"{size}x{size}"
    return FolderPreview(Path(name), arrays, usable=len(arrays), notes=list(data.notes),
                         message=f"A few images as the model will see them ({how}).")


def _downloaded(class_name: str, root: Path) -> bool:
    """Whether torchvision finds the set in ``root`` without downloading it."""
    from torchvision import datasets

    try:
        getattr(datasets, class_name)(str(root), train=True, download=False)
    except RuntimeError:
        return False
    return True
