"""A video project as a step reads it: its row and clips, and what they were billed."""

from __future__ import annotations

from dataclasses import dataclass

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.models import VideoClip, VideoProject
from resources.provider.base import ProviderResource
from resources.provider.local import REQUEST_PREFIX, LocalProvider
from resources.repository import ledger, rows


@dataclass(frozen=True)
class Project:
    row: VideoProject
    clips: list[VideoClip]


def load_project(db: AppDatabase, project_id: str) -> Project:
    with db.session() as session:
        project = rows.get(session, VideoProject, project_id)
        clips = rows.clips(session, project_id)
    if not clips:
        raise InputRejected("Video project has zero clips configured")
    return Project(project, clips)


def engine_for(row: VideoProject, provider: ProviderResource) -> ProviderResource:
    """What makes the project's clips: the configured provider, or for a preview the offline
    engine (free; `approve` resets those clips so the provider makes them for real)."""
    return LocalProvider() if row.preview else provider


def drop_preview_clips(db: AppDatabase, project: Project, provider: ProviderResource) -> Project:
    """A previewed project now bought for real (`approve`, or the app's own UPDATE): the clips
    and transitions the free engine made for the preview are forgotten, so `provider` makes
    each once. Nothing to do for a preview itself, or when the provider is the free engine."""
    row = project.row
    if row.preview or not row.preview_outputs or provider.name == LocalProvider().name:
        return project
    with db.session() as session:
        for clip in project.clips:
            for slot in (ledger.CLIP, ledger.TRANSITION):
                ledger.drop_free(session, slot, clip.id, REQUEST_PREFIX)
    return load_project(db, row.id)


def billed_cents(db: AppDatabase, project_id: str) -> int:
    """What the finished clips, transitions, narration lines and script rewrites of this
    project were billed, in cents."""
    clips = db.patiently(lambda session: rows.clips(session, project_id))
    lines = db.patiently(lambda session: rows.narration_lines(session, project_id))
    scripts = db.patiently(lambda session: rows.narration_scripts(session, project_id))
    return (
        sum(
            (c.cost_cents if c.status == "completed" else 0)
            + (c.transition_cost_cents if c.transition_status == "completed" else 0)
            for c in clips
        )
        + sum(line.cost_cents for line in lines if line.status == "completed")
        + sum(script.cost_cents for script in scripts if script.status == "completed")
    )
