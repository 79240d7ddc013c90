"""The import graph of ``src/faceforge``, read from the source (every import, those inside functions
too, since a lazy import is still a dependency; ``if TYPE_CHECKING:`` blocks left out, as they never run):
no cycle between packages, inference never imports training, nothing below the command imports it."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "faceforge"

#: Packages and modules that run a swap: none may import faceforge.training (a trained model is read
#: through faceforge.models; training code, its datasets and augmentation stay out of inference).
INFERENCE = (
    "analysis",
    "compose",
    "config",
    "enhance",
    "geometry",
    "latent",
    "media",
    "models",
    "options",
    "pipeline",
    "processors",
    "swappers",
    "api",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child, module, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.module
        yield from _imports(node, module, is_package)


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the faceforge modules (or packages) it imports (read once per test run)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found = _imports(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in found if name == "faceforge" or name.startswith("faceforge.")}
    return graph


def package_of(module: str) -> str:
    """``faceforge.swappers.mesh`` -> ``faceforge.swappers``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        here = package_of(module)
        packages.setdefault(here, set()).update(
            package_of(name) for name in imported if package_of(name) != here
        )
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each a set of nodes that
    import each other round a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _edges_between(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    members = set(component)
    return sorted(
        f"{module} -> {name}"
        for module, imported in graph.items()
        for name in imported
        if package_of(module) in members
        and package_of(name) in members
        and package_of(name) != package_of(module)
    )


def test_the_cycle_finder_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.slow
def test_no_import_cycle_between_packages() -> None:
    graph = import_graph()
    loops = cycles(package_graph(graph))
    assert loops == [], [_edges_between(graph, loop) for loop in loops]


@pytest.mark.parametrize("part", INFERENCE)
def test_inference_never_imports_training(part: str) -> None:
    name = f"faceforge.{part}"
    offending = sorted(
        f"{module} -> {imported}"
        for module, names in import_graph().items()
        if module == name or module.startswith(name + ".")
        for imported in names
        if imported == "faceforge.training" or imported.startswith("faceforge.training.")
    )
    assert offending == []


def test_only_the_command_imports_the_command() -> None:
    offending = sorted(
        f"{module} -> {imported}"
        for module, names in import_graph().items()
        if not module.startswith("faceforge.cli") and module != "faceforge.__main__"
        for imported in names
        if imported.startswith("faceforge.cli")
    )
    assert offending == []


def test_the_option_declarations_stay_a_standard_library_leaf() -> None:
    """faceforge.options and faceforge.errors are read by every stage and by the command's --help."""
    graph = import_graph()
    assert graph["faceforge.options"] <= {"faceforge.errors"}
    assert graph["faceforge.errors"] == set()


#: Run in a fresh interpreter: every command's ``--help``, one after another, then the heavy libraries loaded.
HELP_WALK = """
import sys
import typer.main
from typer.testing import CliRunner
from faceforge.cli.main import app

HEAVY = ("torch", "mediapipe", "onnxruntime", "diffusers")
runner = CliRunner()

def walk(command, path):
    yield path
    if hasattr(command, "list_commands"):
        context = command.make_context("faceforge", [], resilient_parsing=True)
        for name in command.list_commands(context):
            yield from walk(command.get_command(context, name), [*path, name])

for path in walk(typer.main.get_command(app), []):
    result = runner.invoke(app, [*path, "--help"])
    if result.exit_code != 0:
        print("FAILED", " ".join(path), result.output)
    loaded = [name for name in HEAVY if name in sys.modules]
    if loaded:
        print("HEAVY", " ".join(path) or "faceforge", ",".join(loaded))
        break
print("WALKED")
"""


@pytest.mark.slow
def test_no_command_help_loads_a_heavy_library() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HELP_WALK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "WALKED" in done.stdout, done.stdout
    assert "FAILED" not in done.stdout and "HEAVY" not in done.stdout, done.stdout
