"""submit tokens: reconcile a submit whose request id was never stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:30:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {
    "video_clip": ("", "transition_"),
    "image_generation": ("",),
}


def upgrade() -> None:
    for table, prefixes in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for prefix in prefixes:
                batch.add_column(sa.Column(f"{prefix}submit_token", sa.String(64)))
                batch.add_column(
                    sa.Column(f"{prefix}submit_started_at", sa.DateTime(timezone=True))
                )


def downgrade() -> None:
    for table, prefixes in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for prefix in prefixes:
                batch.drop_column(f"{prefix}submit_started_at")
                batch.drop_column(f"{prefix}submit_token")
