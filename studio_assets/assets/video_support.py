"""What the three video assets share: run config, project loading, progress, clip inputs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.keys import video_key
from resources.models import VideoClip, VideoProject
from resources.provider.base import MediaInput
from resources.repository import rows
from resources.storage import StorageResource
from studio_assets.framing import FramedPhoto, fit_to_frame
from studio_assets.progress import Tracker
from studio_assets.validation import inspect_image

GENERATION_TIMEOUT_S = 900.0  # the old product gave up on a clip after 10 minutes


class VideoRunConfig(dg.Config):
    force: bool = False
    """Buy every clip (or transition) again, even the finished ones."""
    clip_ids: list[str] = []
    """Buy only these clips (or their transitions) again."""

    def forced(self, clip_id: str) -> bool:
        return self.force or clip_id in self.clip_ids


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


class ProjectTracker(Tracker):
    """A tracker safe to call from the fan-out's threads."""

    _lock = threading.Lock()

    def report(
        self,
        step: str,
        percent: int,
        label: str,
        cost_cents: int | None = None,
        **row_values: object,
    ) -> None:
        with self._lock:
            super().report(step, percent, label, cost_cents, **row_values)


@dataclass(frozen=True)
class FramedInput:
    """A photo as the provider gets it (framed, stored) and what framing it found."""

    media: MediaInput
    framed: FramedPhoto


def fetch_image(
    storage: StorageResource, uri: str, workdir: Path, name: str, project: VideoProject
) -> MediaInput:
    """`fetch_photo`'s media input."""
    return fetch_photo(storage, uri, workdir, name, project).media


def fetch_photo(
    storage: StorageResource, uri: str, workdir: Path, name: str, project: VideoProject
) -> FramedInput:
    """Fetch and validate a photo, normalise it and fit it to the project's frame (Kling has no
    aspect input): the one framing every provider gets.

    With remote storage the framed photo is stored next to the project and handed to the
    provider as a presigned URL, so the provider reads it from our bucket: no upload to it.
    """
    raw = storage.fetch_input(uri, workdir / f"{name}.raw", project.workspace_id)
    inspect_image(raw, f"{name} ({uri.rsplit('/', 1)[-1]})")
    framed = fit_to_frame(raw, workdir / f"{name}.jpg", project.aspect_ratio)
    raw.unlink(missing_ok=True)
    key = video_key(project.workspace_id, project.id, f"inputs/{workdir.name}-{name}.jpg")
    remote = storage.remote_url(storage.uri_for(key))
    if remote is None:
        return FramedInput(MediaInput(framed.path), framed)
    stored = storage.put_file(key, framed.path, "image/jpeg")
    return FramedInput(MediaInput(framed.path, storage.remote_url(stored)), framed)


def clip_table(
    clips: list[VideoClip], results: dict[str, tuple[str, float]], transitions: bool = False
) -> dg.TableMetadataValue:
    """Per-clip detail for Dagit: room, status, seconds, cost, request id."""
    records = []
    for clip in clips:
        how, seconds = results.get(clip.id, ("", 0.0))
        status = clip.transition_status if transitions else clip.status
        records.append(
            dg.TableRecord(
                {
                    "order": clip.sequence_order,
                    "room": clip.room_label or clip.room_type,
                    "status": status or "",
                    "how": how,
                    "seconds": round(seconds, 1),
                    "cost_cents": (clip.transition_cost_cents if transitions else clip.cost_cents)
                    or 0,
                    "request_id": (
                        clip.transition_request_id if transitions else clip.provider_request_id
                    )
                    or "",
                    "error": ((clip.transition_error if transitions else clip.error_message) or "")[
                        :200
                    ],
                }
            )
        )
    return dg.MetadataValue.table(
        records,
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("order", "int"),
                dg.TableColumn("room"),
                dg.TableColumn("status"),
                dg.TableColumn("how"),
                dg.TableColumn("seconds", "float"),
                dg.TableColumn("cost_cents", "int"),
                dg.TableColumn("request_id"),
                dg.TableColumn("error"),
            ]
        ),
    )


def billed_cents(db: AppDatabase, project_id: str) -> int:
    """What the finished clips and transitions of this project were billed, in cents."""
    clips = db.patiently(lambda session: rows.clips(session, project_id))
    return sum(
        (c.cost_cents if c.status == "completed" else 0)
        + (c.transition_cost_cents if c.transition_status == "completed" else 0)
        for c in clips
    )
