"""video templates: the template a project was made from

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:30:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.add_column(sa.Column("template", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.drop_column("template")
