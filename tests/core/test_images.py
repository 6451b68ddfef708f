"""Tests for aigc_studio.core.images: hostile and odd image files, all made in tmp_path."""

from __future__ import annotations

import io
import os
import pickle
import random
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from aigc_studio.core import images
from aigc_studio.core.images import (
    ALLOWED_FORMATS,
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    FolderImages,
    ImageLoadError,
    LoadedImage,
    PreparedImage,
    find_images,
    fit_image,
    load_folder,
    load_image,
    note_kind,
    prepare_image,
    scan_folder,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def save(image: Image.Image, path: Path, **params: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(mode)
    shape = (size[1], size[0], bands) if bands > 1 else (size[1], size[0])
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bomb_png(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header claims width x height pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def pixel(loaded: LoadedImage, xy: tuple[int, int]) -> tuple[int, ...] | int:
    return loaded.image.getpixel(xy)  # type: ignore[return-value]


def close_to(actual: object, expected: tuple[int, ...], tol: int = 12) -> bool:
    assert isinstance(actual, tuple), actual
    return all(abs(int(a) - e) <= tol for a, e in zip(actual, expected, strict=True))


def rejected(path: Path, **kwargs: object) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(path, **kwargs)  # type: ignore[arg-type]
    error = info.value
    assert error.path == path
    assert str(error) == f"{path.name}: {error.reason}"
    return error


# ---------------------------------------------------------------------------------------------
# the error type and constants
# ---------------------------------------------------------------------------------------------


def test_error_is_one_sentence_and_pickles(tmp_path: Path) -> None:
    error = ImageLoadError(tmp_path / "cat.png", "file is truncated or corrupt.")
    assert str(error) == "cat.png: file is truncated or corrupt"
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.path, clone.reason, str(clone)) == (error.path, error.reason, str(error))


def test_constants() -> None:
    assert {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"} == IMAGE_EXTENSIONS
    assert {"PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"} <= ALLOWED_FORMATS
    assert not {"PSD", "FITS", "EPS", "PDF", "ICO", "TGA"} & ALLOWED_FORMATS
    assert MAX_PIXELS == 64_000_000
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_core_module_does_not_import_qt() -> None:
    code = "import sys, aigc_studio.core.images; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# ---------------------------------------------------------------------------------------------
# good files
# ---------------------------------------------------------------------------------------------


def test_png_rgb(tmp_path: Path) -> None:
    source = noise((30, 20))
    loaded = load_image(save(source, tmp_path / "a.png"))
    assert loaded.image.mode == "RGB"
    assert loaded.format == "PNG"
    assert loaded.original_size == (30, 20)
    assert loaded.original_mode == "RGB"
    assert loaded.notes == ()
    assert np.array_equal(np.asarray(loaded.image), np.asarray(source))


def test_jpeg_and_bmp_and_webp(tmp_path: Path) -> None:
    solid = Image.new("RGB", (16, 12), (200, 30, 40))
    jpeg = load_image(save(solid, tmp_path / "a.jpg", quality=95))
    assert jpeg.format == "JPEG" and jpeg.image.size == (16, 12)
    assert close_to(pixel(jpeg, (8, 6)), (200, 30, 40))
    bmp = load_image(save(solid, tmp_path / "a.bmp"))
    assert bmp.format == "BMP" and pixel(bmp, (0, 0)) == (200, 30, 40)
    webp = load_image(save(solid, tmp_path / "a.webp", lossless=True))
    assert webp.format == "WEBP" and pixel(webp, (0, 0)) == (200, 30, 40)


def test_greyscale_png_stays_greyscale(tmp_path: Path) -> None:
    loaded = load_image(save(Image.new("L", (8, 8), 77), tmp_path / "g.png"))
    assert loaded.image.mode == "L" and pixel(loaded, (3, 3)) == 77


def test_one_bit_becomes_l(tmp_path: Path) -> None:
    image = Image.new("1", (8, 8), 0)
    image.paste(1, (0, 0, 4, 8))
    loaded = load_image(save(image, tmp_path / "bits.png"))
    assert loaded.image.mode == "L"
    assert pixel(loaded, (1, 1)) == 255 and pixel(loaded, (6, 1)) == 0


def test_exif_rotated_jpeg_comes_back_upright(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))  # red left half as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = save(image, tmp_path / "photo.jpg", exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.original_size == (40, 20)
    assert loaded.image.size == (20, 40)
    assert close_to(pixel(loaded, (10, 5)), RED)  # red on top
    assert close_to(pixel(loaded, (10, 35)), BLUE)
    assert "rotated upright from EXIF" in loaded.notes


def test_cmyk_jpeg(tmp_path: Path) -> None:
    image = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    path = save(image, tmp_path / "print.jpg", quality=95)
    loaded = load_image(path)
    assert loaded.original_mode == "CMYK"
    assert loaded.image.mode == "RGB"
    assert close_to(pixel(loaded, (8, 8)), RED, tol=20)
    assert "converted from CMYK" in loaded.notes


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    data = np.zeros((8, 8), dtype=np.uint16)
    data[:, :4] = 32768
    data[:, 4:] = 65535
    source = Image.fromarray(data)
    assert source.mode == "I;16"
    loaded = load_image(save(source, tmp_path / "deep.png"))
    assert loaded.image.mode == "L"
    assert abs(pixel(loaded, (1, 1)) - 128) <= 1  # type: ignore[operator]
    assert pixel(loaded, (6, 1)) == 255
    assert "16-bit scaled to 8-bit" in loaded.notes


def test_16_bit_and_32_bit_and_float_tiff(tmp_path: Path) -> None:
    data16 = np.full((6, 6), 32768, dtype=np.uint16)
    loaded = load_image(save(Image.fromarray(data16), tmp_path / "deep.tif"))
    assert loaded.image.mode == "L" and abs(pixel(loaded, (0, 0)) - 128) <= 1  # type: ignore[operator]

    data32 = np.full((6, 6), 65535, dtype=np.int32)
    data32[0, 0] = 0
    loaded = load_image(save(Image.fromarray(data32), tmp_path / "i32.tif"))
    assert loaded.image.mode == "L"
    assert pixel(loaded, (3, 3)) == 255 and pixel(loaded, (0, 0)) == 0

    dataf = np.full((6, 6), 0.5, dtype=np.float32)
    loaded = load_image(save(Image.fromarray(dataf), tmp_path / "f.tif"))
    assert loaded.image.mode == "L" and abs(pixel(loaded, (3, 3)) - 128) <= 1  # type: ignore[operator]


def test_palette_with_transparency_flattened_onto_white(tmp_path: Path) -> None:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    image.paste(1, (4, 0, 8, 8))
    path = save(image, tmp_path / "pal.png", transparency=0)
    loaded = load_image(path)
    assert loaded.original_mode == "P"
    assert loaded.image.mode == "RGB"
    assert pixel(loaded, (1, 1)) == WHITE  # transparent black -> white, not black
    assert pixel(loaded, (6, 1)) == RED
    assert "transparent background: composited onto white" in loaded.notes


def test_palette_without_transparency_has_no_note(tmp_path: Path) -> None:
    image = Image.new("RGB", (8, 8), GREEN).convert("P")
    loaded = load_image(save(image, tmp_path / "pal.gif"))
    assert loaded.image.mode == "RGB" and pixel(loaded, (0, 0)) == GREEN
    assert loaded.notes == ()


def test_la_over_white(tmp_path: Path) -> None:
    image = Image.new("LA", (8, 8), (0, 0))  # transparent black
    image.paste((0, 255), (4, 0, 8, 8))  # opaque black
    loaded = load_image(save(image, tmp_path / "la.png"))
    assert loaded.image.mode == "L"
    assert pixel(loaded, (1, 1)) == 255 and pixel(loaded, (6, 1)) == 0
    assert "transparent background: composited onto white" in loaded.notes


def test_rgba_over_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (8, 8), (0, 0, 255, 0))
    image.paste((0, 0, 255, 255), (4, 0, 8, 8))
    image.paste((0, 0, 0, 128), (0, 4, 4, 8))
    loaded = load_image(save(image, tmp_path / "rgba.png"))
    assert loaded.image.mode == "RGB"
    assert pixel(loaded, (1, 1)) == WHITE
    assert pixel(loaded, (6, 1)) == BLUE
    assert close_to(pixel(loaded, (1, 6)), (127, 127, 127), tol=2)
    assert "transparent background: composited onto white" in loaded.notes


def stroke_on_clear(mode: str, ink: int) -> Image.Image:
    """A digit-like ring of ``ink`` on a fully transparent background (what icon tools save)."""
    bands = len(mode)
    a = np.zeros((32, 32, bands), np.uint8)
    yy, xx = np.mgrid[:32, :32]
    ring = np.abs(np.hypot(yy - 16, xx - 16) - 9) < 2.5
    a[ring, :-1] = ink
    a[ring, -1] = 255
    a[~ring, :-1] = 255 - ink  # colour under alpha 0 must not matter
    return Image.fromarray(a.squeeze() if bands == 1 else a, mode)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize(("ink", "background"), [(255, "black"), (0, "white")])
def test_transparent_background_keeps_the_content(tmp_path: Path, mode: str, ink: int,
                                                  background: str) -> None:
    """White strokes go onto black and black strokes onto white: neither image is blank."""
    path = save(stroke_on_clear(mode, ink), tmp_path / f"{mode}-{ink}.png")
    loaded = load_image(path)
    assert f"transparent background: composited onto {background}" in loaded.notes
    a = np.asarray(loaded.image)
    assert a.std() > 60  # not uniform: the ring is still there
    assert pixel(loaded, (16, 16)) in ((255 - ink,) * 3, 255 - ink)  # the backdrop
    assert pixel(loaded, (16, 7)) in ((ink,) * 3, ink)  # the stroke
    prepared = prepare_image(path, 16, 1)  # every caller (folders, preview, reconstruct)
    assert prepared.array.std() > 40 and prepared.notes[0] == loaded.notes[0]


def test_transparent_background_is_chosen_by_visible_pixels() -> None:
    grey = np.array([[250, 10], [250, 10]], np.uint8)
    assert images.transparent_background(grey, np.array([[255, 0], [255, 0]], np.uint8)) == 0
    assert images.transparent_background(grey, np.array([[0, 255], [0, 255]], np.uint8)) == 255
    assert images.transparent_background(grey, np.zeros((2, 2), np.uint8)) == 255


def test_opaque_rgba_has_no_flatten_note(tmp_path: Path) -> None:
    loaded = load_image(save(Image.new("RGBA", (8, 8), (9, 8, 7, 255)), tmp_path / "o.png"))
    assert loaded.image.mode == "RGB" and pixel(loaded, (0, 0)) == (9, 8, 7)
    assert loaded.notes == ()


def test_animated_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, GREEN, BLUE)]
    path = save(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    loaded = load_image(path)
    assert loaded.format == "GIF"
    assert loaded.image.mode == "RGB"
    assert pixel(loaded, (5, 5)) == RED
    assert "first of 3 frames used" in loaded.notes
    assert note_kind("first of 3 frames used") == "first frame of an animation"


def test_multi_frame_tiff_and_apng(tmp_path: Path) -> None:
    pages = [Image.new("L", (10, 10), value) for value in (10, 200)]
    path = save(pages[0], tmp_path / "pages.tiff", save_all=True, append_images=pages[1:])
    loaded = load_image(path)
    assert loaded.format == "TIFF" and pixel(loaded, (0, 0)) == 10
    assert "first of 2 frames used" in loaded.notes

    frames = [Image.new("RGB", (10, 10), colour) for colour in (GREEN, BLUE)]
    path = save(frames[0], tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    loaded = load_image(path)
    assert pixel(loaded, (0, 0)) == GREEN
    assert "first of 2 frames used" in loaded.notes


def test_loaded_image_survives_file_removal(tmp_path: Path) -> None:
    path = save(noise((12, 12)), tmp_path / "gone.jpg")
    loaded = load_image(path)
    path.unlink()
    assert loaded.image.resize((4, 4)).size == (4, 4)


# ---------------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------------


def test_truncated_png_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    noise((64, 64)).save(buffer, "PNG")
    data = buffer.getvalue()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) * 6 // 10])
    error = rejected(path)
    assert "truncated or corrupt" in error.reason
    assert "cut.png" in str(error)


def test_cut_off_jpeg_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    noise((64, 64)).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in rejected(path).reason


def test_png_with_bad_crc_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    noise((16, 16)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[-20] ^= 0xFF  # inside the last IDAT
    path = tmp_path / "crc.png"
    path.write_bytes(bytes(data))
    assert "truncated or corrupt" in rejected(path).reason


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert rejected(path).reason == "file is empty (0 bytes)"


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n" * 10)
    assert rejected(path).reason == "not an image file Pillow can read"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert rejected(tmp_path / "nope.png").reason == "file does not exist"
    folder = tmp_path / "folder.png"
    folder.mkdir()
    assert "folder" in rejected(folder).reason


def test_broken_png_header(tmp_path: Path) -> None:
    path = tmp_path / "head.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    reason = rejected(path).reason
    assert "truncated or corrupt" in reason and "PNG" in reason


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (8, 8)), tmp_path / "locked.png")
    path.chmod(0)
    try:
        assert "permission denied" in rejected(path).reason
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(Image.new("RGB", (8, 8)), tmp_path / "locked.png")

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(images, "open", deny, raising=False)
    assert "permission denied" in rejected(path).reason


