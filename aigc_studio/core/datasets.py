"""Data sets, all brought to one form: uint8 images (N, C, S, S) plus integer labels.

Small sets (the bundled digits, shapes, torchvision sets, folders up to ``STREAM_THRESHOLD``
files) are decoded once and kept as one tensor; the trainer moves it to the device and draws
batches by indexing, with no per-batch loader overhead. Larger folders stream through a
``DataLoader`` with workers. Pixels become floats in [-1, 1] only per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from aigc_studio.core import images as imgs
from aigc_studio.errors import DataError
from aigc_studio.paths import default_data_root, resource_path

log = logging.getLogger(__name__)

TORCHVISION_SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
BUILTIN = ("digits", "shapes", *TORCHVISION_SETS)
STREAM_THRESHOLD = 20_000  # folders with more image files than this are streamed
SHAPES_DEFAULT_COUNT = 5_000
DIGIT_CLASSES = [str(i) for i in range(10)]


@dataclass
class ImageData:
    """A data set ready for training."""

    name: str
    image_size: int
    channels: int
    labels: torch.Tensor  # int64 (N,)
    class_names: list[str]
    images: torch.Tensor | None = None  # uint8 (N, C, S, S), None when streamed
    stream: torch.utils.data.Dataset | None = None  # yields (uint8 (C, S, S), label)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def describe(self) -> dict[str, object]:
        """JSON-ready summary for ``config.json`` and the run log."""
        return {
            "name": self.name,
            "num_images": len(self),
            "skipped": len(self.skipped),
            "channels": self.channels,
            "image_size": self.image_size,
            "classes": self.class_names,
            "streamed": self.stream is not None,
        }


def to_unit_range(batch_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the models' tanh range)."""
    return batch_u8.float().div_(127.5).sub_(1.0)


def load_dataset(
    name: str,
    image_size: int,
    *,
    channels: int | None = None,
    seed: int = 0,
    limit: int = 0,
    data_root: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImageData:
    """Load a built-in data set by name, or any folder of images by path.

    The order is shuffled with ``seed`` (the digits file is stored sorted by label), so a
    ``limit`` keeps every class.
    """
    key = name.strip().lower()
    if key == "digits":
        data = _digits(image_size)
    elif key == "shapes":
        data = shapes_dataset(limit or SHAPES_DEFAULT_COUNT, image_size, seed=seed)
    elif key in TORCHVISION_SETS:
        data = _torchvision(key, image_size, Path(data_root) if data_root else default_data_root())
    else:
        data = _folder(Path(name).expanduser(), image_size, channels or 3, limit, progress)
    if channels is not None and channels != data.channels and data.images is not None:
        data.images = _convert_channels(data.images, channels)
        data.notes.append(f"converted from {data.channels} to {channels} channels")
        data.channels = channels
    if data.images is not None:
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
        if limit:
            order = order[:limit]
        data.images, data.labels = data.images[order].contiguous(), data.labels[order]
    return data


def _digits(size: int) -> ImageData:
    path = resource_path("data", "mnist_5k.npz")
    try:
        with np.load(path) as npz:
            images, labels = npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"The bundled digits file {path} cannot be read ({exc}).") from None
    tensor = _resize_u8(torch.from_numpy(images)[:, None], size)
    return ImageData("digits", size, 1, torch.from_numpy(labels.astype(np.int64)), DIGIT_CLASSES,
                     images=tensor, notes=[f"MNIST 5k subset, 28x28 resized to {size}x{size}"])


def _resize_u8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a uint8 (N, C, H, W) batch with antialiasing, in chunks to bound memory."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images.contiguous()
    out = []
    for chunk in images.split(4096):
        x = F.interpolate(chunk.float(), size=(size, size), mode="bilinear",
                          antialias=True, align_corners=False)
        out.append(x.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def _convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    if channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).byte()


def shapes_dataset(count: int, size: int, *, seed: int = 0) -> ImageData:
    """Coloured circles, squares and triangles on varied backgrounds, deterministic by seed.

    Drawn at 4x and downsampled, so edges are antialiased. Labels: 0 circle, 1 square,
    2 triangle.
    """
    rng = np.random.default_rng(seed)
    big = size * 4
    out = np.empty((count, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, size=count)
    for i in range(count):
        bg = tuple(int(v) for v in rng.integers(0, 256, 3))
        fg = tuple(int(v) for v in (np.array(bg) + rng.integers(80, 176, 3)) % 256)
        canvas = Image.new("RGB", (big, big), bg)
        draw = ImageDraw.Draw(canvas)
        radius = rng.uniform(0.18, 0.38) * big
        cx, cy = rng.uniform(radius, big - radius, 2)
        if labels[i] == 0:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fg)
        elif labels[i] == 1:
            draw.regular_polygon((cx, cy, radius), 4, rotation=float(rng.uniform(0, 90)), fill=fg)
        else:
            draw.regular_polygon((cx, cy, radius), 3, rotation=float(rng.uniform(0, 120)), fill=fg)
        out[i] = np.asarray(canvas.resize((size, size), Image.Resampling.BOX))
    tensor = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    return ImageData("shapes", size, 3, torch.from_numpy(labels.astype(np.int64)),
                     ["circle", "square", "triangle"], images=tensor)


