"""Benchmark: one month's indicators for every department, region and post, aggregated in the database,
against a straightforward per-case Python loop over the same rows in the same run (SQLite).

    python -m bench.evaluation [--cases 100000] [--naive 3000] [--repeat 3]
    python -m bench.evaluation --pg [--cases 1000000]     # PostgreSQL (bench/evaluation_pg.py), own schema
    python -m bench.evaluation --xlsx 10000                # the XLSX export of a 10,000-row table

Loads N synthetic cases spread over one year (about 7.5 history rows and 6 stage clocks each: on time, late,
overdue and open, reworked, 挂账, 作废), then times
  1. the evaluation service: one query per object kind (department, street, community, cell, duty grid,
     inspector, agent, lead, dispatcher), all indicators of the catalog, for one month;
  2. baseline: for each case, read its history and clocks, derive the facts in Python and count the sets
     (the department family only), on `--naive` cases spread over the table, extrapolated to N.
  3. interleaved with 1: the same service deriving everything from the history alone (`history=True`, the
     reference); both must give the same set counts for every object of every kind.
The generated rows bypass the writer, so the summary rows are derived from them after loading (a rebuild).
Reports the Python heap peak during 1 (tracemalloc). Targets (issue 14): ≤ 2 s, ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from config.bootstrap import engine_for
from config.settings import CONFIG_DIR, DATA_DIR, load_settings
from core.db.migrate import upgrade
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.evaluation.domain.catalog import Family, ObjectKind, evaluate
from ticketing.evaluation.domain.periods import period
from ticketing.evaluation.facts import rebuild
from ticketing.evaluation.files import load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService
from ticketing.geo.tables import geo_cells
from ticketing.reference import seed_reference

TZ = ZoneInfo("Asia/Shanghai")
YEAR_START = datetime(2026, 1, 1, tzinfo=TZ).astimezone(UTC)
MONTH = period("month", datetime(2026, 11, 15).date())
DEPARTMENTS = ["zfj", "zjj", "szs", "hws", "lhs", "jjdd", "jtj", "sthj", "scjg", "xfdd", "wyjd", "gdgs", "sgs",
               "rqgs", "dxgs", "ydgs", "gdwl", "gjgs"]
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def synth(i: int) -> tuple[dict, list[dict], list[dict]]:
    """One case: its row, history rows and stage clocks, with an outcome chosen by i."""
    rng = random.Random(i)
    t = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
    inspector = i % 5 == 0
    dept = DEPARTMENTS[i % len(DEPARTMENTS)]
    street = 1 + i % 5
    cell = f"330424{street:03d}{1 + i % 4:03d}{1 + i % 10:02d}"
    history: list[tuple] = [(t, f"inspector{i % 7:02d}" if inspector else f"agent{i % 9:02d}",
                             "inspector" if inspector else "agent", "create", "reported", "reported", {})]
    stages: list[tuple] = [("acceptance", t, t + 5 * M, t + 30 * M)]

    def act(at: datetime, actor: str, role: str, command: str, frm: str, to: str, payload: dict | None = None):
        history.append((at, actor, role, command, frm, to, payload or {}))

    act(t + 5 * M, f"agent{i % 9:02d}", "agent", "accept", "reported", "accepted")
    stages.append(("registration", t + 5 * M, t + 15 * M, t + 2 * H))
    act(t + 15 * M, f"lead{i % 3:02d}", "lead", "register", "accepted", "registered")
    outcome = i % 20
    if outcome == 0:
        act(t + 20 * M, f"lead{i % 3:02d}", "lead", "invalidate", "registered", "invalid")
        stages.append(("dispatching", t + 15 * M, t + 20 * M, t + 75 * M))
        return _case(i, t, "invalid", dept, street, cell, inspector), history, stages
    d = t + 25 * M
    stages.append(("dispatching", t + 15 * M, d, t + 75 * M))
    act(d, f"dispatcher{i % 4:02d}", "dispatcher", "dispatch", "registered", "dispatched", {"department": dept})
    due = d + 3 * D
    state = "closed"
    if outcome == 1:
        act(d + D, f"dept-{dept}", "department", "request_backlog", "dispatched", "dispatched")
        act(d + D + H, f"dispatcher{i % 4:02d}", "dispatcher", "approve_backlog", "dispatched", "backlog")
        stages.append(("handling", d, None, due, d + D + H))  # approve_backlog pauses the clock
        state = "backlog"
    elif outcome == 2:
        stages.append(("handling", d, None, due))
        state = "dispatched"
    else:
        handled = d + (4 * D if outcome == 3 else D)
        if outcome == 4:
            act(handled, f"dept-{dept}", "department", "submit_result", "dispatched", "handled")
            stages += [("handling", d, handled, due), ("checking", handled, handled + H, handled + 4 * H)]
            act(handled + H, f"inspector{i % 7:02d}", "inspector", "check_fail", "handled", "dispatched")
            stages.append(("handling", handled + H, handled + 5 * H, handled + H + D))
            handled = handled + 5 * H
        else:
            stages.append(("handling", d, handled, due))
        act(handled, f"dept-{dept}", "department", "submit_result", "dispatched", "handled")
        act(handled + H, f"inspector{i % 7:02d}", "inspector", "check_pass", "handled", "handled")
        act(handled + 2 * H, f"lead{i % 3:02d}", "lead", "close", "handled", "closed")
        stages += [("checking", handled, handled + H, handled + 4 * H),
                   ("closing", handled + H, handled + 2 * H, handled + 3 * H)]
    return _case(i, t, state, dept, street, cell, inspector), history, stages


def _case(i: int, t: datetime, state: str, dept: str, street: int, cell: str, inspector: bool) -> dict:
    return {"id": i, "case_no": f"B{i:011d}", "state": state, "version": 1, "source": "inspector" if inspector
            else "hotline", "category_code": "10118", "description": "bench", "department_code": dept,
            "street_code": f"330424{street:03d}", "community_code": cell[:12], "cell_code": cell,
            "rework_count": 0, "reopen_count": 0, "extension_count": 0, "created_by": "bench",
            "created_at": naive(t), "updated_at": naive(t)}


async def load(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await seed_reference(conn, DATA_DIR)
        cells = {c for c in (synth(i)[0]["cell_code"] for i in range(1, 201))}
        await conn.execute(geo_cells.insert(), [
            {"code": c, "community_code": c[:12], "duty_grid": f"G{c[-4:]}", "area_m2": 0.0, "geometry": "{}",
             "min_lon": 0, "min_lat": 0, "max_lon": 0, "max_lat": 0} for c in sorted(cells)])
    hid = 0
    for chunk in range(1, n + 1, 5000):
        case_rows, history_rows, stage_rows = [], [], []
        for i in range(chunk, min(n, chunk + 4999) + 1):
            row, history, stages = synth(i)
            case_rows.append(row)
            for at, actor, role, command, frm, to, payload in history:
                hid += 1
                history_rows.append({"id": hid, "case_id": i, "at": naive(at), "actor": actor, "actor_role": role,
                                     "command": command, "from_state": frm, "to_state": to, "payload": payload})
            for stage, started, finished, due, *paused in stages:
                stage_rows.append({"case_id": i, "stage": stage, "started_at": naive(started),
                                   "due_at": naive(due), "yellow_at": naive(due), "limit_value": 1.0,
                                   "limit_unit": "working_days", "finished_at": finished and naive(finished),
                                   "paused_at": naive(paused[0]) if paused else None, "light": "green"})
        async with engine.begin() as conn:
            await conn.execute(cases.insert(), case_rows)
            await conn.execute(case_history.insert(), history_rows)
            await conn.execute(case_stages.insert(), stage_rows)
    await rebuild_facts(engine)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE")


async def rebuild_facts(engine: Any) -> float:
    """The rows went in beside the writer: derive the evaluation's summary rows from them, as
    `hotline evaluation rebuild` does; returns the seconds it took."""
    began = time.perf_counter()
    async with engine.begin() as conn:
        await rebuild(conn)
    return time.perf_counter() - began


def python_facts(history: list, stages: list, start: datetime, end: datetime) -> dict[str, bool]:
    """The case family's facts of one case, computed in Python (the baseline; mirrors sql.case_source)."""
    rows = [h for h in history if h.at < end]
    if not rows:
        return {}
    state = rows[-1].to_state

    def did(command: str, in_period: bool = False) -> bool:
        return any(h.command == command and (not in_period or h.at >= start) for h in rows)

    def open_overdue(s) -> bool:  # type: ignore[no-untyped-def]
        return s.started_at < end and (s.finished_at is None or s.finished_at >= end) and s.due_at < end

    def done_late(s, in_period: bool) -> bool:  # type: ignore[no-untyped-def]
        return (s.finished_at is not None and s.finished_at < end and s.finished_at > s.due_at
                and (not in_period or s.finished_at >= start))

    handling = [s for s in stages if s.stage == "handling"]
    return {
        "registered_in_period": did("register", True), "registered_by_end": did("register"),
        "handled_in_period": did("submit_result", True), "closed_in_period": did("close", True),
        "void_at_end": state == "invalid", "backlog_at_end": state == "backlog", "closed_at_end": state == "closed",
        "handled_at_end": state in ("handled", "closed"), "had_rework": did("check_fail"),
        "had_extension": did("approve_extension"),
        "handling_late": any(done_late(s, True) or open_overdue(s) for s in handling),
        "handling_ever_late": any(done_late(s, False) or open_overdue(s) for s in handling),
        "handling_overdue_open": state == "dispatched" and any(open_overdue(s) for s in handling),
        "overdue_open": state not in ("closed", "invalid", "backlog") and any(open_overdue(s) for s in stages),
        "public_source": True,
    }


