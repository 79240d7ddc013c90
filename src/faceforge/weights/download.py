"""Download a catalog entry into the cache: resumable, hashed while streaming, renamed only when verified.

The data goes to the project's one kind of temporary, ``CACHE/NAME/.faceforge-tmp-<pid>-<random>-FILENAME``
(media/atomic.py), so nothing ever appears under the final name before it is complete and verified. A
network failure, Ctrl-C or a killed process keeps the temporary; a later fetch of the same name takes it
over and asks the server for the rest with an HTTP Range request (a server that answers 200, the whole
file, instead of 206, the rest, is read from the start again), and ``faceforge clean`` removes it once its
owner has exited. Only a complete file whose sha256 matches the pinned one (the catalog's, else the one
recorded by an earlier fetch) is renamed to its final name; a mismatching file is deleted.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from faceforge.errors import WeightsError
from faceforge.media.atomic import AtomicOutput
from faceforge.outputs import OutputLock
from faceforge.version import __version__
from faceforge.weights.cache import CachedFile, now, read_manifest, record_file, sha256_digest
from faceforge.weights.catalog import WeightsEntry

DownloadProgress = Callable[[int, int | None], None]  # (bytes on disk, total bytes when known)

_CHUNK = 1 << 20
_HTTP_PARTIAL = 206
_HTTP_RANGE_NOT_SATISFIABLE = 416
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


class _TransferFailed(Exception):
    """One mirror could not deliver the file; the message is the cause, for the user."""


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a Content-Range header; None where absent or "*"."""
    match = _CONTENT_RANGE.match(header or "")
    if match is None:
        return None, None
    first, total = match.groups()
    return (int(first) if first else None), (int(total) if total != "*" else None)


def _stream(
    response: http.client.HTTPResponse, part: Path, start: int, progress: DownloadProgress | None
) -> hashlib._Hash:
    """Append the body to ``part`` (which holds ``start`` bytes; 0: start it afresh) and return the digest of
    the whole file."""
    digest = sha256_digest(part) if start else hashlib.sha256()
    length = response.headers.get("Content-Length")
    total = start + int(length) if length and length.isdigit() else None
    done = start
    with open(part, "ab" if start else "wb") as handle:
        while chunk := response.read(_CHUNK):
            handle.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        handle.flush()
        os.fsync(handle.fileno())
    if total is not None and done < total:
        raise _TransferFailed(f"the connection closed after {done} of {total} bytes")
    return digest


def _download(url: str, part: Path, progress: DownloadProgress | None, timeout: float) -> hashlib._Hash:
    """Complete ``part`` from ``url`` (resuming what is there) and return the sha256 digest of the file."""
    headers = {"User-Agent": f"faceforge/{__version__}"}
    for _ in range(2):  # the second pass starts from zero when the server cannot continue the first
        offset = part.stat().st_size if part.exists() else 0
        request = Request(url, headers=headers | ({"Range": f"bytes={offset}-"} if offset else {}))
        try:
            response = urlopen(request, timeout=timeout)
        except HTTPError as exc:
            with exc:
                if exc.code != _HTTP_RANGE_NOT_SATISFIABLE or not offset:
                    raise _TransferFailed(f"HTTP {exc.code} {exc.reason}") from None
                _, total = _content_range(exc.headers.get("Content-Range"))
            if total == offset:  # the partial download already holds the whole file
                return sha256_digest(part)
            part.unlink()
            continue
        with response:
            if response.status == _HTTP_PARTIAL:
                first, _ = _content_range(response.headers.get("Content-Range"))
                if first != offset:
                    part.unlink()
                    continue
                return _stream(response, part, offset, progress)
            return _stream(response, part, 0, progress)  # 200: the server sent the whole file again
    raise _TransferFailed("the server could not continue the partial download")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def check_downloadable(entry: WeightsEntry, urls: Sequence[str] = ()) -> None:
    """A user-supplied entry (no URL of its own) is fetched only from URLs the user gives; else one
    sentence saying where to get the file and how to add it."""
    if not urls and not entry.urls:
        raise WeightsError(f"faceforge cannot download '{entry.name}' itself: {entry.how_to_get()}.")


def fetch(
    entry: WeightsEntry,
    cache_dir: Path,
    urls: Sequence[str] = (),
    progress: DownloadProgress | None = None,
    timeout: float = 30.0,
) -> CachedFile:
    """Download ``entry`` from ``urls`` (default: its mirrors, in order) into the cache and record it."""
    check_downloadable(entry, urls)
    sources = tuple(urls) or entry.urls
    previous = read_manifest(cache_dir).get(entry.name)
    if entry.sha256 is not None:
        expected, pinned_by = entry.sha256, "the catalog's sha256"
    elif previous is not None:
        expected, pinned_by = previous.sha256, f"the sha256 recorded on {previous.when}"
    else:
        expected, pinned_by = None, ""
    folder = cache_dir / entry.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the weights folder {folder}: {exc.strerror or exc}.") from None
    final = folder / entry.filename
    try:
        with OutputLock(final):  # a second fetch of the same name would take over this one's temporary
            output = AtomicOutput(final, durable=True, resume=True)
            return _fetch_locked(entry, cache_dir, sources, expected, pinned_by, output, progress, timeout)
    finally:
        if not any(folder.iterdir()):  # nothing fetched, nothing kept to resume
            folder.rmdir()


def _fetch_locked(
    entry: WeightsEntry, cache_dir: Path, sources: Sequence[str], expected: str | None, pinned_by: str,
    output: AtomicOutput, progress: DownloadProgress | None, timeout: float,
) -> CachedFile:  # fmt: skip
    part = output.temp_path
    failures = []
    for url in sources:
        try:
            digest = _download(url, part, progress, timeout)
        except (_TransferFailed, URLError, OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url} failed ({_describe(exc)})")
            continue
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            failures.append(
                f"{url} gave a file with sha256 {actual}, not {pinned_by} {expected}, so it was deleted"
            )
            part.unlink()
            continue
        size = part.stat().st_size
        output.commit()
        record = CachedFile(
            file=f"{entry.name}/{entry.filename}", sha256=actual, size=size, source=url, when=now()
        )
        record_file(cache_dir, entry.name, record)
        return record
    kept = f"; the partial download {part} is kept, run the same command to resume" if part.exists() else ""
    raise WeightsError(f"Could not fetch '{entry.name}': {'; '.join(failures)}{kept}.")
