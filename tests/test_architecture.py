"""The one rule that keeps cores testable: they never touch the world."""

from __future__ import annotations

import ast
from pathlib import Path

import modememu

PACKAGE = Path(modememu.__file__).parent
CORES = ("at", "modem", "vseries", "line", "link", "net")
BOTTOM = ("profiles.py", "events.py", "clock.py")
FORBIDDEN = {"asyncio", "serial", "serial_asyncio_fast", "socket", "textual", "selectors"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def core_files() -> list[Path]:
    files = [f for core in CORES for f in (PACKAGE / core).rglob("*.py")]
    return files + [PACKAGE / name for name in BOTTOM]


def test_cores_import_no_io() -> None:
    files = core_files()
    assert len(files) > len(CORES)
    offenders = {
        str(f.relative_to(PACKAGE)): sorted(imported_roots(f) & FORBIDDEN) for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cores_do_not_import_upper_layers() -> None:
    upper = {"modememu.drivers", "modememu.agents", "modememu.tui", "modememu.cli"}
    for f in core_files():
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not any(node.module.startswith(u) for u in upper), (f, node.module)


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom socket import socket\n")
    assert imported_roots(bad) & FORBIDDEN == {"asyncio", "socket"}
