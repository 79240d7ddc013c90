"""Start-up cost of the command: importing it loads no model library (a bound on modules, not on time)."""

from __future__ import annotations

import subprocess
import sys

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
        "('faceforge.cli.main', 'faceforge.cli.errors', 'faceforge.cli.help', 'faceforge.cli.native_logs')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "loaded:"
