"""The package order holds for every import, and domain modules stay pure (STYLE.md, docs/architecture.md).

Order of dependence, lowest first: core <- ticketing, ivr, transcribe <- callcenter <- web <- config. A module
may import its own package and packages on a lower level; packages on one level do not import each other.
Every import counts, also those inside functions (ast walks the whole module).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"core": 0, "ticketing": 1, "ivr": 1, "transcribe": 1, "callcenter": 2, "web": 3, "config": 4}
PACKAGES = tuple(LEVELS)
FORBIDDEN = ("asyncio", "aiohttp", "sqlalchemy", "alembic", "apscheduler", "vosk", "faster_whisper", "socket",
             "requests", "httpx", "subprocess", "asyncpg", "aiosqlite")
CLOCK_CALLS = ("datetime.now", "datetime.utcnow", "time.time", "time.monotonic", "date.today")


def domain_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "domain" in parts or path.name == "domain.py":
                files.append(path)
    return files


def test_there_are_domain_modules_to_check() -> None:
    assert len(domain_files()) >= 5


def test_domain_modules_import_no_io_libraries() -> None:
    offenders = []
    for path in domain_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders


def test_domain_modules_read_no_clock() -> None:
    offenders = []
    for path in domain_files():
        source = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {c}" for c in CLOCK_CALLS if f"{c}(" in source]
    assert not offenders


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def arrows_against_the_order() -> list[str]:
    offenders = []
    for package, level in LEVELS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, module in imported_modules(tree):
                target = module.split(".")[0]
                if target in LEVELS and target != package and LEVELS[target] >= level:
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {package} -> {module}")
    return offenders


def test_every_import_follows_the_package_order() -> None:
    assert arrows_against_the_order() == []


def test_the_walk_sees_function_level_imports() -> None:
    tree = ast.parse("def f():\n    from web.keys import BUS\n")
    assert imported_modules(tree) == [(2, "web.keys")]


def test_no_relative_imports() -> None:
    """Relative imports would hide arrows from the walk above."""
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(tree)
                          if isinstance(n, ast.ImportFrom) and n.level > 0]
    assert offenders == []


def test_every_package_has_a_level() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(LEVELS)
