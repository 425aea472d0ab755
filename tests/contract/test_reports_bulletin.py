"""The leader's report over the synthetic month (tests/contract/evaluation_month.py) plus hand-made calls,
callbacks, ratings and SMS, on SQLite and PostgreSQL: hotline service levels, the bulletin's tables, the XLSX
read back with openpyxl, the 通报 PDF read back with pdftotext, reproducibility, a profile change and the
scheduler's first-working-day rule."""

from __future__ import annotations

import io
import shutil
import subprocess
import time as time_module
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from callcenter.domain.hotline_levels import GroupBy
from callcenter.tables import calls
from config.bootstrap import build_case_service, engine_for
from config.settings import Settings
from core.db.timeutil import to_db
from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.evaluation.domain.periods import local_day, period
from ticketing.evaluation.domain.scoring import ProfileBook, parse_profile
from ticketing.evaluation.files import EVALUATION_DIR, _read, load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService
from ticketing.notify.tables import callbacks, outbox
from web.reports import data, exports, pdf
from web.reports.archive import Publisher, due_month, first_working_day, issued_at

from .evaluation_month import Month

S = timedelta(seconds=1)


async def add_hotline_traffic(month: Month) -> None:
    """Four queue calls, one IVR-only call, two caller callbacks (one survey call apart), three ratings, SMS."""
    t = month.t0
    rows = [  # id, enqueued, answered, ended, outcome, agent
        ("c1", t + 3600 * S, t + 3610 * S, t + 3790 * S, "answered", "8001"),  # wait 10 s, handle 180 s
        ("c2", t + 7200 * S, t + 7220 * S, t + 7520 * S, "answered", "8002"),  # wait 20 s, handle 300 s
        ("c3", t + 10800 * S, None, t + 10840 * S, "abandoned", None),  # gave up after 40 s
        ("c4", t + 11100 * S, None, t + 11130 * S, "callback", None),  # asked for a callback after 30 s
    ]
    async with month.engine.begin() as conn:
        for cid, enq, ans, end, outcome, agent in rows:
            await conn.execute(
                calls.insert().values(
                    id=cid,
                    caller="13800000000",
                    arrived_at=to_db(enq - 20 * S),
                    enqueued_at=to_db(enq),
                    answered_at=to_db(ans),
                    ended_at=to_db(end),
                    outcome=outcome,
                    agent_id=agent,
                    queue="hotline",
                )
            )
        await conn.execute(
            calls.insert().values(
                id="c5", arrived_at=to_db(t + 12000 * S), ended_at=to_db(t + 12060 * S), outcome="message"
            )
        )
        for kind, created, state, attempts, updated in (
            ("queue", t + 11130 * S, "answered", 1, t + 11730 * S),  # called back 10 minutes later
            ("missed", t + 14400 * S, "failed", 3, t + 18000 * S),
            ("survey", t + 14400 * S, "answered", 1, t + 14500 * S),
        ):  # a 回访 call: counted as a rating
            await conn.execute(
                callbacks.insert().values(
                    kind=kind,
                    number="13800000000",
                    state=state,
                    attempts=attempts,
                    due_at=to_db(created),
                    requested_by="system",
                    created_at=to_db(created),
                    updated_at=to_db(updated),
                )
            )
        for n, (channel, created, sent) in enumerate(
            (
                ("sms", t + 3600 * S, t + 3660 * S),
                ("sms", t + 7200 * S, t + 7500 * S),
                ("sms", t + 7200 * S, None),
                ("internal", t + 7200 * S, t + 7201 * S),
            )
        ):
            await conn.execute(
                outbox.insert().values(
                    dedup_key=f"k{n}",
                    event="accepted",
                    channel=channel,
                    recipient_kind="citizen" if channel == "sms" else "department",
                    recipient="13800000000",
                    body="…",
                    state="sent" if sent else "failed",
                    attempts=1,
                    next_attempt_at=to_db(created),
                    created_at=to_db(created),
                    sent_at=to_db(sent),
                )
            )
    back = month.clock.now
    for name, value in (("A", 1), ("D", 2), ("H", 3)):  # 满意, 基本满意, 不满意 (in the month, after closing)
        month.clock.now = month.end - 5 * timedelta(minutes=1)
        await month.service.act(
            month.no[name], Command("rate", Actor("agent01", Role.AGENT), params={"satisfaction": value})
        )
    month.clock.now = back


