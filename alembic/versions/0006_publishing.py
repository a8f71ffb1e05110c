"""publishing: a project's listing, branding and renditions, the renditions it made, and its
free preview

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("listing", "branding", "renditions", "outputs", "preview_outputs")


def upgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("preview", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("video_project") as batch:
        batch.drop_column("preview")
        for name in reversed(COLUMNS):
            batch.drop_column(name)
