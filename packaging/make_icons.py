"""Draw the AIGC Studio icon once and derive every platform format from that one image.

    python packaging/make_icons.py

writes ``resources/icons/``:

- ``aigc-studio.png``  1024x1024, the source image (drawn here with Pillow, deterministic);
- ``aigc-studio.ico``  Windows (16-256 px in one file), used by the PyInstaller spec;
- ``aigc-studio.icns`` macOS (16-1024 px), used by the PyInstaller spec;
- ``aigc-studio-256.png`` the window icon the GUI can set with ``QIcon``.

The outputs are committed, so building a bundle needs only Pillow's readers, not this script.
Run it again after changing the drawing; ``--check`` only verifies the outputs exist and are
derived from the current source image.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = ROOT / "resources" / "icons"
NAME = "aigc-studio"
SIZE = 1024
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
ICNS_SIZES = [16, 32, 64, 128, 256, 512, 1024]


def _lerp(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def draw_source(size: int = SIZE) -> Image.Image:
    """The icon: a rounded tile with a grid of 'samples' that sharpen from noise to a glow."""
    scale = 4  # draw large, downsample once: smooth edges without per-shape antialiasing
    big = size * scale
    # Background: diagonal gradient, deep indigo to teal.
    top, bottom = (38, 30, 92), (14, 118, 132)
    grad = Image.new("RGB", (big, big))
    ramp = Image.linear_gradient("L").resize((big, big))
    ramp = ramp.rotate(45, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=128)
    grad = Image.composite(Image.new("RGB", (big, big), bottom),
                           Image.new("RGB", (big, big), top), ramp)
    # Rounded-square mask (macOS-like proportions: 10% margin, 22% corner radius).
    margin, radius = round(big * 0.08), round(big * 0.2)
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((margin, margin, big - margin, big - margin),
                                           radius=radius, fill=255)
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    icon.paste(grad, (0, 0), mask)

    # A 4x4 grid of tiles: bottom-left dim and coarse (noise), top-right bright (a sample).
    draw = ImageDraw.Draw(icon)
    n = 4
    inner = big - 2 * margin
    pad = inner * 0.14
    cell = (inner - 2 * pad) / n
    gap = cell * 0.14
    cold, warm = (92, 108, 190), (255, 206, 112)
    for row in range(n):
        for col in range(n):
            t = (col + (n - 1 - row)) / (2 * (n - 1))  # 0 at bottom-left, 1 at top-right
            colour = _lerp(cold, warm, t ** 1.3)
            alpha = round(110 + 145 * t)
            x0 = margin + pad + col * cell + gap / 2
            y0 = margin + pad + row * cell + gap / 2
            draw.rounded_rectangle((x0, y0, x0 + cell - gap, y0 + cell - gap),
                                   radius=round(cell * 0.22), fill=(*colour, alpha))

    # A four-point spark over the brightest tile: "generated".
    cx, cy = margin + pad + (n - 0.5) * cell, margin + pad + 0.5 * cell
    r_long, r_short = cell * 1.05, cell * 0.2
    pts = []
    for k in range(8):
        ang = math.pi / 4 * k - math.pi / 2
        r = r_long if k % 2 == 0 else r_short
        pts.append((cx + r * math.cos(ang), cy + r * math.sin(ang)))
    glow = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    ImageDraw.Draw(glow).polygon(pts, fill=(255, 250, 230, 255))
    halo = glow.filter(ImageFilter.GaussianBlur(radius=cell * 0.18))
    icon = Image.alpha_composite(icon, halo)
    icon = Image.alpha_composite(icon, glow)
    # Keep everything inside the rounded square.
    alpha = ImageChops.multiply(icon.getchannel("A"), mask)
    icon.putalpha(alpha)
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def derive(source: Image.Image, out_dir: Path) -> list[Path]:
    """Write the .ico, .icns and 256 px PNG from the one source image."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ico = out_dir / f"{NAME}.ico"
    icns = out_dir / f"{NAME}.icns"
    png256 = out_dir / f"{NAME}-256.png"
    source.save(ico, format="ICO", sizes=ICO_SIZES)
    # Pillow's ICNS writer takes the largest image and the smaller ones as append_images.
    smaller = [source.resize((s, s), Image.Resampling.LANCZOS) for s in ICNS_SIZES[:-1]]
    source.save(icns, format="ICNS", append_images=smaller)
    source.resize((256, 256), Image.Resampling.LANCZOS).save(png256, format="PNG", optimize=True)
    return [ico, icns, png256]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_DIR)
    parser.add_argument("--check", action="store_true", help="only verify the outputs exist")
    args = parser.parse_args(argv)
    src = args.out / f"{NAME}.png"
    names = [src, args.out / f"{NAME}.ico", args.out / f"{NAME}.icns",
             args.out / f"{NAME}-256.png"]
    if args.check:
        missing = [str(p) for p in names if not p.is_file()]
        if missing:
            print("missing: " + ", ".join(missing), file=sys.stderr)
            return 1
        print("icons present")
        return 0
    image = draw_source()
    args.out.mkdir(parents=True, exist_ok=True)
    image.save(src, format="PNG", optimize=True)
    # Derive from the file on disk, so the outputs follow the committed source exactly.
    with Image.open(src) as reopened:
        outputs = derive(reopened.convert("RGBA"), args.out)
    for path in [src, *outputs]:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
