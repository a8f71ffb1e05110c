"""SQLAlchemy models of the app database (DESIGN.md §3.3): the contract the property app reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class Submittable(Timestamps):
    """Columns shared by rows the sensors pick up: status, run bookkeeping, progress."""

    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    error_message: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    submission: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    step: Mapped[str | None] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(Text)
    # 1 for a paid tier's `"priority": "high"`: its runs and provider places go first.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "{status}:{submission}" of the last terminal transition a webhook was claimed for.
    notified_status: Mapped[str | None] = mapped_column(String(40))


class MusicTrack(Base, Timestamps):
    __tablename__ = "music_track"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    mood: Mapped[str | None] = mapped_column(String(64))
    audio_url: Mapped[str] = mapped_column(Text)
    duration_seconds: Mapped[float | None]


class VideoProject(Base, Submittable):
    __tablename__ = "video_project"
    __table_args__ = (Index("ix_video_project_queue", "status", "queued_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    aspect_ratio: Mapped[str] = mapped_column(String(8), default="16:9", server_default="16:9")
    music_track_id: Mapped[str | None] = mapped_column(ForeignKey("music_track.id"))
    music_volume: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    generate_native_audio: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    template: Mapped[str | None] = mapped_column(String(40))
    # The spec's `listing`, `branding` (its logo a stored URI) and `renditions` as given, and
    # the renditions made: [{aspect_ratio, branded, video_url, thumbnail_url, duration_seconds}].
    listing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    branding: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    renditions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    outputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The spec's `narration` as given (voice, language, speed, captions, script, intro, outro).
    narration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A preview renders everything on the offline engine for free and stops `previewed`;
    # `approve` clears it and the project is bought for real (`preview_outputs`: what it made).
    preview: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    preview_outputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # `studio edit`'s last summary: what it kept, dropped and bought (`editing.Edit.summary`).
    last_edit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    clip_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completed_clip_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    estimated_cost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    actual_cost: Mapped[int | None] = mapped_column(Integer)
    final_video_url: Mapped[str | None] = mapped_column(Text)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[float | None]


class VideoClip(Base, Timestamps):
    __tablename__ = "video_clip"
    __table_args__ = (Index("ix_video_clip_project", "video_project_id", "sequence_order"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    video_project_id: Mapped[str] = mapped_column(ForeignKey("video_project.id"))
    sequence_order: Mapped[int] = mapped_column(Integer)
    source_image_url: Mapped[str] = mapped_column(Text)
    end_image_url: Mapped[str | None] = mapped_column(Text)
    room_type: Mapped[str] = mapped_column(String(32))
    room_label: Mapped[str | None] = mapped_column(Text)
    motion_prompt: Mapped[str | None] = mapped_column(Text)
    transition_type: Mapped[str] = mapped_column(String(16), default="cut", server_default="cut")
    duration_seconds: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submit_token: Mapped[str | None] = mapped_column(String(64))
    submit_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clip_url: Mapped[str | None] = mapped_column(Text)
    provider_request_id: Mapped[str | None] = mapped_column(Text)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_message: Mapped[str | None] = mapped_column(Text)
    transition_status: Mapped[str | None] = mapped_column(String(16))
    transition_lease_owner: Mapped[str | None] = mapped_column(String(64))
    transition_lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transition_submit_token: Mapped[str | None] = mapped_column(String(64))
    transition_submit_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transition_clip_url: Mapped[str | None] = mapped_column(Text)
    transition_request_id: Mapped[str | None] = mapped_column(Text)
    transition_cost_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transition_error: Mapped[str | None] = mapped_column(Text)


class LedgerSlot:
    """A narration slot's ledger columns (`resources.repository.ledger`; the media URL is the
    table's own)."""

    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submit_token: Mapped[str | None] = mapped_column(String(64))
    submit_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_request_id: Mapped[str | None] = mapped_column(Text)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_message: Mapped[str | None] = mapped_column(Text)


