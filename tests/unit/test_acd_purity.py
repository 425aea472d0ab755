"""The ACD and IVR cores stay pure: no I/O libraries, no clock reads (time is an argument)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = {"asyncio", "aiohttp", "sqlalchemy", "ari", "vosk", "apscheduler", "socket", "subprocess"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}
CLOCK_OWNERS = {"datetime", "date", "time"}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def problems(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES | {"time"}:
            found.append(node.module or "")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in CLOCK_CALLS
            and isinstance(node.value, ast.Name)
            and node.value.id in CLOCK_OWNERS
        ):
            found.append(f"clock read {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", python_files("callcenter/acd") + python_files("callcenter/domain"),
                         ids=lambda p: p.name)
def test_acd_module_is_pure(path: Path) -> None:
    assert problems(path) == []


def test_the_checker_sees_clock_reads_and_io(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom datetime import datetime\nx = datetime.now()\n", encoding="utf-8")
    assert problems(bad) == ["asyncio", "clock read datetime.now"]
