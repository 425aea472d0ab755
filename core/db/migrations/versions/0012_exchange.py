"""exchange with the 12345 platform (orders, inbound log, outbound, cursors); cases by external id; open311
tokens; inbound SMS

Revision ID: 0012_exchange
Revises: 0008_agent_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_exchange"
down_revision = "0011_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("ext_order_no", sa.String(64), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("appeal_type", sa.String(32), nullable=True),
        sa.Column("ext_category", sa.String(200), nullable=True),
        sa.Column("category_basis", sa.String(16), nullable=False),
        sa.Column("ext_due_at", sa.DateTime(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_orders")),
        sa.UniqueConstraint("system", "ext_order_no", name="uq_exchange_orders_system_no"),
    )
    op.create_index(op.f("ix_exchange_orders_case_no"), "exchange_orders", ["case_no"])
    op.create_table(
        "exchange_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(24), nullable=True),
        sa.Column("ext_order_no", sa.String(64), nullable=True),
        sa.Column("case_no", sa.String(16), nullable=True),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_inbound")),
        sa.UniqueConstraint("system", "message_key", name="uq_exchange_inbound_system_key"),
    )
    op.create_index(op.f("ix_exchange_inbound_ext_order_no"), "exchange_inbound", ["ext_order_no"])
    op.create_index("ix_exchange_inbound_state", "exchange_inbound", ["state"])
    op.create_table(
        "exchange_outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(120), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("ext_order_no", sa.String(64), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_outbound")),
        sa.UniqueConstraint("message_id", name=op.f("uq_exchange_outbound_message_id")),
    )
    op.create_index(op.f("ix_exchange_outbound_case_no"), "exchange_outbound", ["case_no"])
    op.create_index("ix_exchange_outbound_state_next", "exchange_outbound", ["state", "next_attempt_at"])
    op.create_index("ix_exchange_outbound_order", "exchange_outbound", ["system", "ext_order_no", "id"])
    op.create_table(
        "exchange_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_exchange_cursors")),
    )
    op.create_index("ix_cases_external_id", "cases", ["external_id"])
    op.create_table(
        "open311_requests",
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=True),
        sa.Column("device_id", sa.String(100), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_open311_requests")),
        sa.UniqueConstraint("case_no", name=op.f("uq_open311_requests_case_no")),
    )
    op.create_table(
        "sms_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_inbound")),
        sa.UniqueConstraint("channel", "message_id", name="uq_sms_inbound_channel_message"),
    )
    op.create_table(
        "public_reports",
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("photos", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_no", name=op.f("pk_public_reports")),
    )


def downgrade() -> None:
    op.drop_table("public_reports")
    op.drop_table("sms_inbound")
    op.drop_table("open311_requests")
    op.drop_index("ix_cases_external_id", table_name="cases")
    op.drop_table("exchange_cursors")
    op.drop_index("ix_exchange_outbound_order", table_name="exchange_outbound")
    op.drop_index("ix_exchange_outbound_state_next", table_name="exchange_outbound")
    op.drop_index(op.f("ix_exchange_outbound_case_no"), table_name="exchange_outbound")
    op.drop_table("exchange_outbound")
    op.drop_index("ix_exchange_inbound_state", table_name="exchange_inbound")
    op.drop_index(op.f("ix_exchange_inbound_ext_order_no"), table_name="exchange_inbound")
    op.drop_table("exchange_inbound")
    op.drop_index(op.f("ix_exchange_orders_case_no"), table_name="exchange_orders")
    op.drop_table("exchange_orders")
