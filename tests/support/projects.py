"""Helpers for video-project tests: a project of sample rooms, and reading it back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from resources.models import VideoClip, VideoProject
from resources.repository import rows
from studio_assets.app import submission
from studio_assets.app.samples import music_bed, room_photo
from studio_assets.assets.final_video import final_video
from studio_assets.assets.video import transition_clips, video_clips
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import parse_spec
from tests.support.studio_fixtures import Studio

VIDEO_ASSETS = [video_clips, transition_clips, final_video]
ROOMS = ("exterior", "living-room", "kitchen", "bedroom")


def make_project(
    studio: Studio,
    rooms: tuple[str, ...] = ROOMS[:3],
    seamless: tuple[int, ...] = (0,),
    audio: bool = True,
    music: bool = True,
    **extra: Any,
) -> str:
    """A project of sample rooms; `extra` adds to its spec (`narration=…`, `listing=…`)."""
    clips = []
    for i, room in enumerate(rooms):
        photo = room_photo(studio.tmp / f"{i}-{room}.jpg", room, (640, 360))
        clips.append(
            {
                "image": str(photo),
                "room_type": room,
                "transition": "seamless" if i in seamless else "cut",
            }
        )
    spec = {
        "name": "Test house",
        "aspect_ratio": "16:9",
        "generate_native_audio": audio,
        "clips": clips,
    }
    if music:
        spec["music"] = {"audio_url": str(music_bed(studio.tmp / "music.mp3", 6.0)), "volume": 40}
    spec.update(extra)
    return submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))


def spec_file(folder: Path, name: str, rooms: Sequence[str]) -> Path:
    """A spec file for a project of small room photos (640×360), one clip per room, as a user
    would write one for the CLI: `folder/spec.json`, photos beside it."""
    spec = {
        "name": name,
        "clips": [
            {"image": str(room_photo(folder / f"{r}.jpg", r, (640, 360))), "room_type": r}
            for r in rooms
        ],
    }
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def run(
    studio: Studio, project_id: str, provider: Any = None, config: dict[str, Any] | None = None
) -> dg.ExecuteInProcessResult:
    if provider is not None:
        studio.provider = provider
    return studio.materialize(VIDEO_ASSETS, "video_projects", project_id, config)


def project(studio: Studio, project_id: str) -> VideoProject:
    with studio.db.session() as session:
        return rows.get(session, VideoProject, project_id)


def clips(studio: Studio, project_id: str) -> list[VideoClip]:
    with studio.db.session() as session:
        return rows.clips(session, project_id)


def video_of(row: VideoProject) -> Path:
    return Path(row.final_video_url.removeprefix("file://"))
