"""Safe image loading: the one place where files from a user's disk become pixel arrays.

Every image the studio reads (a training folder, a file dropped on the window, the CLI's
``reconstruct``) goes through :func:`prepare_image` or :func:`load_folder`, so these rules hold
everywhere:

* only an allowlist of formats is ever opened (no PSD/FITS/EPS/... decoders, whatever the name);
* the pixel count is checked from the header before any pixel is decoded;
* truncated or corrupt files are rejected, never used half-decoded;
* EXIF rotation, transparency, CMYK, 16-bit and multi-frame files are handled explicitly and the
  user is told what was done (``notes``);
* every failure is an :class:`ImageLoadError` whose text is one plain sentence naming the file.

No Qt here: the GUI calls this from a worker thread and shows the notes and errors itself.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from aigc_studio.errors import AigcError

__all__ = [
    "ALLOWED_FORMATS",
    "IMAGE_EXTENSIONS",
    "MAX_ASPECT",
    "MAX_PIXELS",
    "MIN_SIDE",
    "FolderImages",
    "ImageLoadError",
    "LoadedImage",
    "PreparedImage",
    "find_images",
    "fit_image",
    "load_folder",
    "load_image",
    "note_kind",
    "prepare_image",
    "scan_folder",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
)
"""Lower-case suffixes worth trying; anything else in a folder is skipped without opening it."""

ALLOWED_FORMATS: frozenset[str] = frozenset({"PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP"})
"""Pillow format names we let Pillow decode. MPO is how Pillow names multi-picture JPEGs."""

MAX_PIXELS: int = 64_000_000
"""Largest width x height accepted, checked from the header before decoding (bomb guard)."""

MIN_SIDE: int = 4
"""Images with a side shorter than this carry too little to resize from and are rejected."""

MAX_ASPECT: float = 8.0
"""Longer/shorter side above this would leave only a sliver after the centre crop."""

# Order matters: Pillow tries them in turn, so the common ones go first. MPO has no opener of
# its own (the JPEG opener returns MPO files), and Pillow raises KeyError for unknown names.
_OPEN_ORDER: tuple[str, ...] = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "MPO")
_open_formats_cache: tuple[str, ...] | None = None
_ALLOWED_TEXT = "PNG, JPEG, GIF, BMP, TIFF, WEBP"

# Magic numbers of allowed formats: a file that starts like one but that Pillow cannot identify
# has a broken header, which is a different message from "not an image".
_ALLOWED_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"WEBP", 8, "WEBP"),
)

# Formats Pillow cannot read at all (so its plugins cannot name them) but users do rename.
_FOREIGN_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "PDF"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"gimp xcf", 0, "XCF"),
    (b"<svg", 0, "SVG"),
)

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_COLOUR_SPACE_MODES = frozenset({"YCbCr", "LAB", "HSV"})

# EXIF Orientation -> the transpose that makes the pixels upright (same table as ImageOps).
_ORIENTATION_FIX: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION_TAG = 0x0112

_NOTE_ROTATED = "rotated upright from EXIF"
_NOTE_FLATTENED = "transparent background: composited onto {}"
_NOTE_16_BIT = "16-bit scaled to 8-bit"
_NOTE_TO_GREY = "converted to greyscale"
_NOTE_TO_RGB = "converted to RGB"

_PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress calls a second


class ImageLoadError(AigcError):
    """An image could not be used; ``str()`` is one sentence naming the file and the problem.

    Callers show ``str(exc)`` to the user as is, so ``reason`` is written for people, not for
    programmers. The args are ``(path, reason)`` so the error pickles across processes.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(Path(path), reason)
        self.path: Path = Path(path)
        self.reason: str = reason.rstrip(". ")

    def __str__(self) -> str:
        name = self.path.name or str(self.path)
        return f"{name}: {self.reason}"


