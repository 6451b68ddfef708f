"""What made an image: written into every PNG and GIF the studio saves, read back safely.

A PNG carries two iTXt chunks: ``aigc-studio`` (a small JSON object: app version, run id and
folder, model family, epoch, seeds, class, sampler settings) and ``XML:com.adobe.xmp`` (an XMP
packet with the IPTC digital source type ``trainedAlgorithmicMedia``, the marker content-
credential tools read to tell an image is AI-generated). A GIF carries the same JSON in its
comment. Pillow only (no torch), so the window can read a dropped image at once.

Metadata is data from an untrusted file: every field is checked for type and length, the run
folder must be a plain name, and :func:`locate_run` only looks for a folder of exactly that
name directly inside known places, never following a path the image names.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from aigc_studio import __version__
from aigc_studio.errors import AigcError

KEYWORD = "aigc-studio"  # the iTXt keyword of the JSON provenance
XMP_KEYWORD = "XML:com.adobe.xmp"  # where PNG keeps XMP
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MAX_CHUNK = 64 * 1024  # bytes of provenance text accepted; real ones are under 2 KB
MAX_CONFIG = 1024 * 1024  # bytes of a run's config.json read while locating the run
SHOWN_CHARS = 2000  # how much of a refused chunk is kept for showing as text

_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
    '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
    f'    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"\n'
    '    xmp:CreatorTool="AIGC Studio {version}"/>\n'
    ' </rdf:RDF>\n'
    '</x:xmpmeta>\n'
    '<?xpacket end="r"?>'
)

_PLAIN = re.compile(r"[A-Za-z0-9_.+-]{1,64}")  # version, run id, kind words
_FAMILY = re.compile(r"[a-z0-9_-]{1,40}")
_SETTING = re.compile(r"[a-z][a-z0-9_]{0,39}")
_FORBIDDEN_IN_NAME = re.compile(r"[/\\:\x00-\x1f\x7f]")
MAX_SEEDS = 16
MAX_SETTINGS = 16
MAX_TEXT = 200  # characters of a free-text field (class name, setting value)


class ProvenanceError(AigcError):
    """An image's provenance is missing, too large or malformed; the message is one sentence.

    ``text`` keeps (a printable, shortened copy of) what the image said, so a caller can show
    it as text without trusting it.
    """

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


@dataclass(frozen=True)
class Provenance:
    """What made one image. Seeds follow the studio's convention: row ``i`` of a grid drawn
    from ``seeds[0]`` uses seed ``seeds[0] + i``; an interpolation names both end seeds."""

    kind: str = "sample"  # "epoch-grid", "sample", "interpolation", "explorer", "latent-map"
    model: str = ""  # the model family
    run_id: str = ""
    run_folder: str = ""  # the run folder's name (never a path)
    epoch: int | None = None
    seeds: tuple[int, ...] = ()
    class_index: int | None = None
    class_name: str = ""
    sampler: Mapping[str, Any] = field(default_factory=dict)  # steps, slerp, frame, noise...
    app_version: str = __version__
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA

    @property
    def ai_generated(self) -> bool:
        """Whether the image says it was made by a trained model (IPTC digital source type)."""
        return self.digital_source_type == TRAINED_ALGORITHMIC_MEDIA

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the chunk holds)."""
        doc = dataclasses.asdict(self)
        doc["seeds"] = list(self.seeds)
        doc["sampler"] = dict(self.sampler)
        return doc

    def to_json(self) -> str:
        """The chunk text: compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def with_sampler(self, **settings: Any) -> Provenance:
        """A copy with more sampler settings (e.g. the frame number of one frame)."""
        return dataclasses.replace(self, sampler={**self.sampler, **settings})

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for printing or a dialog, in reading order."""
        rows = [("AI-generated", "yes (IPTC trainedAlgorithmicMedia)" if self.ai_generated
                 else "not marked"),
                ("Made by", f"AIGC Studio {self.app_version}"), ("Image", self.kind)]
        if self.model:
            rows.append(("Model family", self.model))
        if self.run_folder:
            rows.append(("Run", self.run_folder))
        if self.run_id:
            rows.append(("Run id", self.run_id))
        if self.epoch is not None:
            rows.append(("Epoch", str(self.epoch)))
        if self.seeds:
            rows.append(("Seeds" if len(self.seeds) > 1 else "Seed",
                         ", ".join(str(s) for s in self.seeds)))
        if self.class_index is not None:
            rows.append(("Class", f"{self.class_index}" +
                         (f" ({self.class_name})" if self.class_name else "")))
        rows += [(k, _show(v)) for k, v in self.sampler.items()]
        if self.created:
            rows.append(("Created", self.created))
        return rows

    @classmethod
    def from_dict(cls, doc: object) -> Provenance:
        """Check every field strictly; :class:`ProvenanceError` names the first bad one."""
        if not isinstance(doc, dict):
            raise ProvenanceError("The image's provenance is not a JSON object.")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        try:
            return cls(
                kind=_text(values, "kind", "sample", _PLAIN),
                model=_text(values, "model", "", _FAMILY, empty=True),
                run_id=_text(values, "run_id", "", _PLAIN, empty=True),
                run_folder=_folder_name(values.get("run_folder", "")),
                epoch=_int(values, "epoch", 0, 10**7),
                seeds=_seeds(values.get("seeds", [])),
                class_index=_int(values, "class_index", 0, 10**6),
                class_name=_free_text(values.get("class_name", ""), "class_name"),
                sampler=_settings(values.get("sampler", {})),
                app_version=_text(values, "app_version", "?", _PLAIN),
                created=_free_text(values.get("created", ""), "created"),
                digital_source_type=_free_text(
                    values.get("digital_source_type", ""), "digital_source_type"),
            )
        except _BadField as exc:
            raise ProvenanceError(f"The image's provenance field {exc} so it is shown as "
                                  "text only.") from None


