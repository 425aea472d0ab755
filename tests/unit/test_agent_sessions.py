"""Agent sessions are durable: who holds which extension, in which state since when, restored after a
restart of the call runtime instead of logging everybody out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.acd import (
    Agent,
    AgentState,
    AnswerCall,
    LogIn,
    OfferCall,
    SetNotReady,
    SetReady,
    apply,
)
from callcenter.agent_sessions import SqlAgentSessions
from callcenter.domain.agent_session import RESTORED, AgentSession, ExtensionInUse, restore
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from callcenter.tables import TABLES
from core.db.base import metadata

S = AgentState
NOW = datetime.now(UTC)


def test_every_stored_state_has_a_restored_state_and_nobody_is_logged_out() -> None:
    assert set(RESTORED) == set(AgentState)
    assert [s for s, r in RESTORED.items() if r is S.LOGGED_OUT] == [S.LOGGED_OUT]
    assert S.RINGING not in RESTORED.values() and S.ON_CALL not in RESTORED.values()  # no call survives


@pytest.mark.parametrize(("stored", "restored"), list(RESTORED.items()))
def test_restore_gives_a_consistent_agent(stored: AgentState, restored: AgentState) -> None:
    since = NOW - timedelta(minutes=5)
    agent = Agent("8001", wrap_up_s=10)
    restore(agent, AgentSession("8001", "agent01", stored, "meal", since), NOW)
    assert agent.state is restored and agent.call_id is None and agent.state_since == NOW
    assert agent.reason == ("meal" if restored is S.NOT_READY else None)
    assert (agent.wrap_up_until == NOW + timedelta(seconds=10)) == (restored is S.WRAP_UP)
    assert agent.idle_since == {S.READY: since, S.RINGING: NOW}.get(stored)


def test_a_restored_agent_moves_on_through_the_agent_table() -> None:
    agent = Agent("8001", wrap_up_s=0)
    restore(agent, AgentSession("8001", None, S.ON_CALL, None, NOW), NOW)
    assert agent.state is S.READY  # no wrap-up configured
    apply(agent, OfferCall("c1"), NOW)
    assert agent.state is S.RINGING


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=list(TABLES))
    yield engine
    await engine.dispose()


def runtime(engine: AsyncEngine) -> CallRuntime:
    tel = TelephonySettings(agent_extensions=("8001", "8002", "8003", "8004"))
    return CallRuntime(tel, client=None, sessions=SqlAgentSessions(engine))  # type: ignore[arg-type]


async def settle(rt: CallRuntime) -> None:
    assert rt.sessions is not None
    await rt.sessions.flush()


async def test_a_restarted_runtime_finds_its_agents_where_they_were(engine: AsyncEngine) -> None:
    first = runtime(engine)
    await first.restore_agents()
    assert first.sessions is not None
    await first.sessions.sign_in("8001", "agent01", NOW)
    for ext, commands in {"8001": [LogIn(), SetReady()], "8002": [LogIn(), SetNotReady("meal")],
                          "8003": [LogIn(), SetReady(), OfferCall("c1"), AnswerCall("c1")]}.items():
        for command in commands:
            first.acd.command(ext, command)
    await settle(first)

    second = runtime(engine)
    await second.restore_agents()
    agents = second.acd.agents
    assert agents["8001"].state is S.READY and agents["8002"].state is S.NOT_READY
    assert agents["8002"].reason == "meal"
    assert agents["8003"].state is S.WRAP_UP and agents["8003"].call_id is None
    assert agents["8004"].state is S.LOGGED_OUT
    assert second.sessions is not None and second.sessions.extension_of("agent01") == "8001"
    assert second.acd.next_offer() is None  # nobody waits; but 8001 is offerable again:
    assert [a.agent_id for a in agents.values() if a.state is S.READY] == ["8001"]


async def test_one_user_holds_one_extension_and_nobody_takes_it_away(engine: AsyncEngine) -> None:
    sessions = SqlAgentSessions(engine)
    await sessions.sign_in("8001", "agent01", NOW)
    with pytest.raises(ExtensionInUse):
        await sessions.sign_in("8001", "lead01", NOW)
    await sessions.sign_in("8002", "agent01", NOW)
    again = SqlAgentSessions(engine)
    await again.load()
    assert again.extension_of("agent01") == "8002" and again.holder("8001") is None
    await again.sign_out("agent01")
    assert (await SqlAgentSessions(engine).load())["8002"].username is None
