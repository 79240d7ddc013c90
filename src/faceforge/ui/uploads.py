"""Uploaded files: accepted kinds and sizes, and the per-browser-session folder they are copied into.

Gradio keeps its own copy of an upload in its cache (removed after an hour); the UI copies each
accepted file into the session's folder (removed as soon as the page is closed or reloaded) and checks
that it really is an image or a video before anything uses it, so a bad file is one sentence on the
page rather than a failure later.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from faceforge.errors import InputError, UnsupportedFormatError
from faceforge.media.images import IMAGE_SUFFIXES, is_image_path, read_image
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.probe import INPUT_VIDEO_SUFFIXES, is_video_path, probe_video

DEFAULT_MAX_UPLOAD_MB = 500


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS


def image_types() -> list[str]:
    return sorted(IMAGE_SUFFIXES)


def media_types() -> list[str]:
    return sorted(IMAGE_SUFFIXES | INPUT_VIDEO_SUFFIXES)


def session_folder(root: Path, session_hash: str) -> Path:
    """The folder of one browser session's uploads (created when first asked for)."""
    path = root / f"session-{_safe(session_hash)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_session_folder(root: Path, session_hash: str) -> None:
    """Remove a session's uploads (when its page is closed or reloaded)."""
    shutil.rmtree(root / f"session-{_safe(session_hash)}", ignore_errors=True)


def _safe(session_hash: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", session_hash)[:64] or "anonymous"


def accept_upload(upload: str | Path, folder: Path, limits: UploadLimits, videos: bool = True) -> Path:
    """Check one uploaded file and copy it into ``folder`` under a fresh name; the copy's path.

    Raises one-sentence :class:`InputError` / :class:`UnsupportedFormatError` for a file that is too
    large, of a kind faceforge does not read, or not what its name says (a text file named .jpg).
    """
    path = Path(upload)
    name = path.name
    if is_image_path(path):
        kind = "image"
    elif videos and is_video_path(path):
        kind = "video"
    else:
        wanted = "an image or a video" if videos else "an image"
        allowed = ", ".join(media_types() if videos else image_types())
        raise UnsupportedFormatError(f"{name} is not {wanted} faceforge reads ({allowed}).")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise InputError(
            f"{name} is {size / 2**20:.0f} MB; uploads are limited to {limits.max_bytes // 2**20} MB."
        )
    copy = folder / f"{uuid.uuid4().hex[:12]}{path.suffix.lower()}"
    shutil.copyfile(path, copy)
    try:
        if kind == "image":
            read_image(copy, max_pixels=limits.max_pixels)
        else:
            probe_video(copy, limits.max_pixels)
    except InputError as exc:
        copy.unlink(missing_ok=True)
        raise InputError(str(exc).replace(str(copy), name)) from None
    return copy
