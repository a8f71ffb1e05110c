"""Rows written straight into the app DB, checked exactly as the CLI checks a spec.

The language-neutral launch path (an app inserts rows and sets `status='queued'`) skips the
CLI's validation, so the first step of every job turns the rows back into the spec models and
validates them with the same rules — and fetches and decodes every input — before anything is
bought. A refusal is an `InputRejected` naming the field; it costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from resources.errors import InputRejected
from resources.ffmpeg import FFmpegError, probe
from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.storage import StorageResource
from studio_assets.project_spec import ProjectSpec
from studio_assets.validation import EnhanceSpec, InpaintSpec, parse_spec

MAX_MUSIC_BYTES = 200 * 1024 * 1024


def project_spec_of(
    row: VideoProject, clips: list[VideoClip], track: MusicTrack | None
) -> ProjectSpec:
    """The spec these rows stand for; refuses what `studio submit` would have refused."""
    music = None
    if row.music_track_id:
        music = {"track_id": row.music_track_id, "volume": row.music_volume}
        if track is None:
            raise InputRejected(f"music: track {row.music_track_id!r} does not exist")
    spec = {
        "name": row.name,
        "workspace_id": row.workspace_id,
        "aspect_ratio": row.aspect_ratio,
        "generate_native_audio": bool(row.generate_native_audio),
        "music": music,
        "clips": [
            {
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
    return _parsed(ProjectSpec, spec, f"video project {row.id}")


def image_spec_of(row: ImageGeneration) -> EnhanceSpec | InpaintSpec:
    """The enhance or inpaint spec this row stands for."""
    if row.kind == "inpaint":
        spec: dict[str, object] = {
            "image": row.original_image_url,
            "mask": row.mask_url or "",
            "mode": row.mode,
            "prompt": row.prompt,
            "workspace_id": row.workspace_id,
        }
        return _parsed(InpaintSpec, spec, f"image {row.id}")
    spec = {
        "image": row.original_image_url,
        "room_type": row.room_type or "other",
        "style": row.style or "natural",
        "prompt": row.prompt,
        "workspace_id": row.workspace_id,
    }
    return _parsed(EnhanceSpec, spec, f"image {row.id}")


def check_music(storage: StorageResource, track: MusicTrack, workdir: Path) -> None:
    """The track must be there and decode as audio: found now, not after the clips are bought."""
    path = storage.fetch(track.audio_url, workdir / "music-check", MAX_MUSIC_BYTES)
    try:
        info = probe(path)
    except FFmpegError:
        info = None
    finally:
        path.unlink(missing_ok=True)
    if info is None or not info.has_audio:
        raise InputRejected(f"music track {track.id!r} ({track.name}) is not an audio file")


def _parsed(model: type, spec: dict[str, object], what: str):  # type: ignore[no-untyped-def]
    try:
        return parse_spec(model, spec)
    except InputRejected as exc:
        raise InputRejected(f"{what} is invalid as stored in the app DB: {exc}") from None
