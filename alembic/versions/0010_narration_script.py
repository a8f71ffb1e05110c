"""narration scripts: a ledger slot for the paid script writer (fal's any-llm)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "narration_script",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "video_project_id", sa.String(64), sa.ForeignKey("video_project.id"), nullable=False
        ),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("lines", sa.JSON()),
        sa.Column("warnings", sa.JSON()),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("submit_token", sa.String(64)),
        sa.Column("submit_started_at", sa.DateTime(timezone=True)),
        sa.Column("script_url", sa.Text()),
        sa.Column("provider_request_id", sa.Text()),
        sa.Column("cost_cents", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_message", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_narration_script_project", "narration_script", ["video_project_id"])


def downgrade() -> None:
    op.drop_index("ix_narration_script_project", table_name="narration_script")
    op.drop_table("narration_script")
