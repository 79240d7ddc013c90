"""The catalog, ``find_entry``, ``default_cache_dir`` and ``resolve_weights``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faceforge.errors import WeightsError
from faceforge.weights import CATALOG, default_cache_dir, find_entry, resolve_weights
from faceforge.weights.add import add_file
from faceforge.weights.catalog import KINDS

FIXED_NAMES = {
    "ghost-unet-1block",
    "ghost-unet-2blocks",
    "ghost-unet-3blocks",
    "ghost-d-unet-1block",
    "ghost-d-unet-2blocks",
    "ghost-d-unet-3blocks",
    "ghost-arcface-backbone",
    "arcface-w600k-r50",
    "inswapper-128",
    "inswapper-128-fp16",
    "simswap-256",
    "simswap-512-unofficial",
    "crossface-simswap",
    "crossface-ghost",
    "ghost-1-256",
    "ghost-2-256",
    "ghost-3-256",
    "stylegan2-ffhq-1024",
    "stylegan2-ffhq-256",
    "e4e-ffhq-encode",
}
USER_SUPPLIED = {"stylegan2-ffhq-1024", "stylegan2-ffhq-256", "e4e-ffhq-encode"}


def test_catalog_is_consistent() -> None:
    assert set(CATALOG) >= FIXED_NAMES
    filenames = [entry.filename for entry in CATALOG.values()]
    assert len(set(filenames)) == len(filenames)  # find_entry by file name is unambiguous
    for entry in CATALOG.values():
        assert entry.kind in KINDS and all(url.startswith("https://") for url in entry.urls)
        # No URL only for a file marked user-supplied, which must say where to get it (and has no URL).
        assert bool(entry.urls) != entry.user_supplied
        assert not entry.user_supplied or len(entry.where_to_get or "") > 20
        assert all(url.endswith("/" + entry.filename) for url in entry.urls)
        assert entry.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
        for needed in (entry.identity, entry.converter):
            assert needed is None or needed in CATALOG
        assert entry.family is not None or entry.kind != "onnx-swapper"  # enhancers name families too
    assert CATALOG["ghost-unet-2blocks"].identity == "ghost-arcface-backbone"
    assert CATALOG["simswap-256"].converter == "crossface-simswap"
    assert CATALOG["ghost-2-256"].converter == "crossface-ghost"
    assert CATALOG["inswapper-128"].non_commercial and not CATALOG["ghost-unet-2blocks"].non_commercial
    assert {name for name, entry in CATALOG.items() if entry.user_supplied} >= USER_SUPPLIED
    assert all(CATALOG[name].non_commercial for name in USER_SUPPLIED)  # NVIDIA's NC licence, FFHQ's NC


def test_find_entry_by_name_or_file_name() -> None:
    assert find_entry("ghost-unet-2blocks") is CATALOG["ghost-unet-2blocks"]
    assert find_entry(Path("/models/inswapper_128.onnx")) is CATALOG["inswapper-128"]
    assert find_entry("weights/G_unet_3blocks.pth") is CATALOG["ghost-unet-3blocks"]
    assert find_entry("my_own_model.onnx") is None
    assert find_entry("no-such-name") is None


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("FACEFORGE_WEIGHTS_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "faceforge" / "weights"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "faceforge" / "weights"


def test_an_existing_path_is_returned_as_is(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx")
    assert resolve_weights(model, tmp_path / "cache") == model
    assert resolve_weights(str(tmp_path), tmp_path / "cache") == tmp_path


def test_cached_names_resolve_to_their_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = tmp_path / "arcface_w600k_r50.onnx"
    source.write_bytes(b"recognizer")
    add_file(source, "arcface-w600k-r50", cache)
    add_file(source, "my-recognizer", cache)

    resolved = resolve_weights("arcface-w600k-r50", cache)
    assert resolved == cache / "arcface-w600k-r50" / "arcface_w600k_r50.onnx"
    assert find_entry(resolved) is CATALOG["arcface-w600k-r50"]
    assert resolve_weights("my-recognizer", cache) == cache / "my-recognizer" / "arcface_w600k_r50.onnx"


def test_resolve_says_what_to_run(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match=r"run `faceforge weights fetch inswapper-128`"):
        resolve_weights("inswapper-128", cache)
    with pytest.raises(WeightsError, match=r"`faceforge weights add FILE --as my-model`"):
        resolve_weights("my-model", cache)
    with pytest.raises(WeightsError, match=r"The weight file .*missing\.pth does not exist\."):
        resolve_weights(tmp_path / "missing.pth", cache)


def test_a_user_supplied_name_says_where_to_get_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError) as raised:
        resolve_weights("e4e-ffhq-encode", cache)
    message = str(raised.value)
    assert "faceforge cannot download them: get e4e_ffhq_encode.pt from the 'FFHQ Inversion' link" in message
    assert message.endswith("then run `faceforge weights add FILE --as e4e-ffhq-encode`.")
    assert "weights fetch" not in message

    source = tmp_path / "downloads" / "e4e_ffhq_encode.pt"
    source.parent.mkdir()
    source.write_bytes(b"encoder")
    add_file(source, "e4e-ffhq-encode", cache)
    cached = cache / "e4e-ffhq-encode" / "e4e_ffhq_encode.pt"
    assert resolve_weights("e4e-ffhq-encode", cache) == cached
    cached.write_bytes(b"enc")  # truncated: the fix is adding it again, not fetching
    with pytest.raises(WeightsError, match=r"run `faceforge weights add FILE --as e4e-ffhq-encode` again"):
        resolve_weights("e4e-ffhq-encode", cache)


def test_a_cached_file_that_disappeared_is_reported(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = tmp_path / "G_unet_1block.pth"
    source.write_bytes(b"generator")
    add_file(source, "ghost-unet-1block", cache)
    (cache / "ghost-unet-1block" / "G_unet_1block.pth").write_bytes(b"gen")  # truncated
    with pytest.raises(
        WeightsError, match=r"missing or truncated; run `faceforge weights fetch ghost-unet-1block`"
    ):
        resolve_weights("ghost-unet-1block", cache)
