"""Machine-readable "this is synthetic" tags for every image and video faceforge writes.

The tag is a small JSON object (see :func:`make_tag`). Where it goes depends on the format:

- PNG: a ``faceforge:provenance`` iTXt chunk with the JSON, a ``Description`` chunk with a sentence for
  people, and an XMP packet (``XML:com.adobe.xmp``);
- JPEG and WebP: an XMP packet (``faceforge:provenance`` property, ``dc:description`` sentence and the
  IPTC ``DigitalSourceType`` for composites with synthetic elements) and EXIF ``ImageDescription`` and
  ``UserComment`` holding the JSON;
- TIFF: ``ImageDescription`` holding the JSON;
- BMP: nothing; the format has no metadata field;
- GIF: a comment extension holding the JSON;
- videos: container metadata ``comment`` (the sentence plus the JSON) and ``faceforge_provenance``.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import av
from PIL import Image, PngImagePlugin, TiffImagePlugin, UnidentifiedImageError

from faceforge.errors import InputError
from faceforge.media.atomic import atomic_output

TAG_KEY = "faceforge:provenance"
VIDEO_TAG_KEY = "faceforge_provenance"
DESCRIPTION = "Synthetic media (face swap) made with faceforge"
XMP_NAMESPACE = "https://faceforge.dev/ns/provenance/1.0/"
# IPTC NewsCodes term for "a mix of synthetic and captured content", the industry marker for face swaps.
IPTC_DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic"

_RESERVED = ("synthetic", "generator", "version", "kind", "created")
_EXIF_IFD = 0x8769
_EXIF_IMAGE_DESCRIPTION = 0x010E
_EXIF_USER_COMMENT = 0x9286
_USER_COMMENT_ASCII = b"ASCII\x00\x00\x00"


def make_tag(tool_version: str, kind: str, details: dict[str, Any]) -> dict[str, Any]:
    """Build the provenance tag; ``details`` (models, options) must not reuse the reserved keys."""
    clash = sorted(set(details) & set(_RESERVED))
    if clash:
        raise ValueError(f"Provenance details may not override the reserved keys {clash}.")
    return {
        "synthetic": True,
        "generator": "faceforge",
        "version": tool_version,
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }


def tag_json(tag: dict[str, Any]) -> str:
    """The tag as compact ASCII JSON (ASCII so it fits EXIF ASCII fields unchanged)."""
    return json.dumps(tag, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def xmp_packet(tag: dict[str, Any]) -> bytes:
    """An XMP packet carrying the tag, a human description and the IPTC digital source type."""
    payload = escape(tag_json(tag))
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        f'    xmlns:faceforge="{XMP_NAMESPACE}">\n'
        f"   <faceforge:provenance>{payload}</faceforge:provenance>\n"
        f"   <Iptc4xmpExt:DigitalSourceType>{IPTC_DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>\n"
        "   <dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{DESCRIPTION}</rdf:li>'
        "</rdf:Alt></dc:description>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def _exif(tag: dict[str, Any]) -> Image.Exif:
    exif = Image.Exif()
    payload = tag_json(tag)
    exif[_EXIF_IMAGE_DESCRIPTION] = payload
    exif.get_ifd(_EXIF_IFD)[_EXIF_USER_COMMENT] = _USER_COMMENT_ASCII + payload.encode("ascii")
    return exif


def image_save_options(pil_format: str, tag: dict[str, Any] | None) -> dict[str, Any]:
    """Extra ``Image.save`` keyword arguments that embed ``tag`` in an image of ``pil_format``."""
    if tag is None:
        return {}
    if pil_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(TAG_KEY, tag_json(tag))
        info.add_text("Description", DESCRIPTION)
        info.add_itxt("XML:com.adobe.xmp", xmp_packet(tag).decode("utf-8"))
        return {"pnginfo": info}
    if pil_format in ("JPEG", "WEBP"):
        return {"xmp": xmp_packet(tag), "exif": _exif(tag)}
    if pil_format == "TIFF":
        return {"tiffinfo": {_EXIF_IMAGE_DESCRIPTION: tag_json(tag)}}
    return {}


def video_metadata(tag: dict[str, Any]) -> dict[str, str]:
    """Container metadata entries for a video carrying ``tag``."""
    payload = tag_json(tag)
    return {"comment": f"{DESCRIPTION}. {payload}", VIDEO_TAG_KEY: payload}


def insert_gif_comment(path: Path, tag: dict[str, Any]) -> None:
    """Add a GIF89a comment extension holding the tag JSON right after the header (FFmpeg writes none).

    Streams the file through a sibling copy, so memory stays bounded for long animations.
    """
    payload = tag_json(tag).encode("ascii")
    blocks = b"".join(
        bytes([len(part)]) + part for part in (payload[i : i + 255] for i in range(0, len(payload), 255))
    )
    with atomic_output(path) as patched, path.open("rb") as source, patched.open("wb") as target:
        header = source.read(13)
        if len(header) < 13 or header[:3] != b"GIF":
            raise ValueError(f"{path} is not a GIF file.")
        packed = header[10]
        table = 3 * 2 ** ((packed & 0x07) + 1) if packed & 0x80 else 0
        target.write(b"GIF89a" + header[6:] + source.read(table))
        target.write(b"\x21\xfe" + blocks + b"\x00")
        shutil.copyfileobj(source, target)


def _parse(payload: str | bytes | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    try:
        value = json.loads(payload)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _tag_from_xmp(xmp: str | bytes) -> dict[str, Any] | None:
    try:
        root = ElementTree.fromstring(xmp)
    except ElementTree.ParseError:
        return None
    name = f"{{{XMP_NAMESPACE}}}provenance"
    for element in root.iter():
        if element.tag == name:
            return _parse(element.text)
        if name in element.attrib:  # the property may also be written in attribute form
            return _parse(element.attrib[name])
    return None


def _tag_from_exif(exif: Image.Exif) -> dict[str, Any] | None:
    comment = exif.get_ifd(_EXIF_IFD).get(_EXIF_USER_COMMENT)
    if isinstance(comment, bytes) and comment.startswith(_USER_COMMENT_ASCII):
        found = _parse(comment[len(_USER_COMMENT_ASCII) :])
        if found is not None:
            return found
    description = exif.get(_EXIF_IMAGE_DESCRIPTION)
    return _parse(description) if isinstance(description, str) else None


def _read_image_tag(path: Path) -> dict[str, Any] | None:
    try:
        with Image.open(path) as image:
            if image.format == "PNG":
                text = getattr(image, "text", {})  # reads text chunks after the image data too
                found = _parse(text.get(TAG_KEY))
                if found is None and "XML:com.adobe.xmp" in text:
                    found = _tag_from_xmp(text["XML:com.adobe.xmp"])
                return found
            if image.format == "GIF":
                return _parse(image.info.get("comment"))
            if isinstance(image, TiffImagePlugin.TiffImageFile):
                return _parse(image.tag_v2.get(_EXIF_IMAGE_DESCRIPTION))
            xmp = image.info.get("xmp")
            found = _tag_from_xmp(xmp) if xmp else None
            return found if found is not None else _tag_from_exif(image.getexif())
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"Cannot read the provenance of {path}: it is not a readable image.") from exc


def _read_video_tag(path: Path) -> dict[str, Any] | None:
    try:
        with av.open(str(path)) as container:
            metadata = {key.lower(): value for key, value in container.metadata.items()}
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"Cannot read the provenance of {path}: it is not a readable video.") from exc
    return _parse(metadata.get(VIDEO_TAG_KEY))


def read_tag(path: Path) -> dict[str, Any] | None:
    """The faceforge provenance tag of an image or video, or None when it carries none."""
    from faceforge.media.images import is_image_path  # local: images imports this module

    path = Path(path)
    if not path.is_file():
        raise InputError(f"Cannot read the provenance of {path}: the file does not exist.")
    if is_image_path(path) or path.suffix.lower() == ".gif":
        return _read_image_tag(path)
    return _read_video_tag(path)
