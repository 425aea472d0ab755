"""Tables of the exchange: work orders (ours ⇄ theirs), every inbound message, every outbound one, cursors.

Inbound messages are unique per link by their key (the platform's message id, else a content hash): a replay
finds its first row and gets the same answer. Outbound messages are unique by our message id and carry their
own delivery state (ticketing/exchange/domain/lifecycle.py), never mixed into the case.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from core.db.base import metadata

exchange_orders = Table(
    "exchange_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system", String(16), nullable=False),  # the link, e.g. "12345"
    Column("ext_order_no", String(64), nullable=False),  # 12345工单编号
    Column("case_no", String(16), nullable=False, index=True),
    Column("appeal_type", String(32)),
    Column("ext_category", String(200)),
    Column("category_basis", String(16), nullable=False),  # code_table | keyword | default
    Column("repeat_of", String(64)),  # a 重办 sent as a new order: the original 工单编号 named in its text
    Column("ext_due_at", DateTime),  # the platform's 办理时限 (its clock; the earlier of the two counts)
    Column("attachments", JSON, nullable=False),  # [{name, url}] as sent (links, not downloaded)
    Column("raw", JSON, nullable=False),  # the whole 派单 message as received
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("system", "ext_order_no", name="uq_exchange_orders_system_no"),
)

exchange_inbound = Table(
    "exchange_inbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system", String(16), nullable=False),
    Column("message_key", String(200)),  # null for a rejected message (it has no trustworthy key)
    Column("kind", String(24)),  # order | extension_answer | visit | return_answer | revoke
    Column("ext_order_no", String(64), index=True),
    Column("case_no", String(16)),
    Column("transport", String(8), nullable=False),  # push | pull
    Column("state", String(16), nullable=False),  # created | applied | held | recorded | rejected
    Column("note", Text),  # what happened (Chinese), or why the message was refused
    Column("error_code", String(32)),
    Column("payload", JSON),  # the message as received (for rejected ones: the text, cut)
    Column("received_at", DateTime, nullable=False),
    Column("applied_at", DateTime),
    UniqueConstraint("system", "message_key", name="uq_exchange_inbound_system_key"),
    Index("ix_exchange_inbound_state", "state"),
)

exchange_outbound = Table(
    "exchange_outbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(120), nullable=False, unique=True),  # ours; sent in the body and a header
    Column("system", String(16), nullable=False),
    Column("ext_order_no", String(64), nullable=False),
    Column("case_no", String(16), nullable=False, index=True),
    Column("step", String(16), nullable=False),  # sign | return | extension | progress | finish
    Column("values", JSON, nullable=False),  # canonical values; the body is rendered from them per profile
    Column("state", String(16), nullable=False),  # OutState
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),  # due time; while `sending`, the end of the lease
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("response", Text),
    Column("created_at", DateTime, nullable=False),
    Column("acked_at", DateTime),
    Index("ix_exchange_outbound_state_next", "state", "next_attempt_at"),
    Index("ix_exchange_outbound_order", "system", "ext_order_no", "id"),
)

exchange_cursors = Table(
    "exchange_cursors",
    metadata,
    Column("name", String(64), primary_key=True),  # e.g. "12345:pull", "export:yunguanfu"
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# One row per attachment of an inbound work order: the durable fetch job (ticketing/exchange/attachments.py).
# Written with the order, in its transaction; claimed through core/leases.py like the outbound messages. A stored
# image is a photo (the photo store), named by `photo_id`; a failed or refused one keeps its reason.
exchange_attachments = Table(
    "exchange_attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system", String(16), nullable=False),
    Column("ext_order_no", String(64), nullable=False),
    Column("case_no", String(16), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # position in the order's list
    Column("name", String(200)),
    Column("url", Text, nullable=False),
    Column("state", String(16), nullable=False),  # AttState: pending | fetching | stored | failed | refused
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),  # due time; while `fetching`, the end of the lease
    Column("photo_id", String(32)),
    Column("content_type", String(32)),
    Column("bytes", Integer),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("done_at", DateTime),
    UniqueConstraint("system", "ext_order_no", "seq", name="uq_exchange_attachments_order_seq"),
    Index("ix_exchange_attachments_state_next", "state", "next_attempt_at"),
)

# Upward upload batches (ticketing/exchange/upload.py): each incremental batch frozen once, named by the cursor
# it starts at (unique), sent until the higher-level platform acknowledges it; only then does the export's
# cursor move (in the same transaction as the `acked` state).
exchange_batches = Table(
    "exchange_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("export", String(32), nullable=False),  # the export profile's name
    Column("stream", String(8), nullable=False),  # cases | events
    Column("batch_id", String(120), nullable=False, unique=True),  # sent to the platform; idempotent
    Column("start_cursor", Text, nullable=False),
    Column("end_cursor", Text, nullable=False),
    Column("records", JSON, nullable=False),  # the mapped records, frozen
    Column("count", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # OutState: pending | sending | acked | failed | rejected
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("acked_at", DateTime),
    Index("ix_exchange_batches_export_stream", "export", "stream", "id"),
)