def test_psd_header_refused_without_running_the_psd_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.init()
    _factory, accept = Image.OPEN["PSD"]

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the PSD decoder must never run")

    monkeypatch.setitem(Image.OPEN, "PSD", (forbidden, accept))
    path = tmp_path / "layers.png"
    header = b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03" + struct.pack(">II", 8, 8)
    path.write_bytes(header + b"\x00" * 64)
    assert rejected(path).reason == (
        "format PSD is not allowed (allowed: PNG, JPEG, GIF, BMP, TIFF, WEBP)"
    )


def test_pdf_and_fits_renamed_png_refused(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    Image.new("RGB", (8, 8), RED).save(pdf)
    renamed = tmp_path / "doc.png"
    pdf.rename(renamed)
    assert rejected(renamed).reason.startswith("format PDF is not allowed (allowed: PNG")

    fits = tmp_path / "sky.png"
    fits.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    assert rejected(fits).reason.startswith("format FITS is not allowed")


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any pixel decoding: a bomb must be refused from its header alone."""
    calls: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        calls.append(self.format or "?")
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return calls


def test_decompression_bomb_rejected_from_the_header_fast(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(100_000, 100_000))
    decoded = _forbid_decoding(monkeypatch)
    error = rejected(path)
    assert decoded == []
    assert error.reason == "image is 100000x100000 pixels, over the 64,000,000-pixel limit"


def test_pixel_limit_below_pillows_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(bomb_png(9000, 9000))  # 81M: over our limit, under Pillow's warning
    decoded = _forbid_decoding(monkeypatch)
    assert rejected(path).reason == "image is 9000x9000 pixels, over the 64,000,000-pixel limit"
    assert decoded == []
    small = save(Image.new("RGB", (20, 20)), tmp_path / "small.png")
    error = rejected(small, max_pixels=100)
    assert error.reason == "image is 20x20 pixels, over the 100-pixel limit"


def test_bomb_warning_raised_as_error_is_still_an_image_error(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(10_000, 10_000))  # 100M: Pillow warns (89M < n < 179M)
    with pytest.warns(Image.DecompressionBombWarning):
        error = rejected(path)
    assert "10000x10000" in error.reason

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        error = rejected(path, max_pixels=200_000_000)
    assert "10000x10000" in error.reason and "pixel limit" in error.reason


def test_truncated_flag_untouched_after_loading(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    buffer = io.BytesIO()
    noise((32, 32)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue()[:-40])
    rejected(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ---------------------------------------------------------------------------------------------
# fitting and preparing
# ---------------------------------------------------------------------------------------------


def test_tiny_image_rejected(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (1, 1)), tmp_path / "dot.png")
    with pytest.raises(ImageLoadError) as info:
        prepare_image(path, 32, 3)
    assert str(info.value) == (
        "dot.png: image is 1x1 pixels, too small to use (at least 4 px a side)"
    )


def test_elongated_image_rejected(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (4000, 100)), tmp_path / "strip.png")
    with pytest.raises(ImageLoadError) as info:
        prepare_image(path, 32, 3)
    assert info.value.reason == (
        "image is 4000x100 pixels, too elongated to centre-crop (aspect over 8:1)"
    )


def test_resize_and_centre_crop(tmp_path: Path) -> None:
    image = Image.new("RGB", (1920, 1080), RED)
    image.paste(GREEN, (420, 0, 1500, 1080))  # the centre square is green
    prepared = prepare_image(save(image, tmp_path / "wide.png"), 32, 3)
    assert isinstance(prepared, PreparedImage)
    assert prepared.array.shape == (32, 32, 3) and prepared.array.dtype == np.uint8
    assert prepared.original_size == (1920, 1080)
    assert "resized from 1920x1080" in prepared.notes
    # Lanczos reaches one pixel past the crop, exactly as resize-then-crop would.
    assert np.all(np.abs(prepared.array[:, 1:-1].astype(int) - GREEN) <= 2)


def test_exact_size_has_no_resize_note(tmp_path: Path) -> None:
    source = noise((16, 16))
    prepared = prepare_image(save(source, tmp_path / "sq.png"), 16, 3)
    assert prepared.notes == ()
    assert np.array_equal(prepared.array, np.asarray(source))


def test_channel_conversion_both_ways(tmp_path: Path) -> None:
    colour = save(Image.new("RGB", (20, 20), (200, 100, 50)), tmp_path / "c.png")
    grey = prepare_image(colour, 8, 1)
    assert grey.array.shape == (8, 8, 1)
    expected = Image.new("RGB", (1, 1), (200, 100, 50)).convert("L").getpixel((0, 0))
    assert np.all(grey.array == expected)
    assert "converted to greyscale" in grey.notes

    mono = save(Image.new("L", (8, 8), 90), tmp_path / "m.png")
    rgb = prepare_image(mono, 8, 3)
    assert rgb.array.shape == (8, 8, 3) and np.all(rgb.array == 90)
    assert "converted to RGB" in rgb.notes and "resized" not in " ".join(rgb.notes)


def test_fit_image_directly() -> None:
    tall = Image.new("L", (10, 30), 7)
    out = fit_image(tall, 5, 1)
    assert out.shape == (5, 5, 1) and out.dtype == np.uint8 and np.all(out == 7)
    rgba = Image.new("RGBA", (6, 6), (0, 0, 0, 0))
    assert np.all(fit_image(rgba, 6, 3) == 255)  # flattened onto white, not black
    with pytest.raises(ValueError):
        fit_image(tall, 5, 2)


def test_prepare_wraps_rotation_and_notes(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    prepared = prepare_image(save(image, tmp_path / "r.jpg", exif=exif), 10, 3)
    assert prepared.notes == ("rotated upright from EXIF", "resized from 20x40")
    assert close_to(tuple(prepared.array[0, 5]), RED, tol=20)  # the top is red after rotation


# ---------------------------------------------------------------------------------------------
# folders
# ---------------------------------------------------------------------------------------------


def make_tree(root: Path) -> None:
    save(Image.new("RGB", (8, 8)), root / "a.png")
    save(Image.new("RGB", (8, 8)), root / "sub" / "b.JPG")
    save(Image.new("RGB", (8, 8)), root / "sub" / "deeper" / "c.gif")
    save(Image.new("RGB", (8, 8)), root / ".hidden.png")
    save(Image.new("RGB", (8, 8)), root / ".git" / "x.png")
    (root / "notes.txt").write_text("hi")
    (root / "README").write_text("hi")


def test_find_images_nested(tmp_path: Path) -> None:
    make_tree(tmp_path)
    found, skipped = find_images([tmp_path])
    assert found == [tmp_path / "a.png", tmp_path / "sub" / "b.JPG", tmp_path / "sub/deeper/c.gif"]
    assert (tmp_path / "notes.txt", "not an image type (.txt)") in skipped
    assert (tmp_path / "README", "not an image type (no extension)") in skipped
    assert not any(part.startswith(".") for path, _ in skipped for part in path.parts[-2:])

    flat, _ = find_images([tmp_path], recursive=False)
    assert flat == [tmp_path / "a.png"]

    found, skipped = find_images([tmp_path / "a.png", tmp_path / "missing.png"])
    assert found == [tmp_path / "a.png"]
    assert skipped == [(tmp_path / "missing.png", "does not exist")]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_find_images_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    make_tree(tmp_path)
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    found, _ = find_images([tmp_path])
    assert len(found) == 3


def make_classes(root: Path) -> None:
    for index in range(3):
        save(Image.new("RGB", (20, 20), (index * 40, 0, 0)), root / "cats" / f"c{index}.png")
    for index in range(2):
        save(Image.new("RGB", (16, 16), (0, index * 40, 0)), root / "dogs" / f"d{index}.png")
    (root / "dogs" / "broken.png").write_text("not an image")
    (root / "cats" / "readme.txt").write_text("cats")
    (root / "empty").mkdir()


def test_load_folder_with_classes(tmp_path: Path) -> None:
    make_classes(tmp_path)
    calls: list[tuple[int, int]] = []
    result = load_folder(tmp_path, 16, 3, progress=lambda done, total: calls.append((done, total)))
    assert isinstance(result, FolderImages)
    assert result.arrays.shape == (5, 16, 16, 3) and result.arrays.dtype == np.uint8
    assert result.class_names == ["cats", "dogs"]
    assert result.labels.dtype == np.int64
    assert result.labels.tolist() == [0, 0, 0, 1, 1]
    names = [path.name for path in result.paths]
    assert names == ["c0.png", "c1.png", "c2.png", "d0.png", "d1.png"]
    reasons = dict(result.skipped)
    assert reasons[tmp_path / "dogs" / "broken.png"] == "not an image file Pillow can read"
    assert reasons[tmp_path / "cats" / "readme.txt"] == "not an image type (.txt)"
    assert result.notes_count == {"resized": 3}
    assert calls and calls[-1] == (6, 6)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_load_folder_flat_is_one_class(tmp_path: Path) -> None:
    root = tmp_path / "faces"
    for index in range(3):
        save(noise((8, 8), seed=index), root / f"{index}.png")
    result = load_folder(root, 8, 1, workers=3)
    assert result.class_names == ["faces"]
    assert result.labels.tolist() == [0, 0, 0]
    assert result.arrays.shape == (3, 8, 8, 1)
    assert result.notes_count == {"converted to greyscale": 3}


def test_load_folder_root_files_and_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "set"
    save(Image.new("RGB", (8, 8)), root / "top.png")
    save(Image.new("RGB", (8, 8)), root / "zebra" / "z.png")
    result = load_folder(root, 8, 3)
    assert result.class_names == ["set", "zebra"]
    assert result.labels.tolist() == [0, 1]


def test_load_folder_counts_broken_files(tmp_path: Path) -> None:
    for index in range(4):
        save(noise((12, 12), seed=index), tmp_path / f"ok{index}.png")
    buffer = io.BytesIO()
    noise((64, 64)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[:300])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "bomb.png").write_bytes(bomb_png(100_000, 100_000))
    save(Image.new("RGB", (2, 2)), tmp_path / "tiny.png")
    frames = [Image.new("RGB", (12, 12), colour) for colour in (RED, GREEN)]
    save(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    result = load_folder(tmp_path, 12, 3)
    assert len(result.paths) == 5
    reasons = {path.name: reason for path, reason in result.skipped}
    assert set(reasons) == {"cut.jpg", "empty.png", "bomb.png", "tiny.png"}
    assert "truncated or corrupt" in reasons["cut.jpg"]
    assert "pixel limit" in reasons["bomb.png"]
    assert "too small" in reasons["tiny.png"]
    assert result.notes_count == {"first frame of an animation": 1}


def test_load_folder_max_images_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "0_bad.png").write_text("bad")
    for index in range(5):
        save(noise((8, 8), seed=index), tmp_path / f"{index + 1}.png")
    result = load_folder(tmp_path, 8, 3, max_images=2, workers=4)
    assert [path.name for path in result.paths] == ["1.png", "2.png"]
    names = [path.name for path, _ in result.skipped]
    assert names[0] == "0_bad.png" and set(names[1:]) == {"3.png", "4.png", "5.png"}
    assert "limit of 2 images" in result.skipped[-1][1]


def test_load_folder_cancel(tmp_path: Path) -> None:
    for index in range(20):
        save(noise((8, 8), seed=index), tmp_path / f"{index:02}.png")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ImageLoadError) as info:
        load_folder(tmp_path, 8, 3, cancel=cancel)
    assert info.value.reason == "loading was cancelled"

    cancel = threading.Event()
    with pytest.raises(ImageLoadError, match="loading was cancelled"):
        load_folder(tmp_path, 8, 3, cancel=cancel, progress=lambda done, total: cancel.set())
    assert threading.active_count() < 10  # the pool was shut down


def test_load_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError) as info:
        load_folder(tmp_path / "nowhere", 8, 3)
    assert info.value.reason == "folder does not exist"

    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ImageLoadError) as info:
        load_folder(tmp_path, 8, 3)
    assert info.value.reason == (
        "no usable images (1 file skipped, e.g. notes.txt: not an image type (.txt))"
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageLoadError, match="no usable images"):
        load_folder(empty, 8, 3)


def test_scan_folder_checks_headers_only(tmp_path: Path) -> None:
    save(Image.new("RGB", (10, 10)), tmp_path / "good.png")
    save(Image.new("RGB", (1, 1)), tmp_path / "dot.png")
    save(Image.new("RGB", (900, 100)), tmp_path / "strip.png")
    (tmp_path / "bomb.png").write_bytes(bomb_png(100_000, 100_000))
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "x.txt").write_text("hello")
    usable, skipped = scan_folder(tmp_path)
    assert usable == [tmp_path / "good.png"]
    reasons = {path.name: reason for path, reason in skipped}
    assert reasons["bomb.png"] == "image is 100000x100000 pixels, over the 64,000,000-pixel limit"
    assert "too small" in reasons["dot.png"]
    assert "too elongated" in reasons["strip.png"]
    assert reasons["text.png"] == "not an image file Pillow can read"
    assert reasons["x.txt"] == "not an image type (.txt)"
    with pytest.raises(ImageLoadError, match="folder does not exist"):
        scan_folder(tmp_path / "nowhere")


def test_note_kind() -> None:
    assert note_kind("resized from 640x480") == "resized"
    assert note_kind("first of 12 frames used") == "first frame of an animation"
    assert note_kind("converted from CMYK") == "converted from CMYK"


# ---------------------------------------------------------------------------------------------
# fuzz: damaged real files either load or fail as ImageLoadError, nothing else
# ---------------------------------------------------------------------------------------------


def sample_files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    image = noise((24, 24), seed=3)
    for name, params in {
        "png": {"format": "PNG"},
        "jpg": {"format": "JPEG", "quality": 80},
        "bmp": {"format": "BMP"},
        "tif": {"format": "TIFF"},
        "webp": {"format": "WEBP"},
    }.items():
        buffer = io.BytesIO()
        image.save(buffer, **params)
        out[name] = buffer.getvalue()
    buffer = io.BytesIO()
    frames = [noise((24, 24), seed=s).convert("P") for s in range(3)]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    out["gif"] = buffer.getvalue()
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip a few bytes
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncate
        del buf[rng.randrange(len(buf)) :]
    elif kind == 2:  # insert random bytes
        at = rng.randrange(len(buf))
        buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    else:  # overwrite a run, often in the header
        at = rng.randrange(min(len(buf), 64) if rng.random() < 0.5 else len(buf))
        run = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        buf[at : at + len(run)] = run
    return bytes(buf)


@pytest.mark.filterwarnings("ignore")  # Pillow warns about every broken TIFF tag it meets
def test_fuzz_damaged_files_fail_cleanly(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    samples = sample_files()
    outcomes = {"loaded": 0, "rejected": 0}
    for round_ in range(500):
        for name, data in samples.items():
            path = tmp_path / f"f{round_}.{name}"
            path.write_bytes(mutate(data, rng))
            try:
                loaded = load_image(path)
            except ImageLoadError as error:
                assert str(error).startswith(path.name + ": ")
                outcomes["rejected"] += 1
            else:
                assert loaded.image.mode in ("L", "RGB")
                outcomes["loaded"] += 1
            path.unlink()
    assert sum(outcomes.values()) == 3000
    assert outcomes["rejected"] > 200 and outcomes["loaded"] > 200
