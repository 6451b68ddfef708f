"""The latent map: a data set's images encoded and drawn as points, beside the decoder's grid.

For any family whose model encodes (autoencoder, VAE). With a 2-D latent space the map *is* the
latent space; with more dimensions it shows the first two principal directions of the encoded
means (and says so), and a point on the map decodes as the mean code plus that offset along
those two directions. The decoded grid covers the same rectangle as the scatter, cell for
cell, so the two panels line up: the manifold plot of Kingma & Welling (2013), Fig. 4.

Qt-free: everything comes out as numpy arrays (coordinates float32, images uint8 (H, W, 3)),
so the window's map view and ``aigc-studio map`` share it. :func:`build_latent_map` makes a
:class:`LatentMap`; :func:`render_map` / :func:`render_map_png` draw both panels with Pillow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from aigc_studio.core import images as imgs
from aigc_studio.core.datasets import ImageData, load_dataset, to_unit_range
from aigc_studio.core.grid import make_grid, save_png, to_uint8_images
from aigc_studio.core.provenance import Provenance
from aigc_studio.engine.inference import LoadedModel, decode, wrong_kind
from aigc_studio.errors import AigcError, CheckpointError

DEFAULT_LIMIT = 2000  # points on the map: enough to see the classes, quick to encode
DEFAULT_GRID = 20  # decoded images per side of the manifold grid
EDGE_PERCENTILES = (1.0, 99.0)  # the map's range: a few outliers do not shrink everything
MARGIN = 0.05  # of the range, on each side
# ten distinct class colours (the Tableau 10 palette), cycled for more classes
PALETTE = ((78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
           (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172))
UNLABELLED = (120, 170, 240)
BACKGROUND, INK, FAINT = (24, 24, 24), (230, 230, 230), (90, 90, 90)


@dataclass
class LatentMap:
    """Encoded data-set images as 2-D map points, and the way back from the map to images.

    Map coordinates ``(x, y)`` relate to latent codes ``z`` by ``z = mean + (x, y) @ basis``
    (identity basis and zero mean for a 2-D latent space); y grows upwards, as on a plot.
    """

    model: LoadedModel
    coords: np.ndarray  # float32 (N, 2): where each encoded image lies on the map
    labels: np.ndarray  # int64 (N,): class index of each point (all 0 when unlabelled)
    class_names: tuple[str, ...]  # names of the label indices; () when the data is unlabelled
    extent: tuple[float, float, float, float]  # (x_min, x_max, y_min, y_max) of both panels
    mean: np.ndarray  # float32 (latent_dim,): the code at the map's origin
    basis: np.ndarray  # float32 (2, latent_dim): the latent direction of each map axis
    projected: bool  # True: the axes are principal directions of a larger latent space
    explained: tuple[float, float]  # share of the codes' variance along each axis
    dataset: str = ""
    thumbnails: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 1, 1, 3),
                                                                               np.uint8))
    # uint8 (N, H, W, 3): the encoded images themselves, for a view's hover

    @property
    def labelled(self) -> bool:
        """True when points can be coloured by class (the data has two or more classes)."""
        return len(self.class_names) >= 2

    @property
    def axis_names(self) -> tuple[str, str]:
        return ("PC 1", "PC 2") if self.projected else ("z1", "z2")

    @property
    def note(self) -> str:
        """One sentence on what the axes are; empty when the map is the latent space itself."""
        if not self.projected:
            return ""
        share = sum(self.explained) * 100
        return (f"Latent size {self.mean.shape[0]}: the map shows the first two principal "
                f"directions of the encoded means ({share:.0f}% of their variance).")

    def to_latent(self, points: np.ndarray) -> torch.Tensor:
        """Map points (M, 2) -> latent codes (M, latent_dim) as a float32 tensor."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        return torch.from_numpy(self.mean[None, :] + pts @ self.basis)

    def to_map(self, codes: np.ndarray) -> np.ndarray:
        """Latent codes (M, latent_dim) -> map points (M, 2), float32."""
        centred = np.asarray(codes, dtype=np.float32) - self.mean[None, :]
        return (centred @ self.basis.T).astype(np.float32)

    def decode_points(self, points: np.ndarray) -> np.ndarray:
        """Map points (M, 2) -> decoded images uint8 (M, H, W, 3)."""
        return decode(self.model, self.to_latent(points))

    def decode_point(self, x: float, y: float) -> np.ndarray:
        """The image at one map point (a click or a drag on the map), uint8 (H, W, 3)."""
        return self.decode_points(np.array([[x, y]], np.float32))[0]

    def grid_points(self, n: int = DEFAULT_GRID) -> np.ndarray:
        """Centres of an n x n grid over the extent (M = n*n, 2), row by row from the top."""
        x0, x1, y0, y1 = self.extent
        xs = x0 + (np.arange(n, dtype=np.float32) + 0.5) * (x1 - x0) / n
        ys = y1 - (np.arange(n, dtype=np.float32) + 0.5) * (y1 - y0) / n
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)

    def decoded_grid(self, n: int = DEFAULT_GRID) -> np.ndarray:
        """The manifold: n*n decoded images uint8 (n*n, H, W, 3) in :meth:`grid_points` order."""
        return self.decode_points(self.grid_points(n))

    def locate(self, image: np.ndarray) -> tuple[float, float]:
        """Where an image lands on the map; ``image`` is uint8 (S, S, channels) as prepared
        for the model (:func:`aigc_studio.core.images.prepare_image`)."""
        batch = torch.from_numpy(np.ascontiguousarray(image)[None]).permute(0, 3, 1, 2)
        x, y = self.to_map(encode_images(self.model, batch))[0]
        return float(x), float(y)

    def locate_file(self, path: str | Path) -> tuple[float, float]:
        """Where an image file lands (a dropped file); :class:`ImageLoadError` if unusable."""
        cfg = self.model.config
        return self.locate(imgs.prepare_image(path, cfg.image_size, self.model.channels).array)


