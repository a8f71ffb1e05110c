"""narration: the spec's narration block on the project (voice, captions, script)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.add_column(sa.Column("narration", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.drop_column("narration")
