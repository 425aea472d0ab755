"""The agent session: which user holds which extension, in which state since when, and how a stored
session comes back after a restart of the call runtime (pure: no I/O, no clock reads).

The session's state moves only through the agent state table (`callcenter.acd.agent.TRANSITIONS`); this
module adds who holds the extension and the restore table. Restoring keeps everybody signed in: an agent
who was ready is ready again, a not-ready agent keeps the reason; a ring that was cut by the restart gives
the agent back (ready), and a cut conversation ends like any other call: with the agent's wrap-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from callcenter.acd.agent import Agent, AgentState

S = AgentState
RESTORED: dict[AgentState, AgentState] = {
    S.LOGGED_OUT: S.LOGGED_OUT,
    S.NOT_READY: S.NOT_READY,
    S.READY: S.READY,
    S.RINGING: S.READY,  # the ring was cut by the restart; the caller is adopted and offered again
    S.ON_CALL: S.WRAP_UP,  # the conversation was cut: wrap up as after any call
    S.WRAP_UP: S.WRAP_UP,
}
"""stored state -> the state the agent is in after a restart (every state is listed)."""


@dataclass(frozen=True)
class AgentSession:
    extension: str
    username: str | None  # who signed the extension in from the console (None: nobody, or via the API)
    state: AgentState
    reason: str | None
    since: datetime


class ExtensionInUse(Exception):
    """Another user holds the extension."""

    code = "extension_in_use"

    def __init__(self, extension: str, holder: str) -> None:
        super().__init__(f"分机 {extension} 已由 {holder} 签入")
        self.extension, self.holder = extension, holder


def check_sign_in(session: AgentSession | None, username: str) -> None:
    """Raise ExtensionInUse when someone else holds the extension."""
    if session is not None and session.username not in (None, username):
        raise ExtensionInUse(session.extension, session.username)


def session_of(agent: Agent, username: str | None, at: datetime) -> AgentSession:
    """The session to store for `agent` as it is at `at` (its last change)."""
    return AgentSession(agent.agent_id, username, agent.state, agent.reason, agent.state_since or at)


def restore(agent: Agent, session: AgentSession, now: datetime) -> None:
    """Put `agent` (fresh, logged out) into the state its stored session comes back to at `now`."""
    state = RESTORED[session.state]
    if state is S.WRAP_UP and agent.wrap_up_s <= 0:
        state = S.READY
    agent.state, agent.state_since, agent.call_id = state, now, None
    agent.reason = session.reason if state is S.NOT_READY else None
    agent.idle_since = session.since if state is S.READY and session.state is S.READY else (
        now if state is S.READY else None)
    agent.wrap_up_until = now + timedelta(seconds=agent.wrap_up_s) if state is S.WRAP_UP else None
    agent.calls_handled = 0


def resume_call(agent: Agent, call_id: str, now: datetime) -> AgentState:
    """The agent's conversation outlived a restart of the runtime (it was re-adopted): the agent is on that
    call again, whatever the restore made of the stored session. Returns the state before."""
    old = agent.state
    agent.state, agent.state_since, agent.call_id = S.ON_CALL, now, call_id
    agent.reason, agent.wrap_up_until, agent.idle_since = None, None, None
    return old


def extension_refused(extension: str, username: str, *, account_extension: str | None, account_owner: str | None,
                      holder: str | None, action: str, supervisor: bool = False) -> str | None:
    """Why `username` may not use `extension` for `action` ("login", "control": state and logout, "originate"),
    or None when it may. The one rule binding extensions to users on the server:

    - an account bound to an extension (users.extension) uses that one and no other;
    - an extension bound to another account is that account's;
    - otherwise (hot desks) a free extension may be signed in, and only its holder may control it or call
      out from it;
    - shift leads may also control (set the state of, log out) any agent's extension: that is supervising.
    """
    if supervisor and action == "control":
        return None
    if account_extension is not None:
        return None if extension == account_extension else f"账号绑定分机 {account_extension}，不能使用分机 {extension}"
    if account_owner not in (None, username):
        return f"分机 {extension} 属于其他用户"
    if action == "login":
        return None  # a free extension; whether someone else holds it is ExtensionInUse (409)
    return None if holder == username else f"分机 {extension} 未由您签入，请先在受理台签入"