@pytest.fixture
async def month(db_settings: Settings, clock):  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    try:
        scenario = Month(build_case_service(engine, db_settings, clock), engine, clock)
        await scenario.build()
        await add_hotline_traffic(scenario)
        catalog = load_catalog()
        scenario.evaluation = EvaluationService(  # type: ignore[attr-defined]
            engine, catalog, load_profiles(catalog), ZoneInfo(db_settings.working_time.timezone), clock
        )
        scenario.publisher = Publisher(
            engine,
            scenario.evaluation,
            scenario.service.calendar,  # type: ignore[attr-defined]
            "海盐县",
        )
        yield scenario
    finally:
        await engine.dispose()


async def test_hotline_levels_of_the_month_from_the_acd_statistics(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    got = await data.hotline(month.engine, ev, month.month, *GroupBy)
    total = got[GroupBy.TOTAL][0].figures
    assert {k: total[k] for k in ("offered", "answered", "answered_within_target", "abandoned", "queue_callbacks")} == {
        "offered": 4,
        "answered": 2,
        "answered_within_target": 1,
        "abandoned": 1,
        "queue_callbacks": 1,
    }
    assert (total["answer_rate"], total["service_level"], total["abandonment_rate"]) == (0.5, 0.25, 0.25)
    assert (total["average_wait_s"], total["average_handle_s"], total["average_abandon_s"]) == (15.0, 240.0, 40.0)
    assert total["abandoned_by_wait"] == [
        {"up_to_s": 15.0, "count": 0},
        {"up_to_s": 30.0, "count": 0},
        {"up_to_s": 60.0, "count": 1},
        {"up_to_s": None, "count": 0},
    ]
    assert {
        k: total[k]
        for k in (
            "callbacks_requested",
            "callbacks_made",
            "callbacks_reached",
            "callbacks_failed",
            "callback_average_delay_s",
        )
    } == {
        "callbacks_requested": 2,
        "callbacks_made": 2,
        "callbacks_reached": 1,
        "callbacks_failed": 1,
        "callback_average_delay_s": 600.0,
    }
    assert (total["surveys"], total["satisfied"], total["basically_satisfied"], total["unsatisfied"]) == (3, 1, 1, 1)
    assert total["satisfaction_rate"] == pytest.approx(2 / 3)
    assert (total["sms"], total["sms_sent"], total["sms_within_target"]) == (3, 2, 1)
    days = {r.key: r.figures for r in got[GroupBy.DAY]}
    assert len(days) == (month.month.end - month.month.first).days  # every day of the month, zeros included
    t0_day = local_day(month.t0, month.tz).isoformat()
    assert days[t0_day]["offered"] == 4 and sum(d["offered"] for d in days.values()) == 4
    hours = {r.key: r.figures["offered"] for r in got[GroupBy.HOUR]}
    first_hour = (month.t0 + 3600 * S).astimezone(month.tz).hour
    assert len(hours) == 24 and hours[f"{first_hour:02d}"] == 1 and sum(hours.values()) == 4
    agents = {r.key: (r.figures["answered"], r.figures["answered_within_target"]) for r in got[GroupBy.AGENT]}
    assert agents == {"8001": (1, 1), "8002": (1, 0)}
    assert [(r.key, r.figures["offered"]) for r in got[GroupBy.QUEUE]] == [("hotline", 4)]
    nothing = (
        await data.hotline(month.engine, ev, period("month", month.month.first - timedelta(days=1)), GroupBy.TOTAL)
    )[GroupBy.TOTAL][0].figures
    assert nothing["offered"] == 0 and nothing["service_level"] is None  # no calls is not 0 % nor 100 %


async def bulletin(month: Month, version: int | None = None) -> data.Bulletin:
    publisher = month.publisher  # type: ignore[attr-defined]
    dep, region = publisher.profiles(version)
    return await data.build(
        month.engine,
        month.evaluation,
        month.month,  # type: ignore[attr-defined]
        department_profile=dep,
        region_profile=region,
    )


async def test_the_bulletin_tables_rank_and_list_the_cases(month: Month) -> None:
    b = await bulletin(month)
    ranking = b.table("department_ranking").rows
    assert [(r["object_id"], r["score"], r["grade"]) for r in ranking] == [("szs", 92.0, "优"), ("hws", 73.33, "中")]
    assert ranking[1]["name"] == "海盐县环境卫生管理所" and ranking[1]["formula"].endswith("= 73.33")
    overdue = b.table("overdue").rows
    assert [(r["department"], r["case_no"]) for r in overdue] == [("海盐县环境卫生管理所", *month.cases("C"))]
    assert overdue[0]["overdue_hours"] > 0
    assert [r["case_no"] for r in b.table("rework").rows] == month.cases("D")
    summary = {s["key"]: s["value"] for s in b.summary}
    assert summary["registered"] == 9 and summary["service_level"] == 0.25  # A B E I R + C D H L (F 挂账, G K 作废)
    classes = b.table("top_classes").rows
    assert classes[0]["name"] == "污水井盖" and classes[0]["count"] == summary["registered"]
    places = b.table("recurring_places").rows  # all cases share a class: each street's one cell recurs
    assert {p["cell_code"]: p["count"] for p in places} == {"33042400100101": 5, "33042400200101": 4}
    assert [t["period"] for t in b.trend][-1] == month.month.label and len(b.trend) == data.TREND_PERIODS
    assert "13800000000" not in str([t.rows for t in b.tables.values()])  # no phone numbers in a report


async def test_xlsx_and_csv_read_back(month: Month) -> None:
    b = await bulletin(month)
    tables = [b.table("department_ranking"), b.table("overdue"), b.table("hotline_day")]
    content = exports.xlsx(tables, title="测试", when=b.as_of)
    assert content == exports.xlsx(tables, title="测试", when=b.as_of)  # same data, same file
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == [t.title[:31] for t in tables]
    ws = wb[wb.sheetnames[0]]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["排名", "编码", "部门", "得分", "等级"]
    row = [c.value for c in ws[2]]
    assert row[:5] == [1, "szs", "海盐县市政设施管理所" if row[2] != "szs" else "szs", 92.0, "优"]
    rate_col = header.index("按期处置率") + 1
    assert ws.cell(2, rate_col).value == pytest.approx(0.8) and ws.cell(2, rate_col).number_format == "0.00%"
    assert wb[wb.sheetnames[1]].cell(2, 2).value == month.cases("C")[0]
    text = exports.csv_bytes(b.table("department_ranking")).decode("utf-8-sig").splitlines()
    assert text[0].startswith("排名,编码,部门,得分,等级") and ",92.00,优," in text[1] and "80.00%" in text[1]


def rss_kib() -> int:
    """This process's resident set size (VmRSS), KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pdf_text(content: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "b.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (scripts/apt-packages.txt)")
async def test_the_pdf_reads_back_and_is_reproducible(month: Month, tmp_path) -> None:  # type: ignore[no-untyped-def]
    b = await bulletin(month)
    calendar = await month.service.calendar()
    issued = issued_at(calendar, month.month)
    content = pdf.render(b, site="海盐县", issued=issued, tz=calendar.tz)
    assert content.startswith(b"%PDF-")
    again = pdf.render(await bulletin(month), site="海盐县", issued=issued, tz=calendar.tz)
    assert again == content  # same data, same profile versions: the same bytes
    text = pdf_text(content, tmp_path)
    for expected in (
        "海盐县数字城管工作通报",
        month.month.label,
        "部门综合评价排名",
        "海盐县环境卫生管理所",
        "92.00",
        "超期未处置案件",
        *month.cases("C"),
        "返工案件",
        *month.cases("D"),
        "热线服务水平",
        "第 1 版",
    ):
        assert expected in text, expected
    path = tmp_path / "b.pdf"
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], check=True, capture_output=True, text=True).stdout
    stamp = issued.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # dated from the period, not from now
    assert f"CreationDate:    {stamp}" in info and f"ModDate:         {stamp}" in info


async def test_the_service_renders_the_pdf_apart_with_its_event_loop_free(month: Month) -> None:
    """The publisher (the monthly timer, the leaders' page) renders in a child process: the same bytes as
    rendering here, while this process spends next to no CPU on it (its event loop is free: calls, websockets and
    the API go on) and does not keep WeasyPrint's memory. Rendered in the service, WeasyPrint stalled the loop
    for 1.4-1.9 s and grew the process by ~140 MiB here (+51 MiB in bench.load's 10-minute run). CPU time, not
    the loop's gaps, is asserted: on a shared machine a gap can also be another process's turn."""
    publisher = month.publisher  # type: ignore[attr-defined]
    profiles = publisher.profiles()
    bulletin_ = await bulletin(month)
    calendar = await month.service.calendar()
    issued = issued_at(calendar, month.month)
    rss_before, cpu_before = rss_kib(), time_module.process_time()
    content = await pdf.render_apart(bulletin_, site="海盐县", issued=issued, tz=calendar.tz)
    cpu_s, grown_mib = time_module.process_time() - cpu_before, (rss_kib() - rss_before) / 1024
    assert content.startswith(b"%PDF-")
    assert cpu_s < 0.5, f"rendering took {cpu_s:.2f} s of this process's CPU"
    assert grown_mib < 20, f"rendering grew this process by {grown_mib:.0f} MiB"
    assert content == pdf.render(bulletin_, site="海盐县", issued=issued, tz=calendar.tz)  # the same document
    stored, _, _ = await publisher.render(month.month, *profiles)  # what the timer and the page publish
    assert stored == content


async def test_publishing_keeps_the_profile_version_and_a_new_version_publishes_apart(month: Month) -> None:
    publisher = month.publisher  # type: ignore[attr-defined]
    ev = month.evaluation  # type: ignore[attr-defined]
    first = await publisher.publish(month.month, month.clock.now, "lead01")
    assert (first["department_profile"], first["department_profile_version"]) == ("jinniu", 1)
    assert (await publisher.publish(month.month, month.clock.now, "lead01"))["id"] == first["id"]  # idempotent
    spec = _read(EVALUATION_DIR / "profiles" / "jinniu.v1.yaml")
    spec["version"] = 2
    spec["rules"][0]["weight"], spec["rules"][1]["weight"] = 20, 30
    ev.profiles = ProfileBook.of([*ev.profiles.profiles.values(), parse_profile(spec, ev.catalog)])
    second = await publisher.publish(month.month, month.clock.now, "lead01")  # the newest version by default
    assert second["department_profile_version"] == 2 and second["sha256"] != first["sha256"]
    listed = {(r["id"], r["department_profile_version"]) for r in await publisher.listing()}
    assert listed == {(first["id"], 1), (second["id"], 2)}
    # The past period recomputed under version 2 (szs 90.00, not 92.00), and the one published under
    # version 1 regenerates byte for byte from the same data.
    b2 = await bulletin(month, 2)
    assert [r["score"] for r in b2.table("department_ranking").rows] == [90.0, 73.33]
    _, stored = await publisher.content(first["id"])
    rendered, _, _ = await publisher.render(month.month, *publisher.profiles(1, 1))
    assert rendered == stored


async def test_the_scheduler_publishes_last_month_from_its_first_working_day_once(month: Month) -> None:
    publisher = month.publisher  # type: ignore[attr-defined]
    calendar = await month.service.calendar()
    nxt = month.next_month
    first = first_working_day(calendar, nxt.first.year, nxt.first.month)
    assert calendar.is_workday(first) and all(
        not calendar.is_workday(nxt.first + timedelta(days=i)) for i in range((first - nxt.first).days)
    )
    midnight = datetime.combine(first, time(0), month.tz).astimezone(UTC)
    assert due_month(calendar, midnight - timedelta(minutes=1)) in (
        None,
        period("month", month.month.first - timedelta(days=1)),
    )
    assert due_month(calendar, midnight) == month.month
    done = await publisher.sweep(midnight + timedelta(hours=1))
    assert (
        done is not None and done["generated_by"] == "scheduler" and done["first_day"] == month.month.first.isoformat()
    )
    assert done["issued_at"] == midnight.isoformat()
    assert await publisher.sweep(midnight + timedelta(hours=2)) is None  # once
