"""Rows written straight into the app DB, checked exactly as the CLI checks a spec.

The language-neutral launch path (an app inserts rows and sets `status='queued'`) skips the
CLI's validation, so the first step of every job turns the rows back into the spec models and
validates them with the same rules — and fetches and decodes every input — before anything is
bought. A refusal is an `InputRejected` naming the row, the clip and the column; it costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.ffmpeg import FFmpegError, probe
from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.storage import StorageResource
from studio_assets.domain.project_spec import ProjectSpec, priority_name
from studio_assets.domain.rooms import INPAINT_REMOVE, inpaint_prompt
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, parse_spec

MAX_MUSIC_BYTES = 200 * 1024 * 1024

# Spec fields whose app-DB column has another name: the message names the column the app wrote.
CLIP_COLUMNS = {
    "image": "source_image_url",
    "end_image": "end_image_url",
    "transition": "transition_type",
    "duration": "duration_seconds",
}
PROJECT_COLUMNS = {"music": "music_track_id", "music.volume": "music_volume"}
IMAGE_COLUMNS = {"image": "original_image_url", "mask": "mask_url"}

S = TypeVar("S", bound=BaseModel)
Where = Callable[[tuple[int | str, ...]], str]


def check_project_rows(
    db: AppDatabase, row: VideoProject, clips: list[VideoClip]
) -> MusicTrack | None:
    """Refuse the project's rows as `studio submit` would refuse its spec; its music track."""
    track = _track(db, row)
    project_spec_of(row, clips, track)
    return track


def stored_spec(db: AppDatabase, row: VideoProject, clips: list[VideoClip]) -> ProjectSpec:
    """The spec the project's rows stand for (refused as `studio submit` would refuse it)."""
    return project_spec_of(row, clips, _track(db, row))


def _track(db: AppDatabase, row: VideoProject) -> MusicTrack | None:
    if not row.music_track_id:
        return None
    with db.session() as session:
        return session.get(MusicTrack, row.music_track_id)


def project_spec_of(
    row: VideoProject, clips: list[VideoClip], track: MusicTrack | None
) -> ProjectSpec:
    """The spec these rows stand for; refuses what `studio submit` would have refused."""
    if row.music_track_id and track is None:
        raise InputRejected(f"music_track_id: track {row.music_track_id!r} does not exist")
    spec = spec_data(row, clips)
    for clip in spec["clips"]:
        del clip["id"]

    def where(loc: tuple[int | str, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "clips" and isinstance(loc[1], int):
            field = ".".join(str(p) for p in loc[2:])
            clip = clips[loc[1]]
            return f"clip {loc[1] + 1} ({clip.id}) {CLIP_COLUMNS.get(field, field)}".strip()
        dotted = ".".join(str(p) for p in loc)
        return PROJECT_COLUMNS.get(dotted, dotted)

    return _parsed(ProjectSpec, spec, f"video project {row.id}", where)


def spec_data(row: VideoProject, clips: list[VideoClip]) -> dict[str, Any]:
    """The spec data these rows stand for, each clip with its row's `id` (`editing` keeps
    clips by it)."""
    music = None
    if row.music_track_id:
        music = {"track_id": row.music_track_id, "volume": row.music_volume}
    return {
        "name": row.name,
        "workspace_id": row.workspace_id,
        "aspect_ratio": row.aspect_ratio,
        "generate_native_audio": bool(row.generate_native_audio),
        "music": music,
        "listing": row.listing,
        "branding": row.branding,
        "renditions": row.renditions,
        "narration": row.narration,
        "preview": bool(row.preview),
        "priority": priority_name(row.priority or 0),
        "clips": [
            {
                "id": clip.id,
                "image": clip.source_image_url,
                "end_image": clip.end_image_url,
                "room_type": clip.room_type,
                "room_label": clip.room_label,
                "motion_prompt": clip.motion_prompt,
                "transition": clip.transition_type,
                "duration": clip.duration_seconds,
            }
            for clip in clips
        ],
    }


def image_spec_of(row: ImageGeneration) -> EnhanceSpec | InpaintSpec:
    """The enhance or inpaint spec this row stands for."""
    if row.kind == "inpaint":
        spec: dict[str, object] = {
            "image": row.original_image_url,
            "mask": row.mask_url or "",
            "mode": row.mode,
            "prompt": _inpaint_request(row.mode, row.prompt),
            "workspace_id": row.workspace_id,
        }
        return _parsed(InpaintSpec, spec, f"image {row.id}", _image_column)
    spec = {
        "image": row.original_image_url,
        "room_type": row.room_type or "other",
        "style": row.style or "natural",
        "prompt": row.prompt,
        "workspace_id": row.workspace_id,
    }
    return _parsed(EnhanceSpec, spec, f"image {row.id}", _image_column)


def check_music(
    storage: StorageResource, track: MusicTrack, workspace_id: str, workdir: Path
) -> None:
    """The track must be the workspace's or the library's, and decode as audio: found now, not
    after the clips are bought."""
    path = storage.fetch_input(
        track.audio_url, workdir / "music-check", workspace_id, MAX_MUSIC_BYTES, library=True
    )
    try:
        info = probe(path)
    except FFmpegError:
        info = None
    finally:
        path.unlink(missing_ok=True)
    if info is None or not info.has_audio:
        raise InputRejected(f"music track {track.id!r} ({track.name}) is not an audio file")


def _inpaint_request(mode: str | None, stored: str | None) -> str | None:
    """The caller's words in a prompt `studio image inpaint` built around them (so its length is
    checked as the CLI checked it); a prompt an app wrote itself is checked as it is."""
    if not stored or mode not in ("remove", "add"):
        return stored
    words = stored.removeprefix(INPAINT_REMOVE).strip() if mode == "remove" else ""
    if mode == "add" and stored.startswith("Add "):
        words = stored.removeprefix("Add ").partition(" in the masked area, ")[0]
    return (words or None) if inpaint_prompt(mode, words or None) == stored else stored


def _image_column(loc: tuple[int | str, ...]) -> str:
    dotted = ".".join(str(p) for p in loc)
    return IMAGE_COLUMNS.get(dotted, dotted)


def _parsed(model: type[S], spec: dict[str, object], what: str, where: Where) -> S:
    try:
        return parse_spec(model, spec, where)
    except InputRejected as exc:
        raise InputRejected(f"{what} is invalid as stored in the app DB: {exc}") from None
