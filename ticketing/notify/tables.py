"""Tables of the loop: deadline light changes, 督办 records, the outbox, opt-outs, webhooks, callbacks.

Delivery state (outbox, webhook deliveries, callbacks) lives here with its own attempts, never in the case.
Unique keys make every sweep and every enqueue idempotent: a second run inserts nothing.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from core.db.base import metadata

deadline_alerts = Table(
    "deadline_alerts", metadata,
    Column("id", Integer, primary_key=True),
    Column("stage_id", Integer, nullable=False),
    Column("case_id", Integer, nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("light", String(8), nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("at", DateTime, nullable=False),
    UniqueConstraint("stage_id", "light", "due_at", name="uq_deadline_alerts_stage_light_due"),
)

urges = Table(
    "urges", metadata,
    Column("id", Integer, primary_key=True),
    Column("stage_id", Integer, nullable=False),
    Column("case_id", Integer, nullable=False, index=True),
    Column("case_no", String(16), nullable=False),
    Column("level", String(32), nullable=False),  # a threshold name ("yellow", "due+24h") or "escalation"
    Column("target_kind", String(16), nullable=False),  # department | lead
    Column("target", String(32), nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("at", DateTime, nullable=False, index=True),
    UniqueConstraint("stage_id", "level", "due_at", name="uq_urges_stage_level_due"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("case_no", String(16), index=True),
    Column("event", String(32), nullable=False),  # accepted | dispatched | closed | survey | urge:<level>
    Column("channel", String(16), nullable=False),  # sms | internal (department/lead inbox)
    Column("recipient_kind", String(16), nullable=False),  # citizen | department | lead
    Column("recipient", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # OutboxState (domain/outbox_lifecycle.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),  # due time; while `sending`, the end of the lease
    Column("last_error", Text),
    Column("provider", String(16)),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    Index("ix_outbox_recipient_sent", "recipient", "sent_at"),
)

sms_optouts = Table(
    "sms_optouts", metadata,
    Column("phone", String(32), primary_key=True),
    Column("reason", String(200)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Every text a citizen sent us (gateway callback or SIP MESSAGE), once per channel and provider message id:
# a redelivered callback finds its row and changes nothing.
sms_inbound = Table(
    "sms_inbound", metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),  # http | sip
    Column("message_id", String(100), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # rating | query | opt_out | other | rejected
    Column("case_no", String(16)),
    Column("result", Text),  # what we did (Chinese)
    Column("received_at", DateTime, nullable=False),
    UniqueConstraint("channel", "message_id", name="uq_sms_inbound_channel_message"),
)

department_webhooks = Table(
    "department_webhooks", metadata,
    Column("department_code", String(32), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("department_code", String(32), nullable=False, index=True),
    Column("case_no", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # WebhookState (domain/webhook_lifecycle.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
    Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
)

callbacks = Table(
    "callbacks", metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup_key", String(200), unique=True),
    Column("kind", String(16), nullable=False),  # survey | queue | missed | agent
    Column("number", String(32), nullable=False),
    Column("case_no", String(16), index=True),
    Column("call_id", String(64)),
    Column("state", String(16), nullable=False),  # CallbackState (domain/callback_lifecycle.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", DateTime, nullable=False),  # due time; while `calling`, the end of the lease
    Column("answer", Integer),
    Column("reason_path", String(255)),
    Column("last_error", Text),
    Column("requested_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_callbacks_state_due", "state", "due_at"),
)