# --------------------------------------------------------------------------- writing
def png_info(provenance: Provenance) -> PngImagePlugin.PngInfo:
    """The PNG text chunks for ``provenance`` (pass as ``pnginfo=`` to ``Image.save``)."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(XMP_KEYWORD, _XMP.format(version=provenance.app_version))
    info.add_itxt(KEYWORD, provenance.to_json())
    return info


def gif_comment(provenance: Provenance) -> bytes:
    """The GIF comment for ``provenance`` (pass as ``comment=`` to ``Image.save``)."""
    return provenance.to_json().encode("utf-8")


# --------------------------------------------------------------------------- reading
def read_provenance(path: str | Path) -> Provenance:
    """What ``path`` (a PNG or GIF) says made it.

    Raises :class:`ProvenanceError` (one sentence) for a file that is not such an image, has
    no provenance, or holds one that is too large or malformed; never follows what it names.
    """
    path = Path(path)
    name = path.name
    try:
        with Image.open(path) as image:
            if image.format == "PNG":
                chunks = image.text  # type: ignore[attr-defined]
                raw, xmp = chunks.get(KEYWORD), chunks.get(XMP_KEYWORD)
            elif image.format == "GIF":
                raw, xmp = image.info.get("comment"), None
            else:
                raise ProvenanceError(f"{name} is a {image.format or 'non-PNG'} image; only "
                                      "the PNG and GIF files the studio writes carry where "
                                      "they came from.")
    except ProvenanceError:
        raise
    except (FileNotFoundError, IsADirectoryError):
        raise ProvenanceError(f"{name} does not exist or is not a file.") from None
    except Image.DecompressionBombError:
        raise ProvenanceError(f"{name} claims too many pixels to be opened safely.") from None
    except UnidentifiedImageError:
        raise ProvenanceError(f"{name} is not an image this app can read.") from None
    except ValueError:  # Pillow refuses text chunks over PngImagePlugin.MAX_TEXT_CHUNK
        raise ProvenanceError(f"{name} holds a text chunk too large to read safely; its "
                              "metadata was refused.") from None
    except (OSError, SyntaxError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or "damaged or truncated"
        raise ProvenanceError(f"{name} cannot be read ({reason}).") from None
    if raw is None:
        raise ProvenanceError(f"{name} carries no AIGC Studio provenance.")
    size = len(raw) if isinstance(raw, bytes) else len(str(raw).encode("utf-8", "replace"))
    if size > MAX_CHUNK:
        raise ProvenanceError(f"{name}'s provenance is {size:,} bytes, over the "
                              f"{MAX_CHUNK:,}-byte limit; it was refused.")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        doc = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProvenanceError(f"{name}'s provenance is not valid JSON, so it is shown as text "
                              "only.", _printable(raw)) from None
    try:
        provenance = Provenance.from_dict(doc)
    except ProvenanceError as exc:
        raise ProvenanceError(str(exc), _printable(raw)) from None
    if xmp is not None and TRAINED_ALGORITHMIC_MEDIA in str(xmp)[:MAX_CHUNK]:
        provenance = dataclasses.replace(provenance,
                                         digital_source_type=TRAINED_ALGORITHMIC_MEDIA)
    return provenance


def locate_run(provenance: Provenance, image_path: str | Path,
               roots: Sequence[str | Path]) -> Path | None:
    """The run folder the image came from, if it is still there; else None.

    Looks only for a folder of exactly ``provenance.run_folder`` directly inside each root,
    beside the image, or as the run holding the image (``RUN/samples/x.png``). A symlinked
    folder, one that resolves outside its root, or one whose config.json records another
    run id is refused.
    """
    name = provenance.run_folder
    if not name or _folder_problem(name):
        return None
    image = Path(image_path).expanduser().absolute()
    places = [Path(r).expanduser() for r in roots] + [image.parent]
    if image.parent.name == "samples" and image.parent.parent.name == name:
        places.append(image.parent.parent.parent)
    for root in places:
        found = _run_in(root, name, provenance.run_id)
        if found is not None:
            return found
    return None


def _run_in(root: Path, name: str, run_id: str) -> Path | None:
    candidate = root / name
    try:
        if candidate.is_symlink() or not candidate.is_dir():
            return None
        resolved = candidate.resolve(strict=True)
        if resolved.parent != root.resolve(strict=True):
            return None
        config = resolved / "config.json"
        if config.is_symlink() or not config.is_file() or config.stat().st_size > MAX_CONFIG:
            return None
        doc = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, RuntimeError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        return None
    recorded = doc.get("run_id")
    if run_id and isinstance(recorded, str) and recorded != run_id:
        return None
    return resolved


# --------------------------------------------------------------------------- validation
class _BadField(ValueError):
    """Internal: a field failed its check (the message completes a sentence)."""


def _folder_problem(value: str) -> str:
    """Why ``value`` is not a plain folder name ('' when it is one)."""
    if not 1 <= len(value) <= 255:
        return "is not 1 to 255 characters long"
    if value in (".", "..") or ".." in value:
        return "contains '..'"
    if _FORBIDDEN_IN_NAME.search(value) or not value.isprintable():
        return "contains a path separator or control character"
    return ""


def _folder_name(value: object) -> str:
    if value == "":
        return ""
    if not isinstance(value, str):
        raise _BadField("run_folder is not text,")
    problem = _folder_problem(value)
    if problem:
        raise _BadField(f"run_folder {problem}, not a plain folder name,")
    return value


def _text(values: Mapping[str, Any], key: str, default: str, pattern: re.Pattern[str],
          *, empty: bool = False) -> str:
    value = values.get(key, default)
    if empty and value == "":
        return ""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _BadField(f"{key} is not a short plain word,")
    return value


def _free_text(value: object, key: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        raise _BadField(f"{key} is not short printable text,")
    return value


def _int(values: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _BadField(f"{key} is not a whole number from {low} to {high},")
    return value


def _seeds(value: object) -> tuple[int, ...]:
    ok = isinstance(value, list) and len(value) <= MAX_SEEDS and all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**63 for s in value)
    if not ok:
        raise _BadField(f"seeds is not a list of at most {MAX_SEEDS} seeds,")
    return tuple(value)  # type: ignore[arg-type]


def _settings(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > MAX_SETTINGS:
        raise _BadField(f"sampler is not an object of at most {MAX_SETTINGS} settings,")
    for key, item in value.items():
        if not _SETTING.fullmatch(key):
            raise _BadField("sampler has a setting name that is not a plain word,")
        number = isinstance(item, (int, float)) and (isinstance(item, (bool, int)) or
                                                     math.isfinite(item))
        text = isinstance(item, str) and len(item) <= MAX_TEXT and item.isprintable()
        if not (number or text):
            raise _BadField(f"sampler setting {key} is not a number or short text,")
    return dict(value)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _printable(raw: object) -> str:
    """A shortened copy of untrusted text with anything unprintable escaped."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = text[:SHOWN_CHARS]
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}"
                   for c in text[:SHOWN_CHARS])