def _torchvision(key: str, size: int, root: Path) -> ImageData:
    from torchvision import datasets

    cls_name = TORCHVISION_SETS[key]
    cls = getattr(datasets, cls_name)
    try:
        ds = cls(str(root), train=True, download=False)
    except RuntimeError:
        try:
            root.mkdir(parents=True, exist_ok=True)
            log.info("Downloading %s into %s", cls_name, root)
            ds = cls(str(root), train=True, download=True)
        except Exception as exc:  # any network / disk failure ends in the same advice
            folder = root / cls_name / ("raw" if key != "cifar10" else "")
            log.warning("Downloading %s failed: %s", cls_name, exc)  # the mirrors' details
            raise DataError(
                f"{cls_name} is not in {folder} and could not be downloaded "
                f"({_download_reason(exc)}); use the bundled digits, or put the {cls_name} "
                "training files there."
            ) from None
    data = ds.data
    images = torch.as_tensor(np.asarray(data))
    images = images.permute(0, 3, 1, 2) if images.dim() == 4 else images[:, None]
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
    return ImageData(key, size, int(images.shape[1]), labels, list(ds.classes),
                     images=_resize_u8(images, size))


def _download_reason(exc: BaseException) -> str:
    """Why a download failed, in words: a disk problem names itself; torchvision's network
    errors ("Error downloading x.gz:" with the mirrors' replies below) mean no connection."""
    if isinstance(exc, OSError) and not isinstance(exc, URLError) and exc.strerror:
        return exc.strerror.lower()
    return "no internet connection?"


def _folder(root: Path, size: int, channels: int, limit: int,
            progress: Callable[[int, int], None] | None) -> ImageData:
    if not root.exists():
        if len(root.parts) > 1:  # a path: say so, no list of names it was never meant as
            raise DataError(f"The image folder {root} does not exist.")
        raise DataError(f"The data set {root} does not exist (expected a built-in name: "
                        f"{', '.join(BUILTIN)}, or a folder of images).")
    if not root.is_dir():
        raise DataError(f"The data set {root} is a file; choose a folder of images.")
    candidates, _ = imgs.find_images([root])
    if limit:
        candidates = candidates[:limit]
    if len(candidates) > STREAM_THRESHOLD:
        return _streamed_folder(root, size, channels)
    try:
        folder = imgs.load_folder(root, size, channels, max_images=limit, progress=progress)
    except imgs.ImageLoadError as exc:
        raise DataError(f"The image folder {exc}.") from None
    images = torch.from_numpy(folder.arrays).permute(0, 3, 1, 2).contiguous()
    notes = [f"{n} images {what}" for what, n in sorted(folder.notes_count.items())]
    return ImageData(root.name or str(root), size, channels,
                     torch.from_numpy(folder.labels.astype(np.int64)), folder.class_names,
                     images=images, skipped=list(folder.skipped), notes=notes)


class FolderStream(torch.utils.data.Dataset):
    """Decodes one file per item with the shared safe loader (for folders too big to keep)."""

    def __init__(self, paths: Sequence[Path], labels: Sequence[int], size: int,
                 channels: int) -> None:
        self.paths, self.labels = list(paths), list(labels)
        self.size, self.channels = size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        # A file that passed the header scan but fails to decode is replaced by the next one,
        # so a batch never breaks; the scan already counted the files it could see were bad.
        for offset in range(len(self.paths)):
            i = (index + offset) % len(self.paths)
            try:
                prepared = imgs.prepare_image(self.paths[i], self.size, self.channels)
            except imgs.ImageLoadError as exc:
                log.warning("Skipping %s", exc)
                continue
            return torch.from_numpy(prepared.array).permute(2, 0, 1).contiguous(), self.labels[i]
        raise DataError("No file of the streamed image folder could be decoded.")


def _streamed_folder(root: Path, size: int, channels: int) -> ImageData:
    usable, skipped = imgs.scan_folder(root)
    if not usable:
        raise DataError(f"The image folder {root} has no usable images.")
    class_names = sorted({_class_of(root, p) for p in usable})
    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[_class_of(root, p)] for p in usable]
    return ImageData(root.name, size, channels, torch.tensor(labels, dtype=torch.int64),
                     class_names, stream=FolderStream(usable, labels, size, channels),
                     skipped=skipped, notes=[f"{len(usable)} images streamed from disk"])


def _class_of(root: Path, path: Path) -> str:
    rel = path.relative_to(root).parts
    return rel[0] if len(rel) > 1 else root.name


class BatchSource:
    """Yields training batches (float [-1, 1] images and int64 labels, on the device) in order.

    Resident data is indexed on the device; streamed data goes through a ``DataLoader`` fed
    with the same order, so both paths shuffle identically and resume mid-epoch.
    """

    def __init__(self, data: ImageData, batch_size: int, device: torch.device,
                 *, workers: int = 2) -> None:
        if len(data) < batch_size:
            raise DataError(f"The data set {data.name} has {len(data)} images, fewer than the "
                            f"batch size {batch_size}; lower --batch-size.")
        self.data, self.batch_size, self.device, self.workers = data, batch_size, device, workers
        self.steps_per_epoch = len(data) // batch_size  # drop_last: BatchNorm needs full batches
        self.resident = data.images.to(device) if data.images is not None else None
        self.resident_labels = data.labels.to(device=device, dtype=torch.long)

    def batches(self, order: torch.Tensor, start: int = 0
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start .. steps_per_epoch-1`` of an epoch whose sample order is ``order``."""
        bs = self.batch_size
        used = order[: self.steps_per_epoch * bs]
        if self.resident is not None:
            idx = used.to(self.device)
            for i in range(start, self.steps_per_epoch):
                rows = idx[i * bs:(i + 1) * bs]
                yield to_unit_range(self.resident[rows]), self.resident_labels[rows]
            return
        loader = torch.utils.data.DataLoader(
            self.data.stream, batch_size=bs, sampler=used[start * bs:].tolist(),
            num_workers=self.workers, pin_memory=self.device.type == "cuda",
            persistent_workers=False, drop_last=True)
        for batch, labels in loader:
            yield (to_unit_range(batch.to(self.device, non_blocking=True)),
                   labels.to(self.device, dtype=torch.long, non_blocking=True))