async def naive_loop(engine, catalog, n: int, sample: int) -> tuple[float, Counter]:  # type: ignore[no-untyped-def]
    start, end = (naive(x) for x in MONTH.bounds(TZ))
    sets = [s for s in catalog.sets.values() if s.family is Family.CASE]
    counts: Counter = Counter()
    step = max(1, n // sample)
    began = time.perf_counter()
    async with engine.connect() as conn:
        for case_id in range(1, n + 1, step):
            history = (await conn.execute(select(case_history).where(case_history.c.case_id == case_id)
                                          .order_by(case_history.c.id))).all()
            stages = (await conn.execute(select(case_stages).where(case_stages.c.case_id == case_id))).all()
            facts = python_facts(history, stages, start, end)
            if not facts:
                continue
            dept = next((h.payload.get("department") for h in reversed(history)
                         if h.command in ("dispatch", "reopen") and h.at < end), None)
            for s in sets:
                if dept and evaluate(s.expr, facts):
                    counts[(dept, s.id)] += 1
    elapsed = time.perf_counter() - began
    return elapsed * n / len(range(1, n + 1, step)), counts


async def main(n: int, sample: int, repeat: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp)}/bench.db"
        settings = load_settings(files=[CONFIG_DIR / "defaults.yaml"], environ={"HOTLINE_DATABASE__URL": url})
        await asyncio.to_thread(upgrade, settings.database_url())
        engine = engine_for(settings)
        try:
            began = time.perf_counter()
            await load(engine, n)
            print(f"loaded {n} cases in {time.perf_counter() - began:.1f} s")
            catalog = load_catalog()
            service = EvaluationService(engine, catalog, load_profiles(catalog), TZ, lambda: datetime.now(UTC))
            reference = replace(service, history=True)
            run, run_ref = _timed_reports(service), _timed_reports(reference)
            times, ref_times = [], []
            for _ in range(repeat):  # untimed by tracemalloc: it slows the Python side (query compilation)
                took, _, rows = await run(traced=False)  # interleaved with the history derivation
                times.append(took)
                took, _, ref_rows = await run_ref(traced=False)
                ref_times.append(took)
            slow, counts = await naive_loop(engine, catalog, n, sample)
            took, _, rows = await run(traced=False)  # interleaved: once more after the loop
            times.append(took)
            _, peak, _ = await run(traced=True)  # the heap peak, in a run of its own
            fast = statistics.median(times)
            print(f"evaluation runs: {', '.join(f'{t:.3f}' for t in times)} s (min {min(times):.3f})")
            print(f"history derivation runs: {', '.join(f'{t:.3f}' for t in ref_times)} s "
                  f"(min {min(ref_times):.3f}, median {statistics.median(ref_times):.3f})")
            print("summary rows agree with the history derivation (every kind):", same(rows, ref_rows))
        finally:
            await engine.dispose()
    objects = sum(len(r.rows) for r in rows.values())
    dept = {r.object_id: r.counts for r in rows[ObjectKind.DEPARTMENT].rows}
    total_due = sum(c["due_close"] for c in dept.values())
    print(f"{MONTH.label}: {objects} objects in {len(rows)} kinds; departments' 应结案 {total_due}")
    print(f"evaluation (database)  median {fast:7.3f} s   python heap peak {peak:6.1f} MB")
    print(f"baseline per-case loop {slow:7.3f} s   (department family only, extrapolated from {sample} cases)")
    print(f"ratio: the loop takes {slow / fast:.1f} x as long; target ≤ 2 s: {'met' if fast <= 2 else 'NOT met'}, "
          f"≤ 500 MB: {'met' if peak <= 500 else 'NOT met'}")
    if sample >= n:  # the loop saw every case: its department counts must be the database's
        loop = {d: {s: counts[(d, s)] for s in next(iter(dept.values()))} for d in dept}
        print("baseline agrees with the database:", loop == dept)


