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


def _exit_calls(tree: ast.AST) -> list[ast.expr]:
    """The code arguments of ``typer.Exit(...)``, ``SystemExit(...)`` and ``sys.exit(...)`` calls."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in {"Exit", "SystemExit", "exit", "_exit"}:
            found.append(node.args[0])
    return found


def _module_constants(tree: ast.Module) -> dict[str, int]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, int)
    }


def test_every_exit_code_a_command_raises_is_documented() -> None:
    """Each code given to typer.Exit, SystemExit or sys.exit anywhere in the package (a literal, a module
    constant or faceforge.cli.errors' constant, either branch of a conditional) has its row; an error
    class's ``exit_code`` is checked above. A code that cannot be read this way fails the test."""
    shared = {
        name: value for name, value in vars(cli_errors).items() if name.isupper() and isinstance(value, int)
    }
    shared |= {
        name: value for name, value in vars(errors).items() if name.isupper() and isinstance(value, int)
    }
    rows = documented()
    problems = []
    for path in sorted((ROOT / "src" / "faceforge").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = shared | _module_constants(tree)
        for argument in _exit_calls(tree):
            branches = [argument.body, argument.orelse] if isinstance(argument, ast.IfExp) else [argument]
            for branch in branches:
                if isinstance(branch, ast.Constant) and isinstance(branch.value, int):
                    code = branch.value
                elif isinstance(branch, ast.Name) and branch.id in constants:
                    code = constants[branch.id]
                elif isinstance(branch, ast.Attribute) and branch.attr == "exit_code":
                    continue
                else:
                    problems.append(f"{path.relative_to(ROOT)}:{branch.lineno}: unreadable exit code")
                    continue
                if code not in rows:
                    problems.append(
                        f"{path.relative_to(ROOT)}:{branch.lineno}: exit {code} is not in docs/errors.md"
                    )
    assert problems == []