def encode_images(model: LoadedModel, images_u8: torch.Tensor, batch_size: int = 256
                  ) -> np.ndarray:
    """uint8 images (N, C, S, S) -> the model's codes (means for a VAE), float32 (N, latent)."""
    if not model.capabilities.encodes:
        raise CheckpointError(wrong_kind(model, "encodes", "the latent map"))
    device = next(model.net.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, images_u8.shape[0], batch_size):
            x = to_unit_range(images_u8[start:start + batch_size].to(device))
            out.append(model.family.impl.encode(model.net, x).float().cpu())
    return torch.cat(out).numpy().astype(np.float32)


def map_data(model: LoadedModel, limit: int = DEFAULT_LIMIT) -> ImageData:
    """The run's own data set (as its config names it), ``limit`` images in a fixed order."""
    cfg = model.config
    return load_dataset(cfg.dataset, cfg.image_size, channels=model.channels, seed=cfg.seed,
                        limit=limit, data_root=cfg.data_root)


def build_latent_map(model: LoadedModel, *, data: ImageData | None = None,
                     limit: int = DEFAULT_LIMIT) -> LatentMap:
    """Encode up to ``limit`` images of ``data`` (default: the run's data set) into a map."""
    if not model.capabilities.encodes:
        raise CheckpointError(wrong_kind(model, "encodes", "the latent map"))
    latent_dim = model.config.latent_dim
    if latent_dim < 2:
        raise AigcError(f"{model.source.name} has a 1-D latent space; the latent map needs at "
                        "least 2 dimensions.")
    data = data if data is not None else map_data(model, limit)
    count = min(limit, len(data)) if limit else len(data)
    if count < 2:
        raise AigcError(f"The data set {data.name} has {count} image; the latent map needs "
                        "at least 2.")
    if data.images is not None:
        images = data.images[:count]
    else:
        images = torch.stack([data.stream[i][0] for i in range(count)])
    codes = encode_images(model, images)
    if latent_dim == 2:
        mean = np.zeros(2, np.float32)
        basis = np.eye(2, dtype=np.float32)
        variance = codes.var(axis=0)
        projected = False
    else:
        mean, basis, variance = _principal_axes(codes)
        projected = True
    total = float(np.var(codes, axis=0).sum()) or 1.0
    explained = (float(variance[0]) / total, float(variance[1]) / total)
    coords = ((codes - mean) @ basis.T).astype(np.float32)
    labels = data.labels[:count].numpy().astype(np.int64)
    classes = tuple(data.class_names) if len(data.class_names) >= 2 else ()
    thumbs = to_uint8_images(to_unit_range(images).numpy())
    return LatentMap(model, coords, labels, classes, _extent(coords), mean, basis, projected,
                     explained, data.name, thumbs)


