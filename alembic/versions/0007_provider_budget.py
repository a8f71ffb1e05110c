"""provider budget: every request's place at the provider, shared by all runs; priority

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PRIORITISED = ("video_project", "image_project", "image_generation")


def upgrade() -> None:
    op.create_table(
        "provider_place",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("project_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_provider_place_provider", "provider_place", ["provider", "granted_at"])
    op.create_table(
        "provider_budget",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider"),
    )
    for table in PRIORITISED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("priority", sa.Integer(), server_default="0", nullable=False)
            )


def downgrade() -> None:
    for table in PRIORITISED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("priority")
    op.drop_table("provider_budget")
    op.drop_index("ix_provider_place_provider", table_name="provider_place")
    op.drop_table("provider_place")