class NarrationLine(Base, Timestamps, LedgerSlot):
    """One line of a project's narration spoken by a paid voice: a ledger slot like a clip's.

    Its id is a digest of the project, voice, speed and text (`runtime.speech.line_id`): the same
    line is bought once however often the project is compiled; an edited line is a new row."""

    __tablename__ = "narration_line"
    __table_args__ = (Index("ix_narration_line_project", "video_project_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    video_project_id: Mapped[str] = mapped_column(ForeignKey("video_project.id"))
    voice: Mapped[str] = mapped_column(String(40))
    speed: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    audio_url: Mapped[str | None] = mapped_column(Text)


class NarrationScript(Base, Timestamps, LedgerSlot):
    """The paid script writer's rewrite of a project's lines (fal's any-llm): a ledger slot like
    a clip's, bought once. Its id is a digest of the project, the model and the prompt
    (`runtime.script_writing.script_id`); `lines` holds the rewrite as checked, stored before
    the voice speaks it."""

    __tablename__ = "narration_script"
    __table_args__ = (Index("ix_narration_script_project", "video_project_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    video_project_id: Mapped[str] = mapped_column(ForeignKey("video_project.id"))
    model: Mapped[str] = mapped_column(String(120))
    prompt: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[str] | None] = mapped_column(JSON)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    script_url: Mapped[str | None] = mapped_column(Text)


class ImageProject(Base, Submittable):
    """A listing's photos enhanced together in one style; its status follows its photos
    (`resources.repository.image_projects.follow`). `run_id` stays empty: each photo has its own
    run."""

    __tablename__ = "image_project"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(String(32))
    image_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    estimated_cost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    actual_cost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    zip_url: Mapped[str | None] = mapped_column(Text)


class ImageGeneration(Base, Submittable):
    __tablename__ = "image_generation"
    __table_args__ = (
        Index("ix_image_generation_queue", "status", "queued_at", "id"),
        Index("ix_image_generation_project", "image_project_id", "project_order", "version"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    room_type: Mapped[str | None] = mapped_column(String(32))
    style: Mapped[str | None] = mapped_column(String(32))
    mode: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("image_generation.id"))
    original_image_url: Mapped[str] = mapped_column(Text)
    mask_url: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str | None] = mapped_column(Text)
    result_image_url: Mapped[str | None] = mapped_column(Text)
    provider_request_id: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submit_token: Mapped[str | None] = mapped_column(String(64))
    submit_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    request_status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default="pending"
    )
    cost_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A photo of an image project (and every edit of it): the project and the photo's place.
    image_project_id: Mapped[str | None] = mapped_column(ForeignKey("image_project.id"))
    project_order: Mapped[int | None] = mapped_column(Integer)


class ProviderPlace(Base):
    """One request's place in the provider budget (`resources.repository.places`): waiting
    (`granted_at` empty) or held, and kept alive by its holder's heartbeat (`expires_at`)."""

    __tablename__ = "provider_place"
    __table_args__ = (Index("ix_provider_place_provider", "provider", "granted_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(Text)
    workspace_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    project_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    granted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderBudget(Base):
    """One row per provider: every grant of its places happens under this row's lock."""

    __tablename__ = "provider_budget"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(Base, Timestamps):
    """One event for the app's webhook (`resources.repository.outbox`): written with the status
    change it tells of, delivered at least once. Its id is the payload's stable `event_id`."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        Index("ix_webhook_event_due", "status", "next_attempt_at"),
        Index("ix_webhook_event_row", "row_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProgressEvent(Base):
    """One thing that happened to a row, in order (`resources.repository.feed`): its progress,
    a clip finished, a status change. Written with the change; read by the live event stream
    (`studio events serve`), whose event ids these are."""

    __tablename__ = "progress_event"
    __table_args__ = (Index("ix_progress_event_row", "row_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    row_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
