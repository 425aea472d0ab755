"""The OpenAPI fuzzer (schemathesis) against the real service over HTTP, once for every role and anonymously.

`hotline serve` runs as a subprocess on the demo data (temp SQLite, no Asterisk); schemathesis reads
/api/v1/openapi.json and sends generated requests (examples, coverage and fuzzing phases) with each role's
bearer token. A role passes when there is no server error, every returned status is documented, and no
operation mostly refuses data its documented schema allows (schemathesis' "validation mismatch" warning,
made fatal in tests/fuzz/schemathesis.toml). Bounded: FUZZ_EXAMPLES examples per operation and phase,
about 20 s per role on two cores. HOTLINE_FUZZ_EXAMPLES and HOTLINE_FUZZ_SEED change the budget and the seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Site, hotline, start_site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CONFIG = ROOT / "tests" / "fuzz" / "schemathesis.toml"
FUZZ_EXAMPLES = os.environ.get("HOTLINE_FUZZ_EXAMPLES", "10")
FUZZ_SEED = os.environ.get("HOTLINE_FUZZ_SEED", "12319")
# Every role, with a demo user of it (leader01 is added here: the demo has no leader); admin last, because it
# may revoke tokens (DELETE /api/v1/tokens/{id}) and so must not cut the others' runs short.
ROLES = {
    "agent": "agent01",
    "lead": "lead01",
    "dispatcher": "dispatcher01",
    "inspector": "inspector01",
    "department": "dept-szs",
    "leader": "leader01",
    "anonymous": None,
    "admin": "admin",
}
CHECKS = "not_a_server_error,status_code_conformance"
# One worker: with two, Hypothesis' lambda descriptions (ast.parse in threads) now and then fail with
# "AST constructor recursion depth mismatch", a runtime error of the fuzzer, not of the service.
WORKERS = os.environ.get("HOTLINE_FUZZ_WORKERS", "1")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = start_site(tmp_path_factory.mktemp("fuzz"))
    try:
        hotline(site.env, "user", "add", "leader01", "--role", "leader", "--password", "leader-fuzz-password")
        yield site
    finally:
        site.process.terminate()
        try:
            site.process.wait(10)
        except subprocess.TimeoutExpired:
            site.process.kill()
            site.process.wait(10)


def fuzz(site: Site, username: str | None, report: Path) -> subprocess.CompletedProcess[str]:
    st = str(Path(sys.executable).with_name("st"))
    headers = (
        ["-H", f"Authorization: Bearer {hotline(site.env, 'token', 'create', username).strip()}"] if username else []
    )
    command = [
        st,
        "--config-file",
        str(CONFIG),
        "run",
        f"{site.url}/api/v1/openapi.json",
        *headers,
        "--checks",
        CHECKS,
        "--max-examples",
        FUZZ_EXAMPLES,
        "--seed",
        FUZZ_SEED,
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        WORKERS,
        "--no-shrink",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") or k.startswith("HOTLINE_TEST_")} | {
        "NO_COLOR": "1"
    }
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("role", list(ROLES))
def test_fuzzing_finds_no_server_error_no_undocumented_status_and_no_schema_mismatch(
    service: Site, role: str, tmp_path: Path
) -> None:
    done = fuzz(service, ROLES[role], tmp_path / "junit.xml")
    found = [done.stdout.find(h) for h in ("FAILURES", "WARNINGS", "SUMMARY") if h in done.stdout]
    summary = done.stdout[min(found) :] if found else done.stdout[-6000:]
    assert done.returncode == 0, (
        f"schemathesis as {role} (exit {done.returncode}):\n{summary[-12000:]}\n{done.stderr[-3000:]}"
    )
    assert "generated" in done.stdout and " passed" in done.stdout
    assert "Schema validation mismatch" not in done.stdout
