"""A project's photos as the provider gets them (fetched, checked, framed, stored), and what
the pipeline found wrong with them, kept for the status JSON.

`video_clips` records one line per flagged photo (a photo far below the frame's resolution)
when it reads the photos; `photo_warnings` reads them back, so the status JSON and the CLI can
show them without opening a photo. They live in storage next to the project's other inputs,
replaced on every run (an empty list once the photos are fine).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from resources.keys import video_key
from resources.models import VideoProject
from resources.provider.base import MediaInput
from resources.storage import StorageResource
from studio_assets.domain.framing import FramedPhoto, fit_to_frame
from studio_assets.domain.validation import inspect_image

log = dg.get_dagster_logger(__name__)

_NAME = "inputs/photo-warnings.json"
_MAX_BYTES = 1024 * 1024


def record_photo_warnings(
    storage: StorageResource, project: VideoProject, warnings: list[str]
) -> str:
    """Store `warnings` (one line each) as the project's photo warnings; their URI."""
    with tempfile.TemporaryDirectory(prefix="studio-warnings-") as tmp:
        path = Path(tmp) / "photo-warnings.json"
        path.write_text(json.dumps({"warnings": warnings}, ensure_ascii=False))
        key = video_key(project.workspace_id, project.id, _NAME)
        return storage.put_file(key, path, "application/json")


def photo_warnings(storage: StorageResource, project: VideoProject) -> list[str]:
    """The project's photo warnings as its last run recorded them ([] before any run)."""
    uri = storage.uri_for(video_key(project.workspace_id, project.id, _NAME))
    try:
        if not storage.exists(uri):
            return []
        with tempfile.TemporaryDirectory(prefix="studio-warnings-") as tmp:
            path = storage.fetch(uri, Path(tmp) / "photo-warnings.json", max_bytes=_MAX_BYTES)
            warnings = json.loads(path.read_text()).get("warnings", [])
    except Exception as exc:  # storage down, or a file not ours: the status must answer anyway
        log.warning(f"the photo warnings of {project.id} could not be read: {exc!r:.300}")
        return []
    return [str(w) for w in warnings] if isinstance(warnings, list) else []


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
