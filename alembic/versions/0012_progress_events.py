"""progress events: what happened to each row, in order, for the live event stream

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:45:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("row_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_progress_event_row", "progress_event", ["row_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_progress_event_row", table_name="progress_event")
    op.drop_table("progress_event")