@dataclass(frozen=True)
class LoadedImage:
    """A fully decoded, upright 8-bit image ("RGB" or "L") and what was done to get there."""

    image: Image.Image
    path: Path
    original_size: tuple[int, int]
    original_mode: str
    format: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedImage:
    """A square uint8 array ready for a model, plus the notes to show the user."""

    array: np.ndarray
    path: Path
    original_size: tuple[int, int]
    notes: tuple[str, ...] = ()


@dataclass
class FolderImages:
    """A folder decoded into one uint8 batch, with what was skipped and why."""

    arrays: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    notes_count: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Single files
# --------------------------------------------------------------------------------------------


def _open_formats() -> tuple[str, ...]:
    """The allowed formats this Pillow build has openers for (computed once)."""
    global _open_formats_cache
    if _open_formats_cache is None:
        Image.init()
        _open_formats_cache = tuple(fmt for fmt in _OPEN_ORDER if fmt in Image.OPEN)
    return _open_formats_cache


def _pixel_limit_reason(size: tuple[int, int] | None, pixels: int | None, limit: int) -> str:
    if size is not None:
        return f"image is {size[0]}x{size[1]} pixels, over the {limit:,}-pixel limit"
    if pixels is not None:
        return f"image has {pixels:,} pixels, over the {limit:,}-pixel limit"
    return f"image is over the {limit:,}-pixel limit"


def _header_size(fp: IO[bytes], prefix: bytes) -> tuple[int, int] | None:
    """Read only the header's size, bypassing Pillow's bomb check, so the message can say WxH."""
    for fmt in _open_formats():
        entry = Image.OPEN.get(fmt)
        if entry is None:
            continue
        factory, accept = entry
        try:
            accepted = accept(prefix) if accept is not None else True
            if not accepted or isinstance(accepted, str):
                continue
            fp.seek(0)
            probe = factory(fp, "")
            return (int(probe.size[0]), int(probe.size[1]))
        except Exception:  # the message only; any failure falls back to the pixel count
            continue
    return None


def _bomb_reason(exc: Exception, fp: IO[bytes] | None, prefix: bytes, max_pixels: int) -> str:
    """Message for Pillow's own decompression-bomb refusal (error, or warning raised as one)."""
    size = _header_size(fp, prefix) if fp is not None else None
    pixels = size[0] * size[1] if size else None
    if pixels is None:
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(match.group(1)) if match else None
    limit = max_pixels
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pixels is not None and pixels <= max_pixels and pillow_limit is not None:
        limit = pillow_limit  # the caller allowed more than Pillow will decode
    return _pixel_limit_reason(size, pixels, limit)


def _sniff_format(prefix: bytes) -> tuple[str | None, bool]:
    """Name the format the first bytes announce, and whether it is one we allow."""
    for magic, offset, name in _ALLOWED_MAGIC:
        if prefix[offset : offset + len(magic)] == magic:
            if name == "WEBP" and not prefix.startswith(b"RIFF"):
                continue
            return name, True
    for magic, offset, name in _FOREIGN_MAGIC:
        if prefix[offset : offset + len(magic)] == magic:
            return name, False
    # Pillow's own "does this look like X" checks only compare magic bytes; they never decode.
    Image.init()
    for fmt in Image.ID:
        if fmt in ALLOWED_FORMATS:
            continue
        accept = Image.OPEN[fmt][1] if fmt in Image.OPEN else None
        if accept is None:  # formats without a signature would match anything
            continue
        try:
            if accept(prefix):
                return fmt, False
        except Exception:
            continue
    return None, False


def _unidentified_reason(prefix: bytes) -> str:
    name, allowed = _sniff_format(prefix)
    if name is None:
        return "not an image file Pillow can read"
    if allowed:
        return f"file is truncated or corrupt (its {name} header could not be read)"
    return f"format {name} is not allowed (allowed: {_ALLOWED_TEXT})"


def _frame_count(im: Image.Image) -> int | None:
    """Frames in the file, or None when counting them failed (a broken later frame)."""
    try:
        return int(getattr(im, "n_frames", 1))
    except Exception:
        return None


