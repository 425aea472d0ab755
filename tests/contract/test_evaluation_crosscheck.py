"""The database's department figures equal a per-case Python derivation of the same facts (bench.evaluation's
baseline, written independently of the SQL) over a year of synthetic cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.evaluation import MONTH, TZ, load, naive_loop
from config.bootstrap import engine_for
from config.settings import Settings
from ticketing.evaluation.domain.catalog import ObjectKind
from ticketing.evaluation.files import load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService


async def test_sql_and_python_derivations_agree(db_settings: Settings) -> None:
    engine = engine_for(db_settings)
    try:
        await load(engine, 1200)
        catalog = load_catalog()
        service = EvaluationService(engine, catalog, load_profiles(catalog), TZ, lambda: datetime.now(UTC))
        report = await service.report(ObjectKind.DEPARTMENT, MONTH)
        _, counts = await naive_loop(engine, catalog, 1200, 1200)
    finally:
        await engine.dispose()
    database = {r.object_id: r.counts for r in report.rows}
    assert sum(c["due_close"] for c in database.values()) > 50  # the month has something in it
    assert {d: {s: counts[(d, s)] for s in c} for d, c in database.items()} == database
