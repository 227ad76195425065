"""bench/ and testkit/ stand without the test tree: neither imports `tests`, and testkit
does not import bench (benchmarks and tests both build on testkit, not on each other)."""
from __future__ import annotations

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def imported_roots(source: str) -> set[str]:
    """The top-level package of every module that `source` imports, statically or through
    importlib.import_module / __import__ with a literal name."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if name in ("import_module", "__import__"):
                roots.add(node.args[0].value.split(".")[0])
    return roots


def modules(package: str) -> list[pathlib.Path]:
    found = sorted((REPO / package).rglob("*.py"))
    assert found, f"no modules under {package}/"
    return found


@pytest.mark.parametrize("package, forbidden", [("bench", {"tests"}), ("testkit", {"tests", "bench"})])
def test_package_does_not_import(package, forbidden):
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path.read_text(encoding="utf-8")) & forbidden)
        for path in modules(package)
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}


@pytest.mark.parametrize("source", [
    "import tests.e2e.lyncclient",
    "import os, tests",
    "from tests.fuzz import harness",
    "from tests import conftest",
    "def f():\n    from tests.e2e.testbed import write_testbed\n",
    "import importlib\nimportlib.import_module('tests.e2e.testbed')",
    "__import__('tests')",
])
def test_every_way_of_importing_tests_is_seen(source):
    assert "tests" in imported_roots(source)


@pytest.mark.parametrize("source", [
    "import testkit.lyncclient",
    "from testkit import tests_helpers",
    "from . import tests",  # a relative import names a sibling, not the top-level test tree
    "text = 'tests'",
])
def test_names_that_merely_resemble_tests_are_not_taken_for_it(source):
    assert "tests" not in imported_roots(source)