def transparent_background(rgb: np.ndarray, alpha: np.ndarray) -> int:
    """The grey level (0 or 255) to composite a transparent image onto.

    White under white strokes makes a blank image, so the background is the opposite of what
    the visible pixels mostly are: black when their alpha-weighted mean luminance is light,
    white when it is dark (or when nothing is visible). ``rgb`` is (H, W) or (H, W, 3) uint8,
    ``alpha`` (H, W) uint8.
    """
    grey = rgb.astype(np.float64)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as Pillow's "L"
    weight = alpha.astype(np.float64)
    total = float(weight.sum())
    if total == 0.0:
        return 255
    return 0 if float((grey * weight).sum()) / total > 127.5 else 255


def _flatten_alpha(im: Image.Image) -> tuple[Image.Image, list[str]]:
    """Composite an LA/RGBA image onto the background that keeps its content visible (models
    never see alpha); the note says which background was used."""
    base_mode = "L" if im.mode == "LA" else "RGB"
    alpha = im.getchannel("A")
    low, _high = alpha.getextrema()
    base = im.convert(base_mode)
    if low == 255:  # fully opaque: nothing to flatten, nothing to tell
        return base, []
    level = transparent_background(np.asarray(base), np.asarray(alpha))
    backdrop = Image.new(base_mode, im.size, level if base_mode == "L" else (level,) * 3)
    backdrop.paste(base, (0, 0), alpha)
    return backdrop, [_NOTE_FLATTENED.format("black" if level == 0 else "white")]


