"""Domain modules stay pure: no I/O libraries, no clock reads (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("callcenter", "ivr", "transcribe", "ticketing", "web", "config")
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
