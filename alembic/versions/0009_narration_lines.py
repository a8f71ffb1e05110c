"""narration lines: a ledger slot per line a paid voice speaks (fal's Kokoro)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "narration_line",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "video_project_id", sa.String(64), sa.ForeignKey("video_project.id"), nullable=False
        ),
        sa.Column("voice", sa.String(40), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("submit_token", sa.String(64)),
        sa.Column("submit_started_at", sa.DateTime(timezone=True)),
        sa.Column("audio_url", sa.Text()),
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
    op.create_index("ix_narration_line_project", "narration_line", ["video_project_id"])


def downgrade() -> None:
    op.drop_index("ix_narration_line_project", table_name="narration_line")
    op.drop_table("narration_line")
