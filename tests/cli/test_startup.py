"""Start-up cost of the command: importing it loads no model library (a bound on modules, not on time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from faceforge.cli.main import COMMANDS

HEAVY = ("torch", "mediapipe", "onnxruntime", "av", "cv2", "faceforge.config")


def test_importing_the_command_loads_no_heavy_library() -> None:
    code = f"import sys, faceforge.cli.main\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_top_level_help_loads_no_subcommand_module() -> None:
    code = (
        "import sys\n"
        "from faceforge.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:' + ','.join(m for m in sys.modules if m.startswith('faceforge.cli.') and m not in "
        "('faceforge.cli.main', 'faceforge.cli.errors', 'faceforge.cli.help')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "loaded:"


#: Libraries no command may load to show its --help (they cost seconds, or start threads).
NEVER_AT_HELP = ("torch", "mediapipe", "onnxruntime", "ray", "gradio")
#: Commands whose option dataclasses still live beside torch (training's config modules): their
#: --help loads torch until those declarations move to torch-free modules.
TORCH_AT_HELP = {"train", "train-oneshot", "prepare-oneshot", "train-restorer"}
#: The swap commands' --help loads the option declarations of every stage and none of the media decoders.
SWAP_COMMANDS = {"swap", "convert", "config", "evaluate", "demo"}


def _loaded_by(command: str) -> set[str]:
    code = (
        "import sys\n"
        "from faceforge.cli.main import load_command\n"
        f"load_command({command!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_loads_no_model_library_for_its_help(command: str) -> None:
    loaded = _loaded_by(command)
    allowed = {"torch"} if command in TORCH_AT_HELP else set()
    assert loaded & set(NEVER_AT_HELP) <= allowed
    if command in SWAP_COMMANDS:
        assert "av" not in loaded
