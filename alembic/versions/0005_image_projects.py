"""image projects: a listing's photos enhanced together; each photo an image_generation row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:30:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_project",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("style", sa.String(length=32), nullable=False),
        sa.Column("image_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("estimated_cost", sa.Integer(), server_default="0", nullable=False),
        sa.Column("actual_cost", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("zip_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("submission", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("notified_status", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("image_generation") as batch:
        batch.add_column(sa.Column("image_project_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("project_order", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_image_generation_image_project", "image_project", ["image_project_id"], ["id"]
        )
        batch.create_index(
            "ix_image_generation_project", ["image_project_id", "project_order", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("image_generation") as batch:
        batch.drop_index("ix_image_generation_project")
        batch.drop_constraint("fk_image_generation_image_project", type_="foreignkey")
        batch.drop_column("project_order")
        batch.drop_column("image_project_id")
    op.drop_table("image_project")
