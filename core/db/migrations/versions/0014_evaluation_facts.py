"""evaluation summary rows (one per case, one per post's act), derived from the history

Revision ID: 0014_evaluation_facts
Revises: 0010_inspector

The rows are derived data: the history (append-only) stays the truth. The upgrade fills them from the history
and the stage clocks (`backfill_sql`: the derivation of ticketing/evaluation/facts.py as plain SQL, since a
migration does not import the application; tests/contract/test_evaluation_facts.py checks that both give the
same rows), so that an existing database evaluates as before at once; the writer keeps them from then on, and
`hotline evaluation rebuild` recomputes them whenever wanted.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_evaluation_facts"
down_revision = "0013_case_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("department", sa.String(32)),
        sa.Column("street", sa.String(32)),
        sa.Column("community", sa.String(32)),
        sa.Column("cell", sa.String(32)),
        sa.Column("public_source", sa.Integer(), nullable=False),
        sa.Column("first_register_at", sa.DateTime()),
        sa.Column("last_register_at", sa.DateTime()),
        sa.Column("last_submit_at", sa.DateTime()),
        sa.Column("last_close_at", sa.DateTime()),
        sa.Column("first_invalid_at", sa.DateTime()),
        sa.Column("rework_n", sa.Integer(), nullable=False),
        sa.Column("extension_n", sa.Integer(), nullable=False),
        sa.Column("late_handling_at", sa.DateTime()),
        sa.Column("open_due_at", sa.DateTime()),
        sa.Column("open_unpaused_due_at", sa.DateTime()),
        sa.Column("open_handling_due_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_evaluation_case_facts")),
    )
    for name, column in (("last_at", "last_at"), ("first_at", "first_at"), ("register", "last_register_at"),
                         ("submit", "last_submit_at"), ("close", "last_close_at"),
                         ("open_due", "open_unpaused_due_at")):
        op.create_index(f"ix_evaluation_case_facts_{name}", "evaluation_case_facts", [column])
    op.create_table(
        "evaluation_act_facts",
        sa.Column("history_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("stage_on_time", sa.Integer(), nullable=False),
        sa.Column("verify_delay", sa.Float()),
        sa.Column("returned_at", sa.DateTime()),
        sa.Column("registered_at", sa.DateTime()),
        sa.Column("void_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_evaluation_act_facts")),
    )
    op.create_index("ix_evaluation_act_facts_at", "evaluation_act_facts", ["at"])
    op.create_index("ix_evaluation_act_facts_case", "evaluation_act_facts", ["case_id"])
    for statement in backfill_sql(op.get_bind().dialect.name):
        op.execute(statement)


def backfill_sql(dialect: str) -> list[str]:
    """Every summary row from the history and the stage clocks (the tables are empty before)."""
    if dialect == "postgresql":
        def epoch(x: str) -> str:
            return f"EXTRACT(EPOCH FROM {x})"
        department = "d.payload->>'department'"
    else:
        def epoch(x: str) -> str:
            return f"((julianday({x}) - 2440587.5) * 86400.0)"
        department = "json_extract(d.payload, '$.department')"

    def later(a: str, b: str) -> str:
        return f"CASE WHEN {b} IS NULL THEN {a} WHEN {a} >= {b} THEN {a} ELSE {b} END"

    last_at = later(later(later("h.h_last", "s.s_started"), "s.s_finished"), "s.s_paused")
    facts = f"""
        INSERT INTO evaluation_case_facts (case_id, first_at, last_at, state, department, street, community,
            cell, public_source, first_register_at,
            last_register_at, last_submit_at, last_close_at, first_invalid_at, rework_n, extension_n,
            late_handling_at, open_due_at, open_unpaused_due_at, open_handling_due_at)
        SELECT h.case_id, h.first_at, {last_at}, l.to_state, {department}, c.street_code, c.community_code,
               c.cell_code, CASE WHEN c.source <> 'inspector' THEN 1 ELSE 0 END, h.first_register_at,
               h.last_register_at, h.last_submit_at, h.last_close_at, h.first_invalid_at, h.rework_n,
               h.extension_n, s.late_handling_at, s.open_due_at, s.open_unpaused_due_at, s.open_handling_due_at
        FROM (SELECT case_id, min(at) AS first_at, max(at) AS h_last, max(id) AS last_id,
                     max(CASE WHEN command IN ('dispatch', 'reopen') THEN id END) AS dispatch_id,
                     min(CASE WHEN command = 'register' THEN at END) AS first_register_at,
                     max(CASE WHEN command = 'register' THEN at END) AS last_register_at,
                     max(CASE WHEN command = 'submit_result' THEN at END) AS last_submit_at,
                     max(CASE WHEN command = 'close' THEN at END) AS last_close_at,
                     min(CASE WHEN to_state = 'invalid' THEN at END) AS first_invalid_at,
                     sum(CASE WHEN command = 'check_fail' THEN 1 ELSE 0 END) AS rework_n,
                     sum(CASE WHEN command = 'approve_extension' THEN 1 ELSE 0 END) AS extension_n
              FROM case_history GROUP BY case_id) h
        JOIN case_history l ON l.id = h.last_id
        JOIN cases c ON c.id = h.case_id
        LEFT JOIN (SELECT case_id, max(started_at) AS s_started, max(finished_at) AS s_finished,
                          max(paused_at) AS s_paused,
                          max(CASE WHEN stage = 'handling' AND finished_at > due_at THEN finished_at END)
                              AS late_handling_at,
                          min(CASE WHEN finished_at IS NULL THEN due_at END) AS open_due_at,
                          min(CASE WHEN finished_at IS NULL AND paused_at IS NULL THEN due_at END)
                              AS open_unpaused_due_at,
                          min(CASE WHEN finished_at IS NULL AND stage = 'handling' THEN due_at END)
                              AS open_handling_due_at
                   FROM case_stages GROUP BY case_id) s ON s.case_id = h.case_id
        LEFT JOIN case_history d ON d.id = h.dispatch_id
        ORDER BY h.first_at"""
    act = "evaluation_act_facts"
    acts = f"""
        INSERT INTO {act} (history_id, case_id, at, actor, actor_role, command, stage_on_time, registered_at,
                           void_at)
        SELECT h.id, h.case_id, h.at, h.actor, h.actor_role, h.command,
               CASE WHEN t.case_id IS NOT NULL THEN 1 ELSE 0 END, f.first_register_at, f.first_invalid_at
        FROM case_history h
        JOIN evaluation_case_facts f ON f.case_id = h.case_id
        LEFT JOIN (SELECT case_id, stage, finished_at FROM case_stages WHERE finished_at <= due_at
                   GROUP BY case_id, stage, finished_at) t
          ON t.case_id = h.case_id AND t.finished_at = h.at
             AND t.stage = CASE h.command WHEN 'accept' THEN 'acceptance' WHEN 'register' THEN 'registration'
                                WHEN 'dispatch' THEN 'dispatching' WHEN 'check_pass' THEN 'checking'
                                WHEN 'check_fail' THEN 'checking' END
        WHERE h.command IN ('create', 'report_verified', 'check_pass', 'check_fail', 'accept', 'register',
                            'dispatch')
        ORDER BY h.at"""
    delay = f"""
        UPDATE {act} SET verify_delay = {epoch(f"{act}.at")} - (
            SELECT max({epoch("o.at")}) FROM case_history o
            WHERE o.case_id = {act}.case_id AND o.command = 'request_verification' AND o.id < {act}.history_id)
        WHERE command = 'report_verified' AND EXISTS (
            SELECT 1 FROM case_history o WHERE o.case_id = {act}.case_id AND o.command = 'request_verification'
              AND o.id < {act}.history_id)"""
    returned = f"""
        UPDATE {act} SET returned_at = (
            SELECT min(o.at) FROM case_history o
            WHERE o.case_id = {act}.case_id AND o.command = 'approve_return' AND o.id > {act}.history_id
              AND NOT EXISTS (SELECT 1 FROM case_history n WHERE n.case_id = {act}.case_id
                              AND n.command = 'dispatch' AND n.id > {act}.history_id AND n.id < o.id))
        WHERE command = 'dispatch' AND EXISTS (
            SELECT 1 FROM case_history o WHERE o.case_id = {act}.case_id AND o.command = 'approve_return'
              AND o.id > {act}.history_id)"""
    return [facts, acts, delay, returned]


def downgrade() -> None:
    op.drop_table("evaluation_act_facts")
    op.drop_table("evaluation_case_facts")
