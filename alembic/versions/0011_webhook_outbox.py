"""webhook outbox: one event per terminal transition, written with it, delivered at least once

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:30:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("row_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_webhook_event_due", "webhook_event", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_event_row", "webhook_event", ["row_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_event_row", table_name="webhook_event")
    op.drop_index("ix_webhook_event_due", table_name="webhook_event")
    op.drop_table("webhook_event")
