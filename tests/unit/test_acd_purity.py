"""The ACD core stays pure: no I/O libraries, no clock reads."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = {"asyncio", "aiohttp", "sqlalchemy", "ari", "vosk", "apscheduler", "socket", "subprocess"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def problems(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES | {"time"}:
            found.append(node.module or "")
        elif isinstance(node, ast.Attribute) and node.attr in CLOCK_CALLS:
            found.append(f"clock read .{node.attr}")
    return found


@pytest.mark.parametrize("path", python_files("callcenter/acd"), ids=lambda p: p.name)
def test_acd_module_is_pure(path: Path) -> None:
    assert problems(path) == []
