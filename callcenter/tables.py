"""Call records (SQLAlchemy Core tables on the project's one MetaData). Datetimes are naive UTC.

`calls` holds one row per call with the timestamps of each stage; `call_events` is the append-only log of
what happened to the call (IVR steps, queue joins, rings, no-answers, bridging), the queue event log;
`agent_sessions` is one row per extension: who holds it, in which state since when (restored after a restart).
"""

from __future__ import annotations

import sqlalchemy as sa

from core.db.base import metadata

calls = sa.Table(
    "calls", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("direction", sa.String(16), nullable=False, server_default="inbound"),
    sa.Column("caller", sa.String(64), nullable=False, server_default=""),
    sa.Column("called", sa.String(64), nullable=False, server_default=""),
    sa.Column("channel_id", sa.String(128), nullable=True, index=True),
    sa.Column("arrived_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("ivr_exit_at", sa.DateTime(), nullable=True),
    sa.Column("enqueued_at", sa.DateTime(), nullable=True),
    sa.Column("ring_at", sa.DateTime(), nullable=True),
    sa.Column("answered_at", sa.DateTime(), nullable=True),
    sa.Column("ended_at", sa.DateTime(), nullable=True),
    # answered | abandoned | callback | message | after_hours | blocked | failed | query (NULL while live)
    sa.Column("outcome", sa.String(16), nullable=True, index=True),
    sa.Column("agent_id", sa.String(32), nullable=True, index=True),
    sa.Column("queue", sa.String(32), nullable=True),
    sa.Column("dtmf_path", sa.String(200), nullable=False, server_default=""),
    sa.Column("description_recording", sa.String(255), nullable=True),
    sa.Column("call_recording", sa.String(255), nullable=True),
    sa.Column("hangup_by", sa.String(16), nullable=True),  # caller | agent | system
    sa.Column("case_no", sa.String(32), nullable=True),
)

call_events = sa.Table(
    "call_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("agent_id", sa.String(32), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False, default=dict),
)

agent_sessions = sa.Table(
    "agent_sessions", metadata,
    sa.Column("extension", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(64), nullable=True, index=True),  # who signed it in from the console
    sa.Column("state", sa.String(16), nullable=False),  # an AgentState
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("since", sa.DateTime(), nullable=False),
)

TABLES = (calls, call_events, agent_sessions)
