"""The upward export: JSON lines and CSV by the profile's field map, incremental by change time, resumable
after a run cut short (nothing doubled, nothing skipped). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.api_plugin import Api
from ticketing.exchange.export import load_export_profile, run_export
from web.keys import CASES, ENGINE


def lines(folder: Path, prefix: str) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob(f"{prefix}-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


async def export(api: Api, folder: Path, clock, **kw: object):  # type: ignore[no-untyped-def]
    service = api.client.app[CASES]
    profile = load_export_profile("yunguanfu").model_copy(update={"batch_size": 2})
    return await run_export(api.client.app[ENGINE], await service.reference(), profile, folder, clock(), **kw)


async def test_cases_and_events_go_out_once_and_again_when_changed(api: Api, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = [await api.create(accept=True) for _ in range(3)]
    report = await export(api, tmp_path, clock)
    assert report.cases == 3 and report.events == 6  # create + accept each
    rows = lines(tmp_path, "cases")
    assert sorted(r["ajbh"] for r in rows) == sorted(c["case_no"] for c in made)
    first = next(r for r in rows if r["ajbh"] == made[0]["case_no"])
    assert first["xlbm"] == "10118" and first["zbx"] == "WGS84" and first["slsj"] and first["zt"] == "accepted"
    with next(tmp_path.glob("cases-*.csv")).open(encoding="utf-8") as handle:
        assert next(iter(csv.DictReader(handle))).keys() == first.keys()
    assert (await export(api, tmp_path, clock)).cases == 0  # nothing changed
    clock.advance(minutes=5)
    await api.act(made[1], "register", "lead01")
    again = await export(api, tmp_path, clock)
    assert again.cases == 1 and again.events == 1
    latest = [r for r in lines(tmp_path, "cases") if r["ajbh"] == made[1]["case_no"]]
    assert [r["zt"] for r in latest] == ["accepted", "registered"] and latest[-1]["lasj"]


async def test_a_run_cut_short_is_resumed_without_gaps_or_doubles(api: Api, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = [await api.create() for _ in range(5)]
    cut = await export(api, tmp_path, clock, max_batches=1)
    assert cut.cases == 2
    rest = await export(api, tmp_path, clock)
    assert rest.cases == 3 and rest.events == 5
    assert sorted(r["ajbh"] for r in lines(tmp_path, "cases")) == sorted(c["case_no"] for c in made)
    assert len(lines(tmp_path, "events")) == 5
