"""Provenance in PNG and GIF files: written, read back, and forged files refused safely."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from aigc_studio.core.grid import save_png
from aigc_studio.core.provenance import (
    KEYWORD,
    TRAINED_ALGORITHMIC_MEDIA,
    XMP_KEYWORD,
    Provenance,
    ProvenanceError,
    gif_comment,
    locate_run,
    read_provenance,
)

PIXELS = np.zeros((8, 8, 3), np.uint8)
STAMP = Provenance(kind="sample", model="dcgan", run_id="ab" * 16, run_folder="20260101-dcgan",
                   epoch=3, seeds=(7,), class_index=2, class_name="two", sampler={"n": 4})


def _forged_png(path: Path, text: str | bytes, *, keyword: str = KEYWORD) -> Path:
    """A PNG whose provenance chunk holds ``text`` (a tEXt chunk, as a forger would write)."""
    info = PngImagePlugin.PngInfo()
    info.add_text(keyword, text)
    Image.fromarray(PIXELS).save(path, pnginfo=info)
    return path


def _one_sentence(message: str) -> None:
    assert message.endswith("."), message
    assert "\n" not in message and len(message) < 300, message


def test_png_round_trip_carries_every_field_and_the_xmp_marker(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    save_png(PIXELS, path, STAMP)
    with Image.open(path) as image:
        xmp = image.text[XMP_KEYWORD]
    assert "Iptc4xmpExt:DigitalSourceType" in xmp and TRAINED_ALGORITHMIC_MEDIA in xmp
    back = read_provenance(path)
    assert back == STAMP and back.ai_generated
    labels = dict(back.lines())
    assert labels["Seed"] == "7" and labels["Class"] == "2 (two)" and labels["Epoch"] == "3"


def test_gif_comment_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "x.gif"
    frames = [Image.fromarray(PIXELS), Image.fromarray(PIXELS + 50)]
    frames[0].save(path, save_all=True, append_images=frames[1:], comment=gif_comment(STAMP))
    assert read_provenance(path) == STAMP


def test_images_without_provenance_or_not_png_are_one_sentence(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.fromarray(PIXELS).save(plain)
    jpeg = tmp_path / "x.jpg"
    Image.fromarray(PIXELS).save(jpeg)
    text = tmp_path / "x.png.txt"
    text.write_text("hello")
    for path in (plain, jpeg, text, tmp_path / "missing.png", tmp_path):
        with pytest.raises(ProvenanceError) as caught:
            read_provenance(path)
        _one_sentence(str(caught.value))


def test_a_ten_megabyte_chunk_is_refused(tmp_path: Path) -> None:
    path = _forged_png(tmp_path / "big.png", json.dumps({"kind": "x" * (10 * 2**20)}))
    with pytest.raises(ProvenanceError, match="over the 65,536-byte limit") as caught:
        read_provenance(path)
    _one_sentence(str(caught.value))


def test_a_compressed_bomb_chunk_is_refused(tmp_path: Path) -> None:
    """A zTXt chunk inflating past Pillow's MAX_TEXT_CHUNK: Pillow's ValueError, one sentence."""
    path = tmp_path / "bomb.png"
    info = PngImagePlugin.PngInfo()
    info.add_text(KEYWORD, "{" + " " * (PngImagePlugin.MAX_TEXT_CHUNK + 10) + "}", zip=True)
    Image.fromarray(PIXELS).save(path, pnginfo=info)
    assert path.stat().st_size < 100_000  # small on disk
    with pytest.raises(ProvenanceError) as caught:
        read_provenance(path)
    _one_sentence(str(caught.value))


@pytest.mark.parametrize("doc", [
    {"run_folder": "../../etc"},
    {"run_folder": ".."},
    {"run_folder": "a/b"},
    {"run_folder": "a\\b"},
    {"run_folder": "/abs"},
    {"run_folder": 5},
    {"seeds": ["1"]},
    {"seeds": list(range(100))},
    {"epoch": -1},
    {"epoch": True},
    {"model": "DCGAN; rm -rf"},
    {"class_name": "x" * 1000},
    {"sampler": {"../x": 1}},
    {"sampler": {"n": [1, 2]}},
    {"sampler": {"n": float("nan")}},
])
def test_malformed_fields_are_shown_as_text_only(tmp_path: Path, doc: dict) -> None:
    path = _forged_png(tmp_path / "forged.png", json.dumps({**STAMP.to_dict(), **doc}))
    with pytest.raises(ProvenanceError, match="shown as text only") as caught:
        read_provenance(path)
    _one_sentence(str(caught.value))
    assert caught.value.text  # what it said, for showing


@pytest.mark.parametrize("payload", [b"\x00\x01\xff\xfe binary", "not json {", "[1, 2]", "NaN"])
def test_binary_or_non_json_chunks_are_refused(tmp_path: Path, payload: str | bytes) -> None:
    text = payload.decode("latin-1") if isinstance(payload, bytes) else payload
    path = _forged_png(tmp_path / "binary.png", text)
    with pytest.raises(ProvenanceError) as caught:
        read_provenance(path)
    _one_sentence(str(caught.value))
    assert "\x00" not in caught.value.text


def _make_run(root: Path, name: str, run_id: str | None = "ab" * 16) -> Path:
    run = root / name
    run.mkdir(parents=True)
    doc = {"app": "aigc-studio", "config": {"model": "dcgan"}}
    if run_id is not None:
        doc["run_id"] = run_id
    (run / "config.json").write_text(json.dumps(doc))
    return run


def test_locate_run_in_a_root_beside_the_image_and_inside_its_run(tmp_path: Path) -> None:
    roots = [tmp_path / "runs"]
    image = tmp_path / "elsewhere" / "x.png"
    image.parent.mkdir()
    assert locate_run(STAMP, image, roots) is None  # gone: the caller shows the record
    run = _make_run(tmp_path / "runs", STAMP.run_folder)
    assert locate_run(STAMP, image, roots) == run.resolve()
    beside = _make_run(image.parent, STAMP.run_folder)
    assert locate_run(STAMP, image, []) == beside.resolve()
    (run / "samples").mkdir()
    assert locate_run(STAMP, run / "samples" / "epoch_0001.png", []) == run.resolve()


def test_locate_run_checks_the_run_id_and_accepts_old_runs(tmp_path: Path) -> None:
    _make_run(tmp_path / "a", STAMP.run_folder, run_id="cd" * 16)
    assert locate_run(STAMP, tmp_path / "x.png", [tmp_path / "a"]) is None
    old = _make_run(tmp_path / "b", STAMP.run_folder, run_id=None)  # written before run ids
    assert locate_run(STAMP, tmp_path / "x.png", [tmp_path / "b"]) == old.resolve()


def test_locate_run_refuses_symlinks_and_folders_outside_the_root(tmp_path: Path) -> None:
    outside = _make_run(tmp_path / "outside", STAMP.run_folder)
    root = tmp_path / "runs"
    root.mkdir()
    os.symlink(outside, root / STAMP.run_folder)
    assert locate_run(STAMP, tmp_path / "x.png", [root]) is None
    # config.json as a link elsewhere is refused too
    other = tmp_path / "r2"
    run = other / STAMP.run_folder
    run.mkdir(parents=True)
    os.symlink(outside / "config.json", run / "config.json")
    assert locate_run(STAMP, tmp_path / "x.png", [other]) is None
    # a name that is a path is never looked up, whatever the fields say
    forged = Provenance(run_folder="x")
    object.__setattr__(forged, "run_folder", "../outside/" + STAMP.run_folder)
    assert locate_run(forged, tmp_path / "runs" / "x.png", [root]) is None
