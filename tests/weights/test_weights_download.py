"""``faceforge weights fetch``: hashed, resumable downloads from a local server (never the internet)."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.errors import WeightsError
from faceforge.media.atomic import find_temporaries, temp_name
from faceforge.weights.cache import MANIFEST_FILE, read_manifest
from faceforge.weights.download import fetch


def _cli(*args: str):
    return CliRunner().invoke(app, ["weights", *args], env={"COLUMNS": "300"})


def _partial(folder: Path) -> Path:
    """The one partial download (an owner-stamped faceforge temporary) in an entry's folder."""
    (leftover,) = find_temporaries(folder)
    return leftover.path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_fetch_with_a_matching_hash_is_cached_and_recorded(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256)
    seen: list[tuple[int, int | None]] = []
    record = fetch(entry, tmp_path, progress=lambda done, total: seen.append((done, total)))

    final = tmp_path / "test-ghost" / "G_test.pth"
    assert final.read_bytes() == server.behaviour.payload
    assert sorted(p.name for p in final.parent.iterdir()) == ["G_test.pth"]  # no temporary left
    assert seen[-1] == (len(server.behaviour.payload), len(server.behaviour.payload))
    assert record.sha256 == server.sha256 and record.source == server.url
    stored = json.loads((tmp_path / MANIFEST_FILE).read_text())["files"]["test-ghost"]
    assert stored["file"] == "test-ghost/G_test.pth" and stored["size"] == len(server.behaviour.payload)
    assert server.behaviour.ranges == [None]


def test_hash_mismatch_exits_6_and_leaves_nothing(tmp_path: Path, server, local_entry, patch_catalog) -> None:
    patch_catalog(local_entry("0" * 64))
    result = _cli("fetch", "test-ghost", "--cache", str(tmp_path), "--quiet")

    assert result.exit_code == 6, result.output
    assert "sha256" in result.output and "deleted" in result.output
    assert not (tmp_path / "test-ghost").exists()
    assert read_manifest(tmp_path) == {}


def test_interrupted_download_resumes_with_a_range_request(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256)
    server.behaviour.cut_after = 1_500_000
    with pytest.raises(WeightsError, match="run the same command to resume") as failure:
        fetch(entry, tmp_path)
    assert server.url in str(failure.value)
    kept = _partial(tmp_path / "test-ghost").stat().st_size
    assert 0 < kept < len(server.behaviour.payload)
    assert not (tmp_path / "test-ghost" / "G_test.pth").exists()

    fetch(entry, tmp_path)
    assert server.behaviour.ranges == [None, f"bytes={kept}-"]
    assert (tmp_path / "test-ghost" / "G_test.pth").read_bytes() == server.behaviour.payload
    assert find_temporaries(tmp_path / "test-ghost") == []


def test_resuming_through_a_redirect_keeps_the_range(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256, urls=(f"{server.base}/moved/G_test.pth",))
    server.behaviour.cut_after = 1_000_000
    with pytest.raises(WeightsError):
        fetch(entry, tmp_path)
    kept = _partial(tmp_path / "test-ghost").stat().st_size

    fetch(entry, tmp_path)
    assert server.behaviour.ranges[2:] == [f"bytes={kept}-", f"bytes={kept}-"]  # the redirect, its target
    assert (tmp_path / "test-ghost" / "G_test.pth").read_bytes() == server.behaviour.payload


def test_a_server_that_ignores_range_is_read_from_the_start(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256)
    server.behaviour.cut_after = 700_000
    with pytest.raises(WeightsError):
        fetch(entry, tmp_path)
    server.behaviour.ignore_range = True

    fetch(entry, tmp_path)
    assert server.behaviour.ranges[1] is not None  # asked for the rest, got the whole file
    assert (tmp_path / "test-ghost" / "G_test.pth").read_bytes() == server.behaviour.payload


def test_a_complete_part_answered_with_416_is_finished(tmp_path: Path, server, local_entry) -> None:
    folder = tmp_path / "test-ghost"
    folder.mkdir()
    (folder / temp_name("G_test.pth")).write_bytes(server.behaviour.payload)

    fetch(local_entry(server.sha256), tmp_path)
    assert server.behaviour.ranges == [f"bytes={len(server.behaviour.payload)}-"]
    assert (folder / "G_test.pth").read_bytes() == server.behaviour.payload


