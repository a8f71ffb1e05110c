"""The status JSON the app and the CLI read (DESIGN.md §3.4)."""

from __future__ import annotations

from typing import Any

from resources.database import AppDatabase
from resources.models import ImageGeneration, VideoClip, VideoProject
from resources.repository import rows
from resources.storage import StorageResource
from studio_assets.app.events import row_events
from studio_assets.app.image_projects import image_project_status
from studio_assets.app.narration_status import narration_status
from studio_assets.domain.project_spec import priority_name
from studio_assets.runtime.photos import photo_warnings

FREE = ["preview", "cards", "renditions", "loudness"]
"""What a project's estimate does not charge for: it is all made by studio itself."""


def _link(storage: StorageResource, uri: str | None) -> str | None:
    return storage.downloadable_url(uri) if uri else None


def image_status(db: AppDatabase, storage: StorageResource, image_id: str) -> dict[str, Any]:
    """The video's shape where it applies (`progress` as an object, `output`, `step`, `label`,
    `run_id`) plus the image contract's own fields (`kind`, `result_image_url`, `cost_cents`,
    `version`, `parent_id`)."""
    with db.session() as session:
        row = rows.get(session, ImageGeneration, image_id)
        result = _link(storage, row.result_image_url)
        done = row.status == "completed"
        return {
            "id": row.id,
            "kind": row.kind,
            "status": row.status,
            "progress": {"completed": int(done), "total": 1, "percentage": row.progress},
            "output": {"image_url": result} if result else None,
            "error": row.error_message,
            "step": row.step,
            "label": row.label,
            "run_id": row.run_id,
            "warnings": [],
            "result_image_url": result,
            "cost_cents": row.cost_cents,
            "version": row.version,
            "parent_id": row.parent_id,
            "image_project_id": row.image_project_id,
            "webhooks": row_events(session, image_id),
        }


def video_status(
    db: AppDatabase, storage: StorageResource, project_id: str, offline: bool = False
) -> dict[str, Any]:
    """`offline`: the provider is the free engine (it speaks every line with its own voice)."""
    with db.session() as session:
        row = rows.get(session, VideoProject, project_id)
        output = None
        if row.final_video_url:
            output = {
                "video_url": _link(storage, row.final_video_url),
                "thumbnail_url": _link(storage, row.thumbnail_url),
                "duration_seconds": row.duration_seconds,
                "renditions": _renditions(storage, row.outputs),
            }
        return {
            "id": row.id,
            "name": row.name,
            "template": row.template,
            "workspace_id": row.workspace_id,
            "priority": priority_name(row.priority),
            "status": row.status,
            "progress": {
                "completed": row.completed_clip_count,
                "total": row.clip_count,
                "percentage": row.progress,
            },
            "output": output,
            "cost": {
                "estimated_cents": row.estimated_cost,
                "actual_cents": row.actual_cost,
                "included_free": FREE,  # the estimate prices the clips and transitions only
            },
            "error": row.error_message,
            "step": row.step,
            "label": row.label,
            "run_id": row.run_id,
            "warnings": photo_warnings(storage, row),
            "preview": _preview(storage, row),
            "clips": [_clip(storage, clip) for clip in rows.clips(session, project_id)],
            "edit": row.last_edit,
            "webhooks": row_events(session, project_id),
            "narration": narration_status(
                offline,
                row,
                rows.clips(session, project_id),
                rows.narration_scripts(session, project_id),
            ),
        }


def _clip(storage: StorageResource, clip: VideoClip) -> dict[str, Any]:
    """A clip as an edit names it (`{"id": …}` keeps it) and its generation's state."""
    return {
        "id": clip.id,
        "order": clip.sequence_order + 1,
        "room_type": clip.room_type,
        "room_label": clip.room_label,
        "transition": clip.transition_type,
        "status": clip.status,
        "video_url": _link(storage, clip.clip_url) if clip.status == "completed" else None,
        "transition_status": clip.transition_status,
    }


def _preview(storage: StorageResource, row: VideoProject) -> dict[str, Any] | None:
    """The free preview's renditions (`previewed`, and kept after `approve` for comparison)."""
    if not row.preview_outputs:
        return None
    return {"renditions": _renditions(storage, row.preview_outputs)}


def _renditions(
    storage: StorageResource, made: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Rendition records with their storage URIs turned into links."""
    return [
        {
            **one,
            "video_url": _link(storage, one["video_url"]),
            "thumbnail_url": _link(storage, one["thumbnail_url"]),
            **(
                {"captions_url": _link(storage, one["captions_url"])}
                if "captions_url" in one
                else {}
            ),
        }
        for one in made or []
    ]


def status_of(
    db: AppDatabase, storage: StorageResource, row_id: str, offline: bool = False
) -> dict[str, Any]:
    """The status JSON of a video project, an image or an image project, whichever `row_id` is."""
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
    if kind == "video":
        return video_status(db, storage, row_id, offline)
    if kind == "image_project":
        return image_project_status(db, storage, row_id)
    return image_status(db, storage, row_id)
