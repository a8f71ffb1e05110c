"""Where a project's videos are stored: each render in its own folder (`renders/{submission}/`),
so an edit's re-render never overwrites the videos the row still names; once the row names
the new ones, the renders it no longer names are deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from resources.database import AppDatabase
from resources.keys import video_folder, video_key
from resources.models import VideoProject
from resources.renditions import Rendered
from resources.repository import rows
from resources.storage import StorageResource
from studio_assets.domain.publishing import RenditionSpec

LOG = dg.get_dagster_logger("studio.outputs")


def store(
    storage: StorageResource, row: VideoProject, n: int, spec: RenditionSpec, done: Rendered
) -> dict[str, Any]:
    """The first rendition is `final.mp4` (the video of the contract), the others by key; a
    preview's are `preview…` beside them; all in this submission's render folder."""
    suffix = "" if n == 0 else f"-{spec.key}"
    video_name, thumb_name = (
        ("preview", "preview-thumbnail") if row.preview else ("final", "thumbnail")
    )

    def put(name: str, path: Path, content_type: str) -> str:
        key = video_key(row.workspace_id, row.id, f"renders/{row.submission}/{name}")
        return storage.put_file(key, path, content_type)

    made = {
        "aspect_ratio": spec.aspect_ratio,
        "branded": spec.branded,
        "video_url": put(f"{video_name}{suffix}.mp4", done.video, "video/mp4"),
        "thumbnail_url": put(f"{thumb_name}{suffix}.jpg", done.thumbnail, "image/jpeg"),
        "duration_seconds": round(done.duration_s, 2),
    }
    if done.captions is not None:
        captions = f"{video_name}-captions-{spec.key}.vtt"
        made["captions_url"] = put(captions, done.captions, "text/vtt")
    return made


def prune_renders(db: AppDatabase, storage: StorageResource, project_id: str) -> None:
    """Delete the renders the row no longer names (its videos and its preview's stay). A
    failure is logged, not raised: the new videos are already the row's."""
    with db.session() as session:
        row = rows.get(session, VideoProject, project_id)
        named = {
            storage.key_of(uri)
            for made in [*(row.outputs or []), *(row.preview_outputs or [])]
            for field in ("video_url", "thumbnail_url", "captions_url")
            if (uri := made.get(field))
        }
        folder = video_folder(row.workspace_id, row.id) + "renders/"
    try:
        storage.delete_keys([key for key in storage.keys_under(folder) if key not in named])
    except Exception as exc:
        LOG.warning(f"{project_id}: old renders not deleted ({type(exc).__name__}: {exc})")
