"""A video project as a step reads it: its row and clips, and what they were billed."""

from __future__ import annotations

from dataclasses import dataclass

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.models import VideoClip, VideoProject
from resources.repository import rows


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


def billed_cents(db: AppDatabase, project_id: str) -> int:
    """What the finished clips and transitions of this project were billed, in cents."""
    clips = db.patiently(lambda session: rows.clips(session, project_id))
    return sum(
        (c.cost_cents if c.status == "completed" else 0)
        + (c.transition_cost_cents if c.transition_status == "completed" else 0)
        for c in clips
    )
