"""The evaluation's derived tables: one summary row per case and one row per act of a post, kept by the writer.

Both are derived from `case_history` (append-only, the truth) and `case_stages`; `ticketing/evaluation/facts.py`
computes them, the case repository refreshes a case's rows in the transaction of every change to it, and
`hotline evaluation rebuild` (also run by migration 0014_evaluation_facts) recomputes them all.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table

from core.db.base import metadata

# One row per case with history. Timestamps are the stored naive UTC ones; NULL = never.
evaluation_case_facts = Table(
    "evaluation_case_facts", metadata,
    Column("case_id", Integer, primary_key=True),  # cases.id (no foreign key: derived rows, rebuilt in bulk)
    Column("first_at", DateTime, nullable=False),  # earliest history row
    Column("last_at", DateTime, nullable=False),  # latest instant in the history or a clock (start/finish/pause)
    Column("state", String(16), nullable=False),  # to_state of the last history row
    Column("department", String(32)),  # department of the last 派遣 / 重办
    # The case's place and source, copied (set when the case is created; the month's GROUP BY then needs no
    # join with the cases table).
    Column("street", String(32)),
    Column("community", String(32)),
    Column("cell", String(32)),
    Column("public_source", Integer, nullable=False),  # 1: not reported by an inspector
    Column("first_register_at", DateTime),
    Column("last_register_at", DateTime),
    Column("last_submit_at", DateTime),  # last 处置反馈
    Column("last_close_at", DateTime),
    Column("first_invalid_at", DateTime),  # first row into 作废
    Column("rework_n", Integer, nullable=False),  # 核查不通过
    Column("extension_n", Integer, nullable=False),  # 批准延期
    Column("late_handling_at", DateTime),  # latest finish of a handling clock after its due time
    Column("open_due_at", DateTime),  # earliest due time of a running clock
    Column("open_unpaused_due_at", DateTime),  # the same over running clocks that are not paused
    Column("open_handling_due_at", DateTime),  # earliest due time of a running handling clock
    Index("ix_evaluation_case_facts_last_at", "last_at"),
    Index("ix_evaluation_case_facts_first_at", "first_at"),
    Index("ix_evaluation_case_facts_register", "last_register_at"),
    Index("ix_evaluation_case_facts_submit", "last_submit_at"),
    Index("ix_evaluation_case_facts_close", "last_close_at"),
    Index("ix_evaluation_case_facts_open_due", "open_unpaused_due_at"),
)

# One row per history row of a post's act (上报, 核实, 核查, 受理, 立案, 派遣).
evaluation_act_facts = Table(
    "evaluation_act_facts", metadata,
    Column("history_id", Integer, primary_key=True),  # case_history.id
    Column("case_id", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("command", String(32), nullable=False),
    Column("stage_on_time", Integer, nullable=False),  # 1: the stage this act finished was within its limit
    Column("verify_delay", Float),  # 核实: seconds since the latest earlier 发核实
    Column("returned_at", DateTime),  # 派遣: the first 回退 approved after it (before the next 派遣)
    Column("registered_at", DateTime),  # the case's first 立案 (copied: the act rows are refreshed with the case)
    Column("void_at", DateTime),  # the case's first 作废
    Index("ix_evaluation_act_facts_at", "at"),
    Index("ix_evaluation_act_facts_case", "case_id"),
)
