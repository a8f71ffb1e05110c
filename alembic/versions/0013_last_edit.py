"""video projects keep their last edit's summary (what it kept, dropped and bought)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:10:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("video_project", sa.Column("last_edit", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.drop_column("last_edit")
