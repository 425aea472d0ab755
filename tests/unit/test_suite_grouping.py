"""The suite's own scheduling: under `-n 2 --dist loadgroup` every test on the real Asterisk runs on one
worker (tests/asterisk_plugin.py), so a run starts one Asterisk, not one per worker. Checked by running
pytest on a throw-away test folder that loads the plugin, with a stand-in `asterisk` fixture."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = '''
import pytest

pytest_plugins = ["tests.asterisk_plugin"]


@pytest.fixture
def asterisk():
    return "stand-in"
'''

TESTS = '''
import pytest


@pytest.mark.parametrize("n", range(6))
def test_on_asterisk(asterisk, n):
    assert asterisk == "stand-in"


@pytest.mark.parametrize("n", range(6))
def test_plain(n):
    assert n >= 0
'''


def test_asterisk_tests_run_on_one_worker_and_the_rest_on_both(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    placed = re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED \S+::(test_\w+)\[(\d)\](@realtime)?", run.stdout)
    assert len(placed) == 12, run.stdout[-3000:]
    grouped = {(worker, suffix) for worker, name, _, suffix in placed if name == "test_on_asterisk"}
    assert len(grouped) == 1, f"the Asterisk tests ran on several workers: {sorted(grouped)}"
    assert next(iter(grouped))[1] == "@realtime"
    assert all(suffix == "" for _, name, _, suffix in placed if name == "test_plain")