def _scale_int32(im: Image.Image) -> tuple[Image.Image, list[str]]:
    """32-bit integer greyscale: use the range the values actually occupy, never clip."""
    a = np.asarray(im, dtype=np.int64)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if lo >= 0 and hi <= 255:
        out = a.astype(np.uint8)
        note = "32-bit greyscale converted to 8-bit"
    elif lo >= 0 and hi <= 65535:  # 16-bit data stored in an "I" image (common for PNG/TIFF)
        out = ((a + 128) // 257).astype(np.uint8)
        note = _NOTE_16_BIT
    else:
        out = ((a - lo) * 255 // max(hi - lo, 1)).astype(np.uint8)
        note = "32-bit greyscale stretched to 8-bit"
    return Image.fromarray(out), [note]


def _scale_float(im: Image.Image) -> tuple[Image.Image, list[str]]:
    """Floating-point greyscale: 0-1 and 0-255 data keep their meaning, others are stretched."""
    a = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif not (lo >= 0.0 and hi <= 255.0):
        a = (a - lo) * (255.0 / (hi - lo if hi > lo else 1.0))
    out = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return Image.fromarray(out), ["floating-point greyscale scaled to 8-bit"]


def _to_8bit(im: Image.Image) -> tuple[Image.Image, list[str]]:
    """Bring any decoded mode to 8-bit "L" or "RGB", saying what changed.

    Greyscale-like sources stay "L" (a model can still ask for 3 channels later); everything
    else becomes "RGB".
    """
    mode = im.mode
    if mode in ("L", "RGB"):
        return im, []
    if mode == "1":
        return im.convert("L"), []
    if mode in _SIXTEEN_BIT_MODES:
        # value/257 (rounded) maps 0..65535 onto 0..255; clipping would turn mid-grey white.
        a = np.asarray(im).astype(np.uint32)
        return Image.fromarray(((a + 128) // 257).astype(np.uint8)), [_NOTE_16_BIT]
    if mode == "I":
        return _scale_int32(im)
    if mode == "F":
        return _scale_float(im)
    if mode == "P":
        if "transparency" in im.info:
            return _flatten_alpha(im.convert("RGBA"))
        return im.convert("RGB"), []
    if mode == "La":  # premultiplied alpha: un-premultiply before compositing
        return _flatten_alpha(im.convert("LA"))
    if mode in ("PA", "RGBa"):
        return _flatten_alpha(im.convert("RGBA"))
    if mode in ("LA", "RGBA"):
        return _flatten_alpha(im)
    if mode == "RGBX":
        return im.convert("RGB"), []
    if mode == "CMYK":
        # Pillow reads Adobe's APP14 marker and un-inverts Photoshop CMYK JPEGs itself.
        return im.convert("RGB"), ["converted from CMYK"]
    if mode in _COLOUR_SPACE_MODES:
        return im.convert("RGB"), [f"converted from {mode}"]
    return im.convert("RGB"), [f"converted from {mode}"]


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION_TAG, 1)
        return int(value) if value in _ORIENTATION_FIX else 1
    except Exception:  # broken EXIF: use the pixels as stored rather than reject the photo
        return 1


def _stat_reason(path: Path) -> str | None:
    """Problems we can name before opening: missing, a folder, a device, empty."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "file does not exist"
    except PermissionError:
        return "file could not be read (permission denied)"
    except OSError as exc:
        return f"file could not be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not an image file"
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        return "is not a regular file"
    if st.st_size == 0:
        return "file is empty (0 bytes)"
    return None


def _open_failure_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "file could not be read (permission denied)"
    if isinstance(exc, FileNotFoundError):
        return "file does not exist"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image file"
    return f"file could not be read ({exc.strerror or exc})"


def _decoded(path: Path, max_pixels: int) -> LoadedImage:
    """The body of :func:`load_image`; each stage maps its own failures to a clear reason."""
    reason = _stat_reason(path)
    if reason is not None:
        raise ImageLoadError(path, reason)
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise ImageLoadError(path, _open_failure_reason(exc)) from None
    try:
        try:
            prefix = fp.read(16)
            fp.seek(0)
        except OSError as exc:
            raise ImageLoadError(path, _open_failure_reason(exc)) from None

        # 1. Header only: format allowlist and pixel limit, before any pixel is decoded.
        try:
            im = Image.open(fp, formats=_open_formats())
        except UnidentifiedImageError:
            raise ImageLoadError(path, _unidentified_reason(prefix)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageLoadError(path, _bomb_reason(exc, fp, prefix, max_pixels)) from None
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to read the image header") from None
        except Exception:
            raise ImageLoadError(
                path, "file is truncated or corrupt (its header could not be read)"
            ) from None

        fmt = str(im.format or "")
        if fmt not in ALLOWED_FORMATS:  # defensive: Image.open was told the allowlist
            raise ImageLoadError(path, f"format {fmt} is not allowed (allowed: {_ALLOWED_TEXT})")
        width, height = int(im.size[0]), int(im.size[1])
        if width <= 0 or height <= 0:
            raise ImageLoadError(path, f"image is {width}x{height} pixels, it holds no pixels")
        if width * height > max_pixels:
            raise ImageLoadError(path, _pixel_limit_reason((width, height), None, max_pixels))

        # 2. Decode the first frame completely; a partial decode is never used.
        notes: list[str] = []
        try:
            frames = _frame_count(im)
            if frames != 1:
                im.seek(0)
                notes.append(f"first of {frames} frames used" if frames else "first frame used")
            original_mode = im.mode
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageLoadError(path, _bomb_reason(exc, None, prefix, max_pixels)) from None
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to decode the image") from None
        except Exception:
            raise ImageLoadError(path, "file is truncated or corrupt") from None

        # 3. Normalise to 8-bit L/RGB, then stand it upright.
        try:
            image, mode_notes = _to_8bit(im)
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to convert the image") from None
        except Exception as exc:
            raise ImageLoadError(
                path, f"colour mode {original_mode} could not be converted ({exc})"
            ) from None
        notes.extend(mode_notes)
        orientation = _exif_orientation(im)
        if orientation != 1:
            image = image.transpose(_ORIENTATION_FIX[orientation])
            notes.append(_NOTE_ROTATED)
        if image is im:
            # Detach from the file object (closed below) so nothing lazy can touch it later.
            image = im.copy()
        return LoadedImage(
            image=image,
            path=path,
            original_size=(width, height),
            original_mode=original_mode,
            format="JPEG" if fmt == "MPO" else fmt,
            notes=tuple(notes),
        )
    finally:
        fp.close()


def load_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode one image file safely; every failure is an :class:`ImageLoadError`.

    Only :data:`ALLOWED_FORMATS` are opened, the pixel count is checked from the header, the
    pixels are decoded completely (truncated files are rejected), and the result is upright,
    8-bit "L" or "RGB". ``notes`` says what was changed so the user can be told.
    """
    p = Path(path)
    try:
        return _decoded(p, max_pixels)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(p, "not enough memory to load the image") from None
    except Exception as exc:  # the boundary: nothing but ImageLoadError may leave this function
        raise ImageLoadError(
            p, f"could not be loaded (unexpected {type(exc).__name__}: {exc})"
        ) from exc


def _check_target(size: int, channels: int) -> None:
    """A bad size or channel count is the caller's bug: a ValueError, not a load error."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if size < 1:
        raise ValueError(f"size must be positive, not {size}")


def fit_image(image: Image.Image, size: int, channels: int) -> np.ndarray:
    """Resize so the shorter side is ``size``, centre-crop the square, return uint8 HxWxC.

    The crop is done through ``resize(box=...)``, which equals resize-then-crop but only
    resamples the pixels that are kept.
    """
    _check_target(size, channels)
    if image.mode not in ("L", "RGB"):
        image, _ = _to_8bit(image)
    wanted = "L" if channels == 1 else "RGB"
    if image.mode != wanted:
        image = image.convert(wanted)
    width, height = image.size
    side = min(width, height)
    left = (width - side) / 2.0
    top = (height - side) / 2.0
    box = (left, top, left + side, top + side)
    if (width, height) != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    array = np.array(image, dtype=np.uint8)
    if channels == 1:
        array = array.reshape(size, size, 1)
    return np.ascontiguousarray(array)


def _size_reason(width: int, height: int) -> str | None:
    """Why an image of this size cannot be made into a square model input, if it cannot."""
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE:
        return f"image is {width}x{height} pixels, too small to use (at least {MIN_SIDE} px a side)"
    if long / short > MAX_ASPECT:
        return (
            f"image is {width}x{height} pixels, too elongated to centre-crop "
            f"(aspect over {MAX_ASPECT:g}:1)"
        )
    return None


def prepare_image(
    path: str | Path, size: int, channels: int, *, max_pixels: int = MAX_PIXELS
) -> PreparedImage:
    """Load, check and fit one file: the single loader every caller uses."""
    _check_target(size, channels)
    loaded = load_image(path, max_pixels=max_pixels)
    width, height = loaded.image.size
    reason = _size_reason(width, height)
    if reason is not None:
        raise ImageLoadError(loaded.path, reason)
    try:
        array = fit_image(loaded.image, size, channels)
    except MemoryError:
        raise ImageLoadError(loaded.path, "not enough memory to resize the image") from None
    except Exception as exc:
        raise ImageLoadError(
            loaded.path, f"could not be resized (unexpected {type(exc).__name__}: {exc})"
        ) from exc
    notes = list(loaded.notes)
    if (width, height) != (size, size):
        notes.append(f"resized from {width}x{height}")
    source_grey = loaded.image.mode == "L"
    if channels == 1 and not source_grey:
        notes.append(_NOTE_TO_GREY)
    elif channels == 3 and source_grey:
        notes.append(_NOTE_TO_RGB)
    return PreparedImage(
        array=array, path=loaded.path, original_size=loaded.original_size, notes=tuple(notes)
    )


def note_kind(note: str) -> str:
    """Group a note under a count key: "resized from 640x480" -> "resized"."""
    if note.startswith("resized from "):
        return "resized"
    if note.startswith("first of ") or note == "first frame used":
        return "first frame of an animation"
    return note


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def _extension_reason(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return None
    return f"not an image type ({suffix or 'no extension'})"


def find_images(
    paths: Iterable[str | Path], *, recursive: bool = True
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into candidate image files (by extension), sorted.

    Hidden files and folders (".name") are left out silently; other files with a foreign
    extension come back in the skipped list with a reason. Symlinked folders are not followed,
    so a link loop cannot hang the walk.
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(file: Path) -> None:
        if file in seen:
            return
        seen.add(file)
        reason = _extension_reason(file)
        if reason is None:
            found.append(file)
        else:
            skipped.append((file, reason))

    for raw in paths:
        root = Path(raw)
        if not root.exists():
            skipped.append((root, "does not exist"))
            continue
        if not root.is_dir():
            consider(root)
            continue
        in_folder: list[Path] = []
        unreadable: list[tuple[Path, str]] = []

        def on_error(
            exc: OSError, sink: list[tuple[Path, str]] = unreadable, top: Path = root
        ) -> None:
            where = Path(exc.filename) if exc.filename else top
            sink.append((where, f"folder could not be read ({exc.strerror or exc})"))

        for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if not recursive:
                dirnames[:] = []
            base = Path(dirpath)
            in_folder.extend(base / name for name in filenames if not name.startswith("."))
        for file in sorted(in_folder):
            consider(file)
        skipped.extend(unreadable)
    return found, skipped


def _class_key(path: Path, root: Path) -> str:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return ""
    return parts[0] if len(parts) > 1 else ""


def _root_name(root: Path) -> str:
    return root.name or root.resolve().name or str(root)


class _Throttle:
    """Calls ``progress`` when something changed and ~50 ms have passed (plus forced calls)."""

    def __init__(self, progress: Callable[[int, int], None] | None) -> None:
        self._progress = progress
        self._last_time = float("-inf")
        self._last_value: tuple[int, int] | None = None

    def __call__(self, done: int, total: int, *, force: bool = False) -> None:
        if self._progress is None or (done, total) == self._last_value:
            return
        now = time.monotonic()
        if force or now - self._last_time >= _PROGRESS_INTERVAL_S:
            self._last_time = now
            self._last_value = (done, total)
            self._progress(done, total)


def _folder_root(root: str | Path) -> Path:
    path = Path(root)
    if not path.exists():
        raise ImageLoadError(path, "folder does not exist")
    if not path.is_dir():
        raise ImageLoadError(path, "is not a folder")
    return path


def _no_usable_images(root: Path, skipped: list[tuple[Path, str]]) -> ImageLoadError:
    if not skipped:
        return ImageLoadError(root, "no usable images (the folder has no image files)")
    first_path, first_reason = skipped[0]
    count = len(skipped)
    plural = "file" if count == 1 else "files"
    return ImageLoadError(
        root,
        f"no usable images ({count} {plural} skipped, e.g. {first_path.name}: {first_reason})",
    )


def load_folder(
    root: str | Path,
    size: int,
    channels: int,
    *,
    max_images: int = 0,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    max_pixels: int = MAX_PIXELS,
) -> FolderImages:
    """Decode every usable image under ``root`` into one batch, skipping and counting bad files.

    Meant for a worker thread: decoding runs on ``workers`` threads, ``progress(done, total)``
    is called at most ~20 times a second plus once at the end, and setting ``cancel`` stops
    the work and raises ``ImageLoadError(root, "loading was cancelled")``. Results are in
    sorted file order whatever order the threads finish in, so ``max_images`` is deterministic.
    """
    _check_target(size, channels)
    root_path = _folder_root(root)
    files, skipped = find_images([root_path])
    total = len(files)
    report = _Throttle(progress)
    report(0, total, force=True)

    outcomes: list[PreparedImage | ImageLoadError | None] = [None] * total
    stop_at = total  # shrinks to the index of the max_images-th usable image
    next_in_order = 0
    usable = 0
    done = 0
    window = max(1, workers) * 4  # bounded queue: cancelling never waits on thousands of jobs
    pending: dict[Future[PreparedImage], int] = {}
    next_submit = 0

    def job(file: Path) -> PreparedImage:
        return prepare_image(file, size, channels, max_pixels=max_pixels)

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="load_folder")
    try:
        while next_in_order < stop_at:
            if cancel is not None and cancel.is_set():
                raise ImageLoadError(root_path, "loading was cancelled")
            while next_submit < stop_at and len(pending) < window:
                pending[pool.submit(job, files[next_submit])] = next_submit
                next_submit += 1
            finished, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                try:
                    outcomes[index] = future.result()
                except ImageLoadError as exc:
                    outcomes[index] = exc
                except Exception as exc:  # a bug must not lose the rest of the folder
                    outcomes[index] = ImageLoadError(
                        files[index], f"could not be loaded ({type(exc).__name__}: {exc})"
                    )
                done += 1
            while next_in_order < stop_at and outcomes[next_in_order] is not None:
                if isinstance(outcomes[next_in_order], PreparedImage):
                    usable += 1
                    if max_images > 0 and usable >= max_images:
                        stop_at = next_in_order + 1
                next_in_order += 1
            report(min(done, stop_at), stop_at)
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    if cancel is not None and cancel.is_set():
        raise ImageLoadError(root_path, "loading was cancelled")

    prepared: list[PreparedImage] = []
    for index, outcome in enumerate(outcomes[:stop_at]):
        if isinstance(outcome, PreparedImage):
            prepared.append(outcome)
        elif isinstance(outcome, ImageLoadError):
            skipped.append((files[index], outcome.reason))
    for file in files[stop_at:]:
        skipped.append((file, f"not loaded: the limit of {max_images} images was reached"))
    report(total, total, force=True)

    if not prepared:
        raise _no_usable_images(root_path, skipped)

    keys = sorted({_class_key(item.path, root_path) for item in prepared})
    label_of = {key: index for index, key in enumerate(keys)}
    class_names = [key or _root_name(root_path) for key in keys]
    notes_count: dict[str, int] = {}
    for item in prepared:
        for kind in dict.fromkeys(note_kind(note) for note in item.notes):
            notes_count[kind] = notes_count.get(kind, 0) + 1
    return FolderImages(
        arrays=np.stack([item.array for item in prepared]).astype(np.uint8, copy=False),
        labels=np.array(
            [label_of[_class_key(item.path, root_path)] for item in prepared], dtype=np.int64
        ),
        class_names=class_names,
        paths=[item.path for item in prepared],
        skipped=skipped,
        notes_count=notes_count,
    )


def _probe(path: Path, max_pixels: int) -> str | None:
    """Header-only version of the load checks; returns the reason a file is unusable, if any."""
    reason = _stat_reason(path)
    if reason is not None:
        return reason
    try:
        with open(path, "rb") as fp:
            prefix = fp.read(16)
            fp.seek(0)
            try:
                im = Image.open(fp, formats=_open_formats())
            except UnidentifiedImageError:
                return _unidentified_reason(prefix)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                return _bomb_reason(exc, fp, prefix, max_pixels)
            fmt = str(im.format or "")
            if fmt not in ALLOWED_FORMATS:
                return f"format {fmt} is not allowed (allowed: {_ALLOWED_TEXT})"
            width, height = int(im.size[0]), int(im.size[1])
    except OSError as exc:
        return _open_failure_reason(exc)
    except MemoryError:
        return "not enough memory to read the image header"
    except Exception:
        return "file is truncated or corrupt (its header could not be read)"
    if width * height > max_pixels:
        return _pixel_limit_reason((width, height), None, max_pixels)
    return _size_reason(width, height)


def scan_folder(
    root: str | Path,
    *,
    max_pixels: int = MAX_PIXELS,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Cheaply sort a huge folder into usable and skipped files from the headers alone.

    For data sets that will be streamed rather than held in memory: no pixels are decoded, so
    truncated pixel data is only found later, by :func:`prepare_image`.
    """
    root_path = _folder_root(root)
    files, skipped = find_images([root_path])
    usable: list[Path] = []
    report = _Throttle(progress)
    report(0, len(files), force=True)
    for done, file in enumerate(files, start=1):
        if cancel is not None and cancel.is_set():
            raise ImageLoadError(root_path, "scanning was cancelled")
        reason = _probe(file, max_pixels)
        if reason is None:
            usable.append(file)
        else:
            skipped.append((file, reason))
        report(done, len(files))
    report(len(files), len(files), force=True)
    return usable, skipped