def _principal_axes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, first two principal directions (2, D) and the variance along each of them."""
    mean = codes.mean(axis=0)
    _, s, vt = np.linalg.svd(codes - mean, full_matrices=False)
    basis = vt[:2]
    # a fixed sign per axis (largest loading positive), so the same model draws the same map
    signs = np.sign(basis[np.arange(2), np.abs(basis).argmax(axis=1)])
    basis = basis * np.where(signs == 0, 1.0, signs)[:, None]
    variance = s[:2] ** 2 / max(codes.shape[0] - 1, 1)
    return mean.astype(np.float32), basis.astype(np.float32), variance.astype(np.float32)


def _extent(coords: np.ndarray) -> tuple[float, float, float, float]:
    """The range that holds nearly every point, with a margin; never empty."""
    lo, hi = np.percentile(coords, EDGE_PERCENTILES, axis=0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - MARGIN * span, hi + MARGIN * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


# --------------------------------------------------------------------------- drawing
def class_color(index: int) -> tuple[int, int, int]:
    """The colour of class ``index`` on the map (the same in the window and the PNG)."""
    return PALETTE[index % len(PALETTE)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def to_pixels(latent_map: LatentMap, points: np.ndarray, size: int) -> np.ndarray:
    """Map points (M, 2) -> pixel positions (M, 2) in a square panel of ``size`` pixels."""
    x0, x1, y0, y1 = latent_map.extent
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    px = (pts[:, 0] - x0) / (x1 - x0) * size
    py = (y1 - pts[:, 1]) / (y1 - y0) * size
    return np.stack([px, py], axis=1)


def render_map(latent_map: LatentMap, grid: int = DEFAULT_GRID,
               markers: Sequence[tuple[float, float]] = ()) -> np.ndarray:
    """The scatter (coloured by class, with a legend) beside the decoded grid: uint8 RGB.

    Both panels are the same size and cover the same range, so a point in the scatter and the
    grid cell at the same place match. ``markers`` are map points to ring (dropped images).
    """
    tiles = latent_map.decoded_grid(grid)
    manifold = make_grid(tiles, ncols=grid, pad=0)
    size = manifold.shape[0]
    font = _font(max(11, size // 45))
    line = int(font.size * 1.4) if hasattr(font, "size") else 14
    header = line * (3 if latent_map.note else 2)
    legend_w = 0
    if latent_map.labelled:
        legend_w = 24 + max(int(font.getlength(n)) for n in latent_map.class_names) + 12
    gap = 16
    width = gap + size + legend_w + gap + size + gap
    canvas = Image.new("RGB", (width, header + size + line + gap), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    top, left = header, gap
    draw.text((left, 4), _title(latent_map), fill=INK, font=font)
    if latent_map.note:
        draw.text((left, 4 + line), latent_map.note, fill=INK, font=font)
    right = left + size + legend_w + gap
    draw.text((right, header - line), f"decoded {grid} x {grid} grid over the same range",
              fill=INK, font=font)
    draw.rectangle((left - 1, top - 1, left + size, top + size), outline=FAINT)
    radius = max(1.5, size / 300)
    pixels = to_pixels(latent_map, latent_map.coords, size)
    for (px, py), label in zip(pixels, latent_map.labels, strict=True):
        if not (0 <= px <= size and 0 <= py <= size):
            continue
        color = class_color(int(label)) if latent_map.labelled else UNLABELLED
        x, y = left + px, top + py
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
    for px, py in to_pixels(latent_map, np.asarray(markers, np.float32), size):
        x, y, r = left + px, top + py, radius * 5
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 255, 255), width=2)
    x0, x1, y0, y1 = latent_map.extent
    ax, ay = latent_map.axis_names
    draw.text((left, top + size + 2), f"{ax} {x0:.2f} .. {x1:.2f}   {ay} {y0:.2f} .. {y1:.2f}",
              fill=INK, font=font)
    for i, name in enumerate(latent_map.class_names if latent_map.labelled else ()):
        y = top + i * line
        draw.rectangle((left + size + 10, y + 3, left + size + 20, y + 13),
                       fill=class_color(i))
        draw.text((left + size + 24, y), name, fill=INK, font=font)
    canvas.paste(Image.fromarray(manifold), (right, top))
    return np.asarray(canvas)


def _title(latent_map: LatentMap) -> str:
    model = latent_map.model
    return (f"{model.family.title} {model.source.name}: {len(latent_map.coords)} images of "
            f"{latent_map.dataset} encoded")


def render_map_png(latent_map: LatentMap, out: str | Path, grid: int = DEFAULT_GRID,
                   markers: Sequence[tuple[float, float]] = (),
                   provenance: Provenance | None = None) -> Path:
    """Write :func:`render_map` as a PNG (atomically) carrying ``provenance``; returns the
    path."""
    out = Path(out).expanduser()
    save_png(render_map(latent_map, grid, markers), out, provenance)
    return out
