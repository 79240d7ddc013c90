"""docs/errors.md lists every exit code the command uses, with the error classes that carry it."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import faceforge.errors as errors
from faceforge.cli import errors as cli_errors

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| (\d+) \| (.+?) \|(.*)\|$")


def documented() -> dict[int, set[str]]:
    """Exit code -> the class names its row of docs/errors.md names."""
    rows: dict[int, set[str]] = {}
    for line in (ROOT / "docs" / "errors.md").read_text(encoding="utf-8").splitlines():
        found = ROW.match(line.strip())
        if found:
            rows[int(found.group(1))] = set(re.findall(r"`(\w+)`", found.group(3)))
    return rows


def error_classes() -> dict[str, int]:
    return {
        name: cls.exit_code
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.FaceforgeError)
    }


def test_every_error_class_is_documented_with_its_code() -> None:
    rows = documented()
    for name, code in error_classes().items():
        assert name in rows.get(code, set()), f"docs/errors.md: {name} (exit {code}) is missing"
    named = {name for names in rows.values() for name in names}
    assert named == set(error_classes())


def test_every_exit_code_of_the_command_is_documented() -> None:
    codes = {0, *error_classes().values()}
    codes |= {value for name, value in vars(cli_errors).items() if name.isupper() and isinstance(value, int)}
    assert codes == set(documented())


def test_error_classes_live_in_errors_py() -> None:
    """No other module declares an exit code of its own (``exit_code = N`` on a class)."""
    offending = []
    for path in sorted((ROOT / "src" / "faceforge").rglob("*.py")):
        if path.name == "errors.py" and path.parent.name == "faceforge":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = item.targets if isinstance(item, ast.Assign) else []
                    if any(isinstance(t, ast.Name) and t.id == "exit_code" for t in targets):
                        offending.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert offending == []
