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
#: Commands whose option dataclasses still live beside torch (the restorer's training configuration): their
#: --help loads torch until those declarations move to torch-free modules.
TORCH_AT_HELP = {"train-restorer"}
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


@pytest.mark.parametrize("command", ["train", "train-oneshot"])
def test_a_training_help_is_printed_without_torch(command: str) -> None:
    """The whole --help, defaults included (the one-shot defaults hold an AEI-Net layout and an optimiser
    configuration), is rendered from torch-free modules."""
    code = (
        "import sys\n"
        "from faceforge.cli.main import app\n"
        "try:\n"
        f"    app([{command!r}, '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('heavy:' + ','.join(m for m in {NEVER_AT_HELP!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--iterations" in out.stdout
    assert out.stdout.splitlines()[-1] == "heavy:"


def test_swap_help_reads_the_mesh_options_without_the_mesh_swapper() -> None:
    code = (
        "import sys\n"
        "from faceforge.cli.main import app\n"
        "try:\n"
        "    app(['swap', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:' + ','.join(m for m in ('scipy', 'faceforge.swappers.mesh') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--max-yaw" in out.stdout
    assert out.stdout.splitlines()[-1] == "loaded:"


def test_the_light_mesh_options_are_the_mesh_swappers() -> None:
    """swap, config files and the UI read swappers/mesh_options.py without loading the swapper; the
    swapper must take that very class, so a setting means what its help says."""
    from faceforge.swappers.mesh import MeshSwapOptions as SwapperOptions
    from faceforge.swappers.mesh_options import MeshSwapOptions
    from faceforge.swappers.registry import swapper_options

    assert swapper_options("mesh") is MeshSwapOptions is SwapperOptions
