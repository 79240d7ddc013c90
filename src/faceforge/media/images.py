"""Still image reading and writing: always ``uint8`` RGB ``HxWx3`` between faceforge stages."""

from __future__ import annotations

import base64
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceforge.errors import InputError, OutputError, UnsupportedFormatError
from faceforge.media.atomic import atomic_output
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.provenance import image_save_options

# Output suffix -> Pillow format name. Reading accepts anything Pillow decodes.
_WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
IMAGE_SUFFIXES: frozenset[str] = frozenset(_WRITE_FORMATS)

# Pillow reports broken files with these: UnidentifiedImageError (not an image), OSError (truncated or
# undecodable data), SyntaxError (the PNG and some other plugins use it for corrupt chunks), EOFError
# (data ends inside a frame), ValueError (impossible header values).
_PILLOW_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, EOFError, ValueError)


def is_image_path(path: Path) -> bool:
    """True when the suffix is one faceforge reads and writes as a still image."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files of ``folder`` (and of its sub-folders with ``recursive``), sorted. Hidden files are
    left out: they include the temporary outputs a killed run may have left behind."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and not p.name.startswith(".") and is_image_path(p))


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to ``uint8`` RGB, dropping alpha and scaling 16-bit data down."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's convert("RGB") clips 16-bit values at 255 instead of scaling them.
        wide = np.asarray(image).astype(np.int64)
        gray = np.clip(wide // 257, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as ``uint8`` RGB ``HxWx3``, upright according to its EXIF orientation.

    The pixel count is checked from the header before any pixel data is decoded. Pillow's own
    decompression-bomb guard (a process-wide setting we leave alone) is reported the same way.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Cannot read {path}: the file does not exist.")
    if not path.is_file():
        raise InputError(f"Cannot read {path}: it is a folder, not an image file.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (on stderr) between its two bomb limits; we check our own limit instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise InputError(
                    f"Cannot read {path}: {width}x{height} is over the limit of {max_pixels:,} pixels."
                )
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise InputError(f"Cannot read {path}: the image is too large to decode safely.") from exc
    except _PILLOW_ERRORS as exc:
        raise InputError(f"Cannot read {path}: it is not a readable image (corrupt or truncated).") from exc


def write_image(path: Path, rgb: np.ndarray, tag: dict[str, Any] | None = None, quality: int = 95) -> None:
    """Write ``rgb`` atomically in the format its suffix names, with the provenance ``tag`` embedded."""
    path = Path(path)
    pil_format = _WRITE_FORMATS.get(path.suffix.lower())
    if pil_format is None:
        known = ", ".join(sorted(IMAGE_SUFFIXES))
        raise UnsupportedFormatError(f"Cannot write {path}: the suffix is not one of {known}.")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"write_image needs a uint8 HxWx3 array, got {rgb.dtype} {rgb.shape}.")
    options: dict[str, Any] = image_save_options(pil_format, tag)
    if pil_format in ("JPEG", "WEBP"):
        options["quality"] = quality
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    with atomic_output(path) as temp:
        try:
            image.save(temp, format=pil_format, **options)
        except OSError as exc:
            # The errno text alone (its str() repeats the temporary file's path); Pillow's own errors
            # carry no errno, only their message.
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise OutputError(f"Cannot write {path}: {reason}.") from exc


def jpeg_data_uri(rgb: np.ndarray, quality: int = 85) -> str:
    """``rgb`` as a ``data:image/jpeg;base64,...`` URI, for pictures embedded in an HTML page."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
