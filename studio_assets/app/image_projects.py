"""Image projects: a listing's photos submitted together, and the project's status JSON.

Each photo is an ordinary `enhance` row of `image_generation` linked to the project, so the
image sensor launches it as a partition of `enhanced_image` under the image queue limit, and
every door that works on an image works on it. The project's status follows its photos
(`resources.repository.image_projects`).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.keys import plain_name
from resources.models import ImageGeneration, ImageProject
from resources.provider.pricing import price_cents
from resources.repository import image_projects, rows
from resources.storage import StorageResource
from studio_assets.app.events import row_events
from studio_assets.app.submission import checked_uri, is_uri, local_image, new_id, upload
from studio_assets.domain.image_project_spec import (
    MAX_PHOTOS,
    AddedPhotos,
    ImageProjectSpec,
    PhotoSpec,
)
from studio_assets.domain.project_spec import PRIORITIES, priority_name
from studio_assets.domain.rooms import enhancement_prompt

ID_PREFIX = "ip"


def submit_image_project(
    db: AppDatabase,
    storage: StorageResource,
    spec: ImageProjectSpec,
    draft: bool = False,
    model: str = "",
) -> str:
    """Check every photo, then upload them, then write the project and its photos in one
    transaction (queued unless a draft). `model` is the image model that will run them: its
    price × the photos is the estimate. A refused photo leaves no row and no upload."""
    staged = _staged(storage, spec.workspace_id, spec.photos)
    project_id = new_id(ID_PREFIX)
    with db.session() as session:
        rows.add(
            session,
            ImageProject(
                id=project_id,
                workspace_id=spec.workspace_id,
                name=spec.name,
                style=spec.style,
                priority=PRIORITIES[spec.priority],
                image_count=len(spec.photos),
                estimated_cost=price_cents(model) * len(spec.photos),
                label=f"Draft: {len(spec.photos)} photos, not launched",
            ),
        )
        session.flush()
        _add_photos(session, rows.get(session, ImageProject, project_id), staged, 0, draft)
    return project_id


def add_photos(
    db: AppDatabase,
    storage: StorageResource,
    project_id: str,
    added: AddedPhotos,
    draft: bool = False,
    model: str = "",
) -> list[str]:
    """Photos added to an image project, after its own (checked and uploaded first, then
    written in one transaction), in the project's style and workspace; queued unless `draft`.
    The project's estimate grows by their price. Their ids."""
    with db.session() as session:
        project = rows.get(session, ImageProject, project_id)
        have = len(image_projects.photos(session, project_id))
    if have + len(added.photos) > MAX_PHOTOS:
        raise InputRejected(
            f"{project_id} has {have} photos: {len(added.photos)} more would pass the "
            f"{MAX_PHOTOS}-photo limit"
        )
    staged = _staged(storage, project.workspace_id, added.photos)
    with db.session() as session:
        project = rows.get(session, ImageProject, project_id)
        project.estimated_cost += price_cents(model) * len(added.photos)
        return _add_photos(session, project, staged, have, draft)


Staged = list[tuple[PhotoSpec, str]]


def _staged(storage: StorageResource, ws: str, photos: list[PhotoSpec]) -> Staged:
    """Every photo checked (a URI in the workspace, a local file that decodes), then each
    uploaded: a refused photo leaves no upload."""
    checked = [
        checked_uri(storage, ws, p.image, what) if is_uri(p.image) else local_image(p.image, what)
        for what, p in ((f"photo {i + 1} image", p) for i, p in enumerate(photos))
    ]
    urls = [c if isinstance(c, str) else upload(storage, ws, c) for c in checked]
    return list(zip(photos, urls, strict=True))


def _add_photos(
    session: Session, project: ImageProject, staged: Staged, first: int, draft: bool
) -> list[str]:
    """The photos' rows at `first`, `first + 1`, … of the project, queued unless `draft`."""
    photo_ids = [new_id("img") for _ in staged]
    for order, (photo_id, (photo, url)) in enumerate(zip(photo_ids, staged, strict=True), first):
        rows.add(
            session,
            ImageGeneration(
                id=photo_id,
                workspace_id=project.workspace_id,
                kind="enhance",
                room_type=photo.room_type,
                style=project.style,
                original_image_url=url,
                prompt=enhancement_prompt(photo.room_type, project.style, photo.prompt),
                image_project_id=project.id,
                project_order=order,
                priority=project.priority,
            ),
        )
    session.flush()
    for photo_id in photo_ids:
        if not draft:
            rows.queue(session, ImageGeneration, photo_id)
    image_projects.follow(session, project.id)
    return photo_ids


def photo_ids(
    db: AppDatabase, project_id: str, statuses: tuple[str, ...] | None = None
) -> list[str]:
    """The project's photos in order (those in `statuses`, if given); NotFound for no project."""
    with db.session() as session:
        rows.get(session, ImageProject, project_id)
        return [
            p.id
            for p in image_projects.photos(session, project_id)
            if statuses is None or p.status in statuses
        ]


def photo_name(photo: ImageGeneration) -> str:
    """A photo's name as its owner knows it: the file name it was submitted with, without the
    extension (`IMG_0412`), made safe for a file name; the room type if it has none."""
    path = PurePosixPath(unquote(urlsplit(photo.original_image_url).path))
    return plain_name(path.stem) or photo.room_type or "photo"


def image_project_status(
    db: AppDatabase, storage: StorageResource, project_id: str
) -> dict[str, Any]:
    """The status JSON's shared shape, plus `photos`: each photo's status and latest result."""
    with db.session() as session:
        project = rows.get(session, ImageProject, project_id)
        photos = image_projects.photos(session, project_id)
        latest = image_projects.latest_completed(session, project_id)
        listed = [_photo_status(storage, p, latest.get(order)) for order, p in enumerate(photos)]
        ended = sum(1 for p in photos if p.status in rows.TERMINAL)
        moving = sum(p.progress for p in photos if p.status not in rows.TERMINAL)
        results = [entry["result_image_url"] for entry in listed if entry["result_image_url"]]
        output = None
        if results:
            zip_url = storage.downloadable_url(project.zip_url) if project.zip_url else None
            output = {"image_urls": results, "zip_url": zip_url}
        return {
            "id": project.id,
            "kind": "image_project",
            "name": project.name,
            "style": project.style,
            "workspace_id": project.workspace_id,
            "priority": priority_name(project.priority),
            "status": project.status,
            "progress": {
                "completed": project.completed_count,
                "total": project.image_count,
                "percentage": round((100 * ended + moving) / max(len(photos), 1)),
            },
            "output": output,
            "cost": {
                "estimated_cents": project.estimated_cost,
                "actual_cents": project.actual_cost,
            },
            "error": project.error_message,
            "step": project.step,
            "label": project.label,
            "run_id": None,
            "warnings": [],
            "photos": listed,
            "webhooks": row_events(session, project_id),
        }


def _photo_status(
    storage: StorageResource, photo: ImageGeneration, latest: ImageGeneration | None
) -> dict[str, Any]:
    result = storage.downloadable_url(latest.result_image_url or "") if latest else None
    return {
        "id": photo.id,
        "order": int(photo.project_order or 0) + 1,
        "name": photo_name(photo),
        "room_type": photo.room_type,
        "status": photo.status,
        "progress": photo.progress,
        "error": photo.error_message,
        "result_image_url": result,
        "latest_version": {"id": latest.id, "version": latest.version} if latest else None,
        "cost_cents": photo.cost_cents,
    }
