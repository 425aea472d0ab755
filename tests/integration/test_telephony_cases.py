"""Telephony on the project's real database (SQLite, then PostgreSQL in its own schema): the progress query
reads a real case, supervisor listening is audited, and the call records of a whole call are stored."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter.acd import LogIn, SetReady
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from core.tables import audit_log
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, to_alaw, wait_for, wait_outcome
from ticketing.domain.model import Actor, Role
from ticketing.services import NewCase

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


def spy_plays(rt: CallRuntime) -> list[str]:
    plays: list[str] = []
    original = rt.client.play

    async def spy(target: str, media: str | list[str], playback_id: str | None = None):  # type: ignore[no-untyped-def]
        plays.extend(m.rsplit("/", 1)[-1] for m in ([media] if isinstance(media, str) else media))
        return await original(target, media, playback_id)

    rt.client.play = spy  # type: ignore[method-assign]
    return plays


async def test_progress_query_reads_out_a_real_case(
    case_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    created = await case_runtime.test_cases.create(  # type: ignore[attr-defined]
        NewCase("hotline", "路灯不亮", "10118", address="海滨东路120号", accept=True), Actor("agent01", Role.AGENT))
    case_no = created.case_no
    status = await case_runtime.lookup_case(case_no)
    assert status is not None and status.state == "accepted" and status.deadline is not None
    plays = spy_plays(case_runtime)
    path = scenario.write(tmp_path, "query.xml", [
        ("pause", 1500), ("dtmf", "2"), ("pause", 1500), ("dtmf", f"{case_no}#"), ("pause", 16000), ("bye",)])
    result = await run_sipp(asterisk, path, service=asterisk.hotline_number, workdir=tmp_path,
                            keys={"caller": "13800138201"}, timeout_s=60)
    assert result.returncode == 0, result.stderr[-2000:]
    record = await wait_outcome(case_runtime, caller="13800138201")
    assert record["case_no"] == case_no and record["outcome"] == "query"
    assert record["dtmf_path"].startswith(f"2{case_no}#")
    assert "case_number_is" in plays and "state_accepted" in plays and "case_deadline_is" in plays
    read_digits = plays[plays.index("case_number_is") + 1:plays.index("case_state_is")]
    assert len(read_digits) == len(case_no)


async def test_unknown_case_number_is_said_to_be_unknown(
    case_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    plays = spy_plays(case_runtime)
    path = scenario.write(tmp_path, "unknown.xml", [
        ("pause", 1500), ("dtmf", "2"), ("pause", 1500), ("dtmf", "209901010001#"), ("pause", 4000), ("bye",)])
    result = await run_sipp(asterisk, path, service=asterisk.hotline_number, workdir=tmp_path,
                            keys={"caller": "13800138202"}, timeout_s=40)
    assert result.returncode == 0, result.stderr[-2000:]
    await wait_outcome(case_runtime, caller="13800138202")
    assert "case_not_found" in plays


@pytest.mark.parametrize(("mode", "number", "whisper"), [
    ("listen", "13800138203", "none"), ("whisper", "13800138213", "out"), ("barge", "13800138223", "both")])
async def test_supervisor_listen_whisper_barge_create_a_snoop_channel_and_an_audit_row(
    case_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path, mode: str, number: str, whisper: str
) -> None:
    agent = BaresipAgent(asterisk, "8001", tmp_path / "a8001", make_tone(tmp_path))
    lead = BaresipAgent(asterisk, "8005", tmp_path / "a8005", make_tone(tmp_path))
    await agent_online(case_runtime, agent, "8001")
    await agent_online(case_runtime, lead, "8005")
    case_runtime.acd.command("8001", LogIn())
    case_runtime.acd.command("8001", SetReady())
    path = scenario.write(tmp_path, "listen.xml", [("pause", 1500), ("dtmf", "0"), ("pause", 14000), ("bye",)])
    caller = asyncio.create_task(run_sipp(asterisk, path, service=asterisk.hotline_number, workdir=tmp_path,
                                          keys={"caller": number}, timeout_s=40))
    try:
        call = await wait_for(lambda: next((c for c in case_runtime.calls.values()
                                            if c.caller == number and c.answered_at), None))
        started = await case_runtime.supervise(call.id, "8005", mode, actor="lead01")
        channels = {c.id for c in await case_runtime.client.list_channels()}
        assert started["snoop_channel"] in channels
        bridge = f"{started['supervision_id']}-bridge"

        async def listening() -> bool:
            return any(b.id == bridge and len(b.channels) == 2 for b in await case_runtime.client.list_bridges())

        await wait_for(listening)
        result = await caller
    finally:
        await agent.stop()
        await lead.stop()
    assert result.returncode == 0, result.stderr[-1500:]
    async with case_runtime.records.engine.connect() as conn:  # type: ignore[union-attr]
        rows = (await conn.execute(sa.select(audit_log))).mappings().all()
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [("lead01", f"call.{mode}", call.id)]
    assert rows[0]["detail"]["spy"] == "both" and rows[0]["detail"]["whisper"] == whisper


async def test_call_record_of_a_reported_problem_is_complete(
    case_runtime: CallRuntime, asterisk: TelephonySettings, audio_fixtures: Path, tmp_path: Path
) -> None:
    agent = BaresipAgent(asterisk, "8002", tmp_path / "a8002", make_tone(tmp_path))
    await agent_online(case_runtime, agent, "8002")
    case_runtime.acd.command("8002", LogIn())
    case_runtime.acd.command("8002", SetReady())
    to_alaw(audio_fixtures / "callers" / "c01.wav", tmp_path)
    try:
        result = await run_sipp(asterisk, "citizen_report.xml", service="12319", workdir=tmp_path,
                                keys={"caller": "13800138204"})
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        record = await wait_outcome(case_runtime, caller="13800138204")
    finally:
        await agent.stop()
    assert record["outcome"] == "answered" and record["agent_id"] == "8002" and record["hangup_by"] == "caller"
    stamps = [record[k] for k in ("arrived_at", "ivr_exit_at", "enqueued_at", "ring_at", "answered_at",
                                  "ended_at")]
    assert all(isinstance(s, datetime) for s in stamps) and stamps == sorted(stamps)
    assert record["description_recording"].startswith("description-") and record["call_recording"]
    assert [e["kind"] for e in record["events"]][:3] == ["enqueued", "ringing", "answered"]
