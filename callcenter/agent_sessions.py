"""Durable agent sessions (SqlAgentSessions): which user holds which extension, in which state since when.

Cached in memory (the live console asks for a user's extension on every event) and written through to the
`agent_sessions` table after every change, so a restart of the call runtime restores the agents
(`callcenter.domain.agent_session.restore`) instead of logging everyone out. Writes are serialised and
always write the latest cached session, so changes that follow each other quickly never end up stored in
the wrong order.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callcenter.acd import Agent, AgentState
from callcenter.domain.agent_session import AgentSession, check_sign_in, session_of
from callcenter.records import naive_utc
from callcenter.tables import agent_sessions


class SqlAgentSessions:
    def __init__(self, engine: AsyncEngine | None) -> None:
        self.engine = engine
        self.sessions: dict[str, AgentSession] = {}
        self._loaded = False
        self._lock = asyncio.Lock()

    async def load(self) -> dict[str, AgentSession]:
        """The stored sessions by extension (read once; later calls return the cache)."""
        if not self._loaded and self.engine is not None:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(sa.select(agent_sessions))).mappings().all()
            self.sessions = {r["extension"]: AgentSession(r["extension"], r["username"], AgentState(r["state"]),
                                                          r["reason"], _aware(r["since"])) for r in rows}
        self._loaded = True
        return self.sessions

    def holder(self, extension: str) -> str | None:
        session = self.sessions.get(extension)
        return session.username if session else None

    def extension_of(self, username: str) -> str | None:
        return next((ext for ext, s in self.sessions.items() if s.username == username), None)

    def check_sign_in(self, extension: str, username: str) -> None:
        """Raise ExtensionInUse when another user holds `extension`."""
        check_sign_in(self.sessions.get(extension), username)

    async def sign_in(self, extension: str, username: str, now: datetime) -> None:
        """`username` holds `extension` (and no other one any more)."""
        await self.load()
        self.check_sign_in(extension, username)
        touched = [ext for ext, s in self.sessions.items() if s.username == username and ext != extension]
        for ext in touched:
            self.sessions[ext] = replace(self.sessions[ext], username=None)
        current = self.sessions.get(extension) or AgentSession(extension, None, AgentState.LOGGED_OUT, None, now)
        self.sessions[extension] = replace(current, username=username)
        await self.flush(extension, *touched)

    async def sign_out(self, username: str) -> None:
        await self.load()
        touched = [ext for ext, s in self.sessions.items() if s.username == username]
        for ext in touched:
            self.sessions[ext] = replace(self.sessions[ext], username=None)
        await self.flush(*touched)

    def changed(self, agent: Agent, at: datetime) -> None:
        """Take the agent's new state into the cache (synchronous, from the ACD); `flush` stores it."""
        self.sessions[agent.agent_id] = session_of(agent, self.holder(agent.agent_id), at)

    async def flush(self, *extensions: str) -> None:
        """Store the cached sessions of `extensions` (all when none are given)."""
        if self.engine is None:
            return
        async with self._lock, self.engine.begin() as conn:
            for ext in extensions or tuple(self.sessions):
                session = self.sessions.get(ext)
                if session is not None:
                    await _upsert(conn, session)


async def _upsert(conn: AsyncConnection, session: AgentSession) -> None:
    values = {"username": session.username, "state": session.state.value, "reason": session.reason,
              "since": naive_utc(session.since)}
    found = await conn.execute(sa.update(agent_sessions)
                               .where(agent_sessions.c.extension == session.extension).values(**values))
    if found.rowcount == 0:
        await conn.execute(sa.insert(agent_sessions).values(extension=session.extension, **values))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


AGENT_SESSIONS = web.AppKey("agent_sessions", SqlAgentSessions)
"""The app's one agent-session store: the console signs users in, the call runtime keeps states in it."""
