"""Registries: plug-ins from entry points load on first use, a broken one fails in one sentence, and a
processor registered for a block is gone afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from faceforge.errors import PluginError
from faceforge.plugins import Registry
from faceforge.processors.chain import ProcessorChain
from faceforge.processors.registry import ProcessorEntry, processor_names, registered_processor


def _install(tmp_path: Path, module: str, source: str, points: str) -> None:
    """A package with entry points in the ``faceforge.tests`` group, importable from ``tmp_path``."""
    (tmp_path / f"{module}.py").write_text(source)
    info = tmp_path / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[faceforge.tests]\n{points}\n")


def test_entry_points_are_listed_loaded_on_use_and_a_broken_one_is_one_sentence(tmp_path, monkeypatch):
    _install(tmp_path, "ff_plugin_ok", "VALUE = 42\n", "good = ff_plugin_ok:VALUE\nbad = ff_plugin_missing:X")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[int] = Registry("test thing", "faceforge.tests")
    assert registry.names() == ["bad", "good"]
    assert "ff_plugin_ok" not in sys.modules
    assert registry.get("good") == 42
    with pytest.raises(PluginError, match=r"^The test thing plug-in 'bad' \(ff_plugin_missing:X\) could not"):
        registry.get("bad")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("good", 1)


def test_registered_processor_runs_in_the_chain_and_is_removed_after():
    class Invert:
        name = "invert"

        def process(self, frames):
            return [255 - frame for frame in frames]

        def close(self):
            pass

    with registered_processor("invert", lambda options: Invert(), "frame") as entry:
        assert isinstance(entry, ProcessorEntry) and "invert" in processor_names()
        chain = ProcessorChain(["invert", "watermark"])
        frame = np.zeros((64, 96, 3), np.uint8)
        (out,) = chain.process_frames([frame])
        chain.close()
    assert "invert" not in processor_names()
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert out[0, 0].tolist() == [255, 255, 255]  # inverted, and the watermark sits bottom-right only
    assert (out != 255).any()


def test_a_processor_returning_the_wrong_shape_is_named():
    class Shrink:
        name = "shrink"

        def process(self, frames):
            return [frame[:10] for frame in frames]

        def close(self):
            pass

    with registered_processor("shrink", lambda options: Shrink(), "frame"):
        chain = ProcessorChain(["shrink"])
        with pytest.raises(ValueError, match="The processor 'shrink' returned"):
            chain.process_frames([np.zeros((32, 32, 3), np.uint8)])
