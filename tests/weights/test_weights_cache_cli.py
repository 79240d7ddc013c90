"""``faceforge weights add | verify | list``: the cache, its manifest and the checks on it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.weights.cache import MANIFEST_FILE, read_manifest
from faceforge.weights.catalog import CATALOG


def _cli(*args: str):
    return CliRunner().invoke(app, ["weights", *args], env={"COLUMNS": "300"})


def _weight_file(folder: Path, name: str = "finetuned.pth", data: bytes = b"weights " * 1000) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_add_then_verify_then_a_corrupted_file_is_caught(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = _weight_file(tmp_path)
    added = _cli("add", str(source), "--as", "my-ghost", "--cache", str(cache))
    assert added.exit_code == 0, added.output

    cached = cache / "my-ghost" / "finetuned.pth"
    assert cached.read_bytes() == source.read_bytes()
    assert cached.stat().st_ino != source.stat().st_ino  # a copy: editing the original leaves it alone
    original = source.read_bytes()
    with open(source, "r+b") as handle:
        handle.write(b"edited")
    assert cached.read_bytes() == original
    source.write_bytes(original)
    record = read_manifest(cache)["my-ghost"]
    assert record.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert record.source == f"added from {source.resolve()}" and record.size == source.stat().st_size

    ok = _cli("verify", "--cache", str(cache), "--quiet")
    assert ok.exit_code == 0, ok.output
    assert "my-ghost" in ok.output and "ok" in ok.output

    cached.write_bytes(b"weights " * 999 + b"corrupt!")
    bad = _cli("verify", "my-ghost", "--cache", str(cache), "--quiet")
    assert bad.exit_code == 6
    assert "1 of 1 weights failed verification: my-ghost (mismatch)" in bad.output


def test_verify_lists_missing_and_uncached_names(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _cli("add", str(_weight_file(tmp_path)), "--as", "gone", "--cache", str(cache)).exit_code == 0
    (cache / "gone" / "finetuned.pth").unlink()

    result = _cli("verify", "gone", "inswapper-128", "--cache", str(cache), "--quiet")
    assert result.exit_code == 6
    assert "2 of 2 weights failed verification: gone (missing), inswapper-128 (not cached)" in result.output


def test_add_refuses_a_file_that_does_not_match_the_pinned_hash(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = _cli(
        "add",
        str(_weight_file(tmp_path, "w600k_r50.onnx")),
        "--as",
        "visomaster-w600k-r50",
        "--cache",
        str(cache),
    )
    assert result.exit_code == 6
    assert "not the 4c06341c" in result.output and "it was not added" in result.output
    assert not (cache / "visomaster-w600k-r50").exists()
    assert read_manifest(cache) == {}


def test_add_under_a_pinned_catalog_name_keeps_the_upstream_file_name(
    tmp_path: Path, server, local_entry, patch_catalog
) -> None:
    data = b"the published file"
    patch_catalog(local_entry(hashlib.sha256(data).hexdigest()))
    cache = tmp_path / "cache"
    result = _cli(
        "add", str(_weight_file(tmp_path, "download.pth", data)), "--as", "test-ghost", "--cache", str(cache)
    )
    assert result.exit_code == 0, result.output
    assert "matches the catalog" in result.output
    assert (cache / "test-ghost" / "G_test.pth").read_bytes() == data
    assert _cli("verify", "--cache", str(cache), "--quiet").exit_code == 0


def test_adding_again_replaces_the_record_and_the_old_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _weight_file(tmp_path, "a.safetensors", b"first")
    second = _weight_file(tmp_path, "b.safetensors", b"second")
    assert _cli("add", str(first), "--as", "mine", "--cache", str(cache)).exit_code == 0
    assert _cli("add", str(second), "--as", "mine", "--cache", str(cache)).exit_code == 0

    assert [p.name for p in (cache / "mine").iterdir()] == ["b.safetensors"]
    assert read_manifest(cache)["mine"].sha256 == hashlib.sha256(b"second").hexdigest()


def test_add_rejects_bad_names_and_missing_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    bad_name = _cli("add", str(_weight_file(tmp_path)), "--as", "../escape", "--cache", str(cache))
    assert bad_name.exit_code == 2 and "not a usable weights name" in bad_name.output
    missing = _cli("add", str(tmp_path / "nope.pth"), "--as", "mine", "--cache", str(cache))
    assert missing.exit_code == 2 and "is not a file" in missing.output
    assert not (cache / MANIFEST_FILE).exists()


def test_list_shows_catalog_and_added_names(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _cli("add", str(_weight_file(tmp_path)), "--as", "my-ghost", "--cache", str(cache)).exit_code == 0
    listed = _cli("list", "--cache", str(cache), "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert data["cache"] == str(cache)
    rows = {row["name"]: row for row in data["weights"]}
    assert set(rows) == set(CATALOG) | {"my-ghost"}
    for row in rows.values():
        assert set(row) == {
            "name", "kind", "licence", "non_commercial", "user_supplied", "cached", "size", "sha256", "file"
        }  # fmt: skip
    assert (
        rows["ghost-unet-2blocks"]["sha256"] == "trust-on-first-use"
        and not rows["ghost-unet-2blocks"]["cached"]
    )
    assert rows["visomaster-inswapper-128-fp16"]["sha256"] == "pinned"
    assert rows["stylegan2-ffhq-1024"]["user_supplied"] and not rows["inswapper-128"]["user_supplied"]
    assert rows["inswapper-128"]["non_commercial"] and "Non-Commercial" in rows["inswapper-128"]["licence"]
    mine = rows["my-ghost"]
    assert (
        mine["kind"] == "added" and mine["cached"] and mine["size"] == 8000 and mine["sha256"] == "recorded"
    )

    table = CliRunner().invoke(app, ["weights", "list", "--cache", str(cache)], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = {line.split()[0]: line for line in lines if line.split()}
    for name in rows:  # every name whole on its own row: never wrapped, never cut
        assert name in cells, name
    assert "first use" in cells["ghost-unet-2blocks"] and " no " in cells["ghost-unet-2blocks"]
    assert "non-commercial" in cells["inswapper-128"]
    assert " add " in cells["e4e-ffhq-encode"] and " no " not in cells["e4e-ffhq-encode"]
    assert "8.0 kB" in cells["my-ghost"] and "recorded" in cells["my-ghost"]


def test_verify_json_and_quiet_add(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = _weight_file(tmp_path)
    added = CliRunner().invoke(
        app, ["weights", "add", str(source), "--as", "mine", "--cache", str(cache), "-q"]
    )
    assert added.exit_code == 0 and added.output == ""
    ok = _cli("verify", "--cache", str(cache), "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert data == {
        "cache": str(cache),
        "checks": [
            {"name": "mine", "status": "ok", "file": str(cache / "mine" / source.name), "expected": digest,
             "actual": digest}
        ],
    }  # fmt: skip
    (cache / "mine" / source.name).write_bytes(b"changed")
    bad = CliRunner().invoke(app, ["weights", "verify", "--cache", str(cache), "--json"])
    assert bad.exit_code == 6
    assert json.loads(bad.stdout)["checks"][0]["status"] == "mismatch"
    assert "1 of 1 weights failed verification: mine (mismatch)" in bad.stderr