def same(a: dict, b: dict) -> bool:
    """Two `reports` results give the same objects with the same set sizes, kind by kind."""
    def counts(r: dict) -> dict:
        return {k: [(o.object_id, o.counts) for o in rep.rows] for k, rep in r.items()}
    return counts(a) == counts(b)


def _timed_reports(service: EvaluationService) -> Any:
    async def run(traced: bool = True) -> tuple[float, float, dict]:
        if traced:
            tracemalloc.start()
        began = time.perf_counter()
        rows = await service.reports(list(ObjectKind), MONTH)
        took = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
        if traced:
            tracemalloc.stop()
        return took, peak, rows
    return run


async def _load_pg(engine: Any, pg: Any, n: int) -> dict[str, float]:
    async with engine.begin() as conn:
        await seed_reference(conn, DATA_DIR)
        cells = sorted({synth(i)[0]["cell_code"] for i in range(1, 201)})
        await conn.execute(geo_cells.insert(), [
            {"code": c, "community_code": c[:12], "duty_grid": f"G{c[-4:]}", "area_m2": 0.0, "geometry": "{}",
             "min_lon": 0, "min_lat": 0, "max_lon": 0, "max_lat": 0} for c in cells])
    return await pg.load(engine, n)  # type: ignore[no-any-return]


