"""A local HTTP file server (Range support, can cut a response short or ignore Range) and a catalog entry
pointing at it, so that no test reaches the internet."""

from __future__ import annotations

import hashlib
import random
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType

import pytest

# add, download and verify are imported up front so that patch_catalog reaches every module holding CATALOG.
from faceforge.weights import CATALOG, WeightsEntry, add, download, verify  # noqa: F401

PAYLOAD_SIZE = 3 * (1 << 20) + 12345  # a little over three download chunks


@dataclass
class Behaviour:
    """What the server does; tests change it between requests."""

    payload: bytes
    cut_after: int | None = None  # send only this many body bytes of the next response, then hang up
    ignore_range: bool = False  # answer 200 with the whole file even when asked for a range
    ranges: list[str | None] = field(default_factory=list)  # the Range header of every request, in order


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        behaviour = self.server.behaviour
        requested = self.headers.get("Range")
        behaviour.ranges.append(requested)
        if self.path == "/moved/G_test.pth":  # as GitHub release links redirect to their storage host
            self.send_response(302)
            self.send_header("Location", "/G_test.pth")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != "/G_test.pth":
            self.send_error(404, "Not Found")
            return
        payload = behaviour.payload
        match = re.fullmatch(r"bytes=(\d+)-", requested or "")
        if match is None or behaviour.ignore_range:
            start = 0
            self.send_response(200)
        else:
            start = int(match.group(1))
            if start >= len(payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
        body = payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour.cut_after is not None:
            body = body[: behaviour.cut_after]
            behaviour.cut_after = None
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour


@dataclass
class LocalServer:
    behaviour: Behaviour
    url: str  # of the served file
    base: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.behaviour.payload).hexdigest()


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets --cache writes into a temporary folder, never into the user's cache."""
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path_factory.mktemp("default-weights-cache")))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    behaviour = Behaviour(payload=random.Random(7).randbytes(PAYLOAD_SIZE))
    httpd = _Server(behaviour)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield LocalServer(behaviour, f"{base}/G_test.pth", base)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def patch_catalog(monkeypatch: pytest.MonkeyPatch):
    """Add entries to the catalog every faceforge.weights module (and the CLI, which imports late) sees."""

    def patch(*entries: WeightsEntry) -> None:
        patched = MappingProxyType({**CATALOG, **{entry.name: entry for entry in entries}})
        for name, module in list(sys.modules.items()):
            if name.startswith("faceforge.weights") and hasattr(module, "CATALOG"):
                monkeypatch.setattr(module, "CATALOG", patched)

    return patch


@pytest.fixture
def local_entry(server: LocalServer):
    """A catalog entry for the served file: ``local_entry(sha256, **other fields)``."""

    def make(sha256: str | None, **changes: object) -> WeightsEntry:
        fields: dict[str, object] = {
            "name": "test-ghost",
            "filename": "G_test.pth",
            "urls": (server.url,),
            "sha256": sha256,
            "licence": "Non-Commercial (test)",
            "kind": "ghost-generator",
        }
        return WeightsEntry(**(fields | changes))  # type: ignore[arg-type]

    return make
