"""No ``assert`` statement in the package: ``python -O`` drops them, so a condition that can happen must
raise a faceforge.errors type (or, for a broken invariant, an exception naming it), and a type narrowing
is an explicit check or a restructured flow."""

from __future__ import annotations

import ast
from pathlib import Path

import faceforge

PACKAGE = Path(faceforge.__file__).parent


def test_the_package_has_no_assert_statements():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 100  # the whole package was read, not an empty folder
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == []
