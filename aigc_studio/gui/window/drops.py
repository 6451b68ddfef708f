"""Drop routing: what a dropped (or command-line) set of paths means.

Run folders and checkpoints open in the window; an image the studio generated (a PNG or GIF
carrying its provenance) reopens the run, epoch and seed that made it; anything else goes to
the registered panels that accept it (``PanelSpec.accepts_drop``). When several accept it (a
folder of images: reconstruct it, or train on it) the user is asked.

An image's provenance is untrusted data: it is read with the checks of
``core.provenance`` and the run it names is only looked up by :func:`locate_run` (a plain
folder name inside known places); a forged one becomes one sentence, nothing is opened.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from aigc_studio.core.provenance import KEYWORD, Provenance, ProvenanceError, locate_run
from aigc_studio.core.provenance import read_provenance as read_stamp
from aigc_studio.engine import runs as run_store
from aigc_studio.gui.panels import registry
from aigc_studio.gui.panels.registry import PanelSpec

CHECKPOINT_SUFFIXES = (".pt", ".safetensors")
STAMPED_SUFFIXES = (".png", ".gif")  # the formats the studio writes its provenance into
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")
MAX_CHUNKS = 4096  # chunk headers scanned before giving up (a real PNG has a dozen)


@dataclass(frozen=True)
class ImageSource:
    """A generated image and what it says made it: the run found (None: gone) and the
    weights to reopen (the image's epoch when that epoch's weights are kept)."""

    image: Path
    provenance: Provenance
    run: Path | None = None
    weights: Path | None = None

    @property
    def seed(self) -> int | None:
        """The first seed of the image (row i of a grid uses seed + i)."""
        return self.provenance.seeds[0] if self.provenance.seeds else None

    @property
    def count(self) -> int:
        """How many images the PNG holds (1 unless the sampler recorded a grid size)."""
        n = self.provenance.sampler.get("n", 1)
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1

    @property
    def sampling(self) -> dict[str, Any]:
        """The sampler settings the image records (sampler, steps, guidance), typed."""
        given = self.provenance.sampler
        kinds = {"sampler": str, "steps": int, "guidance": float}
        return {k: kind(given[k]) for k, kind in kinds.items()
                if isinstance(given.get(k), (str, int, float))
                and not isinstance(given.get(k), bool)
                and (kind is str) == isinstance(given.get(k), str)}


@dataclass(frozen=True)
class DropRoute:
    """Where dropped paths go: ``open`` (a run folder or checkpoint), or panels to offer."""

    open: Path | None = None
    panels: tuple[PanelSpec, ...] = ()
    refused: str = ""  # the sentence when nothing takes the paths
    source: ImageSource | None = None  # a generated image: reopen (or show) what made it

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.panels)


def route(paths: Sequence[Path], roots: Sequence[Path] = ()) -> DropRoute:
    """Decide what dropped paths mean (nothing is done here); ``roots`` are the runs folders
    a generated image's run is looked for in (besides the image's own folder)."""
    paths = [Path(p) for p in paths]
    if not paths:
        return DropRoute(refused="Nothing was dropped.")
    if len(paths) == 1:
        path = paths[0]
        if path.is_dir() and run_store.is_run_dir(path):
            return DropRoute(open=path)
        if path.suffix in CHECKPOINT_SUFFIXES:
            return DropRoute(open=path)
        if claims_provenance(path):
            return image_route(path, roots)
    takers = tuple(p for p in registry.panels()
                   if p.accepts_drop is not None and p.accepts_drop(paths))
    if takers:
        return DropRoute(panels=takers)
    if len(paths) == 1:
        return DropRoute(refused=f"{paths[0].name} is not something AIGC Studio opens: drop "
                                 "images, a folder of images, a run folder or a checkpoint.")
    return DropRoute(refused="Drop image files or image folders together, or one run folder "
                             "or checkpoint on its own.")


def image_route(image: Path, roots: Sequence[Path]) -> DropRoute:
    """A generated image: its source, or the one sentence that refuses its provenance (or a
    run folder of its name that is a link or another run: never followed)."""
    try:
        stamp = read_stamp(image)
    except ProvenanceError as exc:
        return DropRoute(refused=str(exc))
    run = locate_run(stamp, image, roots)
    if run is None and stamp.run_folder:
        places = [Path(r).expanduser() for r in roots] + [image.absolute().parent]
        lookalike = next((p / stamp.run_folder for p in places
                          if os.path.lexists(p / stamp.run_folder)), None)
        if lookalike is not None:
            return DropRoute(refused=f"{image.name} names the run {stamp.run_folder}, but "
                                     f"{lookalike} is a link or not that run, so nothing was "
                                     "opened.")
    weights = None
    if run is not None:
        epoch_file = run_store.epoch_weights_path(run, stamp.epoch or 0)
        weights = epoch_file if stamp.epoch and epoch_file.is_file() else run
    return DropRoute(source=ImageSource(image, stamp, run, weights))


def claims_provenance(path: Path) -> bool:
    """Whether a dropped file says it was made by the studio: a regular PNG with an
    ``aigc-studio`` text chunk, or a GIF whose comment is a JSON object. Images without one
    go on to the panels (reconstruction); only chunk headers are read, so a forged 10 MB
    chunk costs nothing here."""
    suffix = path.suffix.lower()
    if suffix not in STAMPED_SUFFIXES:
        return False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device never blocks the window
            return False
        if suffix == ".png":
            return KEYWORD.encode() in _png_text_keywords(path)
        with Image.open(path) as gif:
            comment = gif.info.get("comment", b"")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return isinstance(comment, bytes) and comment.lstrip().startswith(b"{")


def _png_text_keywords(path: Path) -> set[bytes]:
    """The keywords of a PNG's text chunks, from the chunk headers (data is skipped)."""
    keywords: set[bytes] = set()
    with open(path, "rb") as fp:
        if fp.read(8) != PNG_SIGNATURE:
            return keywords
        for _ in range(MAX_CHUNKS):
            head = fp.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            start = fp.tell()
            if kind in TEXT_CHUNKS:
                keywords.add(fp.read(min(length, 80)).split(b"\0", 1)[0])
            elif kind == b"IEND":
                break
            fp.seek(start + length + 4)  # data and CRC
    return keywords
