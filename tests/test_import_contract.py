"""The layers of docs/architecture.md, as a test: read every module's imports with ast.

The sans-IO core (sip, csta, rcc, switch, directory, cic, common, stations, state)
never imports Twisted, sqlite3 or the edge (transport, admin, server, commands); csta
knows nothing of SIP; the switch knows nothing of RCC.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "rccserver"
CORE = ("sip", "csta", "rcc", "switch", "directory", "cic", "common", "stations", "state", "dialplan")
EDGE = ("transport", "admin", "server", "commands")
# (importing layer, what it must not import)
# sqlite3 blocks on the disk: the state store's SQLite backend is edge (server/state_sqlite.py).
RULES = [(layer, ("twisted", "sqlite3") + tuple(f"rccserver.{edge}" for edge in EDGE)) for layer in CORE] + [
    ("csta", ("rccserver.sip",)),
    ("switch", ("rccserver.rcc",)),
]


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports, absolute, at any depth (function-level imports included)."""
    package = "rccserver." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rstrip(".").split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def layer_of(path: pathlib.Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def offends(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def test_every_layer_named_here_exists():
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert set(CORE) - {"stations"} <= present and set(EDGE) <= present


@pytest.mark.parametrize("layer, forbidden", RULES, ids=[f"{layer}-not-{'/'.join(f)}" for layer, f in RULES])
def test_layer_keeps_to_its_imports(layer, forbidden):
    breaches = []
    for path in sorted((PACKAGE / layer).rglob("*.py")) if (PACKAGE / layer).exists() else []:
        for module in imported_modules(path):
            if any(offends(module, name) for name in forbidden):
                breaches.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert breaches == []


def test_the_reader_sees_relative_imports_and_nested_ones(tmp_path, monkeypatch):
    """The checker itself: a breach hidden in a function or a relative import is found."""
    fake = PACKAGE / "csta" / "_contract_probe.py"
    source = "from . import codec\n\ndef later():\n    from twisted.internet import reactor\n    import rccserver.sip.uri\n"
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, *a, **k: source if self == fake else ORIGINAL(self, *a, **k))
    names = imported_modules(fake)
    assert "rccserver.csta.codec" in names
    assert any(offends(n, "twisted") for n in names)
    assert any(offends(n, "rccserver.sip") for n in names)


ORIGINAL = pathlib.Path.read_text