def test_mirrors_are_tried_in_order(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256, urls=(f"{server.base}/missing.pth", server.url))
    assert fetch(entry, tmp_path).source == server.url
    assert len(server.behaviour.ranges) == 2


def test_offline_is_one_clear_sentence_and_a_nonzero_exit(
    tmp_path: Path, server, local_entry, patch_catalog
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/G_test.pth"
    patch_catalog(local_entry(None, urls=(dead,)))
    result = _cli("fetch", "test-ghost", "--cache", str(tmp_path), "--quiet")

    assert result.exit_code == 6
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("error: Could not fetch 'test-ghost'")
    assert dead in message and "refused" in message.lower()
    assert "Traceback" not in result.output


def test_first_fetch_hash_is_trusted_and_enforced_later(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(None)
    record = fetch(entry, tmp_path)
    assert record.sha256 == server.sha256
    (tmp_path / "test-ghost" / "G_test.pth").unlink()

    server.behaviour.payload = b"a different file"
    with pytest.raises(WeightsError, match="recorded on") as failure:
        fetch(entry, tmp_path)
    assert hashlib.sha256(b"a different file").hexdigest() in str(failure.value)
    assert not (tmp_path / "test-ghost" / "G_test.pth").exists()


def test_fetch_cli_shows_the_licence_and_uses_url_override(
    tmp_path: Path, server, local_entry, patch_catalog
) -> None:
    patch_catalog(local_entry(server.sha256, urls=("http://127.0.0.1:9/never-used",)))
    result = _cli("fetch", "test-ghost", "--url", server.url, "--cache", str(tmp_path), "--quiet")

    assert result.exit_code == 0, result.output
    assert "Non-Commercial (test)" in result.output and "Not for commercial use" in result.output
    assert (tmp_path / "test-ghost" / "G_test.pth").read_bytes() == server.behaviour.payload

    again = _cli("fetch", "test-ghost", "--cache", str(tmp_path), "--quiet")
    assert again.exit_code == 0 and "already cached" in again.output
    assert len(server.behaviour.ranges) == 1


def test_ctrl_c_keeps_the_partial_download_and_says_how_to_resume(
    tmp_path: Path, server, local_entry, patch_catalog, monkeypatch
) -> None:
    import faceforge.weights.download as download

    patch_catalog(local_entry(server.sha256))
    real_fetch = download.fetch

    def pressed_ctrl_c(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    def fetch_then_ctrl_c(entry, folder, urls, progress):
        return real_fetch(entry, folder, urls, pressed_ctrl_c)

    monkeypatch.setattr(download, "fetch", fetch_then_ctrl_c)
    result = _cli("fetch", "test-ghost", "--cache", str(tmp_path), "--quiet")

    assert result.exit_code == 130, result.output
    assert "partial download is kept" in result.output and "fetch test-ghost" in result.output
    assert _partial(tmp_path / "test-ghost").stat().st_size > 0
    assert not (tmp_path / "test-ghost" / "G_test.pth").exists()


def test_fetch_of_a_user_supplied_file_says_where_to_get_it(tmp_path: Path) -> None:
    result = _cli("fetch", "stylegan2-ffhq-1024", "--cache", str(tmp_path), "--quiet")

    assert result.exit_code == 6
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output  # no licence banner, no download started
    assert lines[0].startswith(
        "error: faceforge cannot download 'stylegan2-ffhq-1024' itself: get stylegan2-ffhq-config-f.pt from "
    )
    assert lines[0].endswith("then run `faceforge weights add FILE --as stylegan2-ffhq-1024`.")
    assert list(tmp_path.iterdir()) == []


def test_a_user_supplied_file_is_fetched_from_a_url_the_user_gives(
    tmp_path: Path, server, local_entry
) -> None:
    entry = local_entry(None, urls=(), where_to_get="a shared drive")
    with pytest.raises(WeightsError, match=r"get G_test\.pth from a shared drive, then run"):
        fetch(entry, tmp_path)
    assert fetch(entry, tmp_path, urls=(server.url,)).sha256 == server.sha256