async def main_pg(n: int, repeat: int, url: str, keep: str | None = None, skip_loop: bool = False,
                  skip_reference: bool = False, rebuild_again: bool = False) -> None:
    from bench import evaluation_pg as pg
    from core.db.migrate import upgrade as migrate

    schema = keep or pg.schema_name()
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        exists = (await conn.exec_driver_sql(
            f"SELECT 1 FROM information_schema.schemata WHERE schema_name = '{schema}'")).first() is not None
        if not exists:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    settings = load_settings(files=[CONFIG_DIR / "defaults.yaml"],
                             environ={"HOTLINE_DATABASE__URL": url, "HOTLINE_DATABASE__SCHEMA_NAME": schema})
    engine = engine_for(settings)
    try:
        began = time.perf_counter()
        await asyncio.to_thread(migrate, settings.database_url(), schema=schema)
        print(f"migrations (with 0014's backfill of the summary rows when it ran now): "
              f"{time.perf_counter() - began:.1f} s", flush=True)
        if exists:  # --keep: the rows of an earlier run (same --cases)
            took: dict[str, float] = {}
        else:
            took = await _load_pg(engine, pg, n)
        n_hist, n_stage = await pg.count(engine, "case_history"), await pg.count(engine, "case_stages")
        print(f"PostgreSQL: loaded {n} cases, {n_hist} history rows, {n_stage} stage clocks in "
              + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
        if not exists or rebuild_again:
            took_rebuild = await rebuild_facts(engine)
            print(f"summary rows rebuilt from the history in {took_rebuild:.1f} s")
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("ANALYZE evaluation_case_facts")
            await conn.exec_driver_sql("ANALYZE evaluation_act_facts")
        catalog = load_catalog()
        service = EvaluationService(engine, catalog, load_profiles(catalog), TZ, lambda: datetime.now(UTC))
        reference = replace(service, history=True)
        run, run_ref = _timed_reports(service), _timed_reports(reference)
        times, ref_times, peaks, rows, ref_rows = [], [], [], {}, {}
        for _ in range(repeat):  # interleaved: summary rows, then the history derivation
            t, _, rows = await run(traced=False)
            times.append(t)
            print(f"  summary rows {t:.3f} s", flush=True)
            if not skip_reference:
                t, _, ref_rows = await run_ref(traced=False)
                ref_times.append(t)
                print(f"  history derivation {t:.3f} s", flush=True)
        _, peak, _ = await run(traced=True)  # the heap peak, in a run of its own (tracemalloc slows Python)
        peaks.append(peak)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start, end = (naive(x) for x in MONTH.bounds(TZ))
        if skip_loop:
            slow, counts = float("nan"), Counter()
        else:
            slow, counts = await pg.streamed_loop(engine, catalog, start, end, python_facts)
        t_after, _, _ = await run(traced=False)  # interleaved: once more after the loop
        times.append(t_after)
        if ref_times:
            print(f"history derivation: min {min(ref_times):.3f} s  median {statistics.median(ref_times):.3f} s; "
                  f"summary rows agree with it (every kind): {same(rows, ref_rows)}")
    finally:
        await engine.dispose()
        if not keep:
            async with admin.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()
    dept = {r.object_id: r.counts for r in rows[ObjectKind.DEPARTMENT].rows}
    loop = {d: {s: counts[(d, s)] for s in next(iter(dept.values()))} for d in dept}
    fast = statistics.median(times)
    print(f"{MONTH.label}: {sum(len(r.rows) for r in rows.values())} objects in {len(rows)} kinds")
    print(f"evaluation (database)  min {min(times):.3f} s  median {fast:.3f} s  over {len(times)} runs; "
          f"python heap peak {max(peaks):.1f} MB; process max RSS {rss:.0f} MB")
    print(f"baseline streamed per-case loop over all {n_hist} history rows: {slow:.1f} s")
    if skip_loop:
        return
    print(f"ratio: the loop takes {slow / fast:.1f} x as long; target ≤ 2 s: {'met' if fast <= 2 else 'NOT met'}, "
          f"≤ 500 MB: {'met' if max(peaks) <= 500 and rss <= 500 else 'NOT met'}")
    print("baseline agrees with the database:", loop == dept)


def main_xlsx(n: int, repeat: int) -> None:
    from web.reports import exports
    from web.reports.data import Column, Table

    cols = (Column("department", "责任部门"), Column("case_no", "案件编号"), Column("category", "类别"),
            Column("address", "地址"), Column("rate", "按期处置率", "rate"), Column("hours", "超时（小时）", "int"))
    rows = [{"department": DEPARTMENTS[i % 18], "case_no": f"B{i:011d}", "category": "路灯不亮",
             "address": f"海滨东路{i}号", "rate": (i % 100) / 100, "hours": i % 72} for i in range(n)]
    table = Table("bench", "导出测试", cols, rows)
    when = datetime(2026, 11, 30)
    x, c = [], []
    for _ in range(repeat):  # interleaved: XLSX, then the CSV of the same rows as the baseline
        began = time.perf_counter()
        content = exports.xlsx([table], title="bench", when=when)
        x.append(time.perf_counter() - began)
        began = time.perf_counter()
        exports.csv_bytes(table)
        c.append(time.perf_counter() - began)
    tracemalloc.start()  # apart from the timed runs: tracing every allocation slows openpyxl/XlsxWriter 5-10x
    exports.xlsx([table], title="bench", when=when)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"XLSX of {n} rows: min {min(x):.3f} s median {statistics.median(x):.3f} s, {len(content) / 1024:.0f} KiB, "
          f"heap peak {peak:.1f} MB; CSV of the same rows: median {statistics.median(c):.3f} s; "
          f"XLSX ÷ CSV {statistics.median(x) / statistics.median(c):.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--naive", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (HOTLINE_TEST_PG or 127.0.0.1:5432/test)")
    parser.add_argument("--xlsx", type=int, default=0, help="time the XLSX export of this many rows")
    parser.add_argument("--keep", default=None, help="PostgreSQL: use (and keep) this schema; rows loaded once")
    parser.add_argument("--no-loop", action="store_true", help="PostgreSQL: skip the baseline loop")
    parser.add_argument("--no-reference", action="store_true",
                        help="PostgreSQL: do not interleave the history derivation (15-30 s a run)")
    parser.add_argument("--rebuild", action="store_true", help="PostgreSQL with --keep: rebuild the summary rows")
    args = parser.parse_args()
    if args.xlsx:
        main_xlsx(args.xlsx, args.repeat)
    elif args.pg:
        asyncio.run(main_pg(args.cases or 1_000_000, args.repeat,
                            os.environ.get("HOTLINE_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
                            args.keep, args.no_loop, args.no_reference, args.rebuild))
    else:
        asyncio.run(main(args.cases or 100_000, args.naive, args.repeat))
