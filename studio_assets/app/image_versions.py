"""A photo's versions: one of them downloaded alone, and an older one edited again with its
newer versions replaced (their rows and files deleted)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from resources.database import AppDatabase
from resources.errors import NotFound, StudioError
from resources.keys import plain_name
from resources.models import ImageGeneration
from resources.repository import image_projects, removal, rows
from resources.storage import StorageResource
from studio_assets.app import deleting


def versions(db: AppDatabase, image_id: str) -> list[ImageGeneration]:
    """Every version of the photo `image_id` is a version of (its first, and all made from it),
    oldest first."""
    with db.session() as session:
        chain = image_projects.photo_versions(session, image_id)
    return sorted(chain, key=lambda row: (row.version, row.created_at, row.id))


def version_of(db: AppDatabase, image_id: str, version: int | None = None) -> ImageGeneration:
    """`image_id` itself, or version `version` of its photo (the newest made with that
    number)."""
    chain = versions(db, image_id)
    if version is None:
        return next(row for row in chain if row.id == image_id)
    made = [row for row in chain if row.version == version]
    if not made:
        have = ", ".join(f"v{row.version} ({row.id})" for row in chain)
        raise NotFound(f"{image_id} has no version {version}; its versions: {have}")
    return made[-1]


def download(
    db: AppDatabase,
    storage: StorageResource,
    image_id: str,
    version: int | None,
    output: Path | None,
) -> tuple[ImageGeneration, Path]:
    """Version `version` (default: `image_id` itself) written to `output` (default
    `{name}-v{n}.jpg` here), replaced only when complete."""
    row = version_of(db, image_id, version)
    if row.status != "completed" or not row.result_image_url:
        raise StudioError(f"{row.id} (v{row.version}) is {row.status}: it has no result yet")
    original = PurePosixPath(unquote(urlsplit(versions(db, row.id)[0].original_image_url).path))
    suffix = PurePosixPath(urlsplit(row.result_image_url).path).suffix or ".jpg"
    name = plain_name(original.stem) or row.room_type or "photo"
    path = (output or Path(f"{name}-v{row.version}{suffix}")).expanduser()
    if path.is_dir():
        raise StudioError(f"cannot write to {path}: it is a folder (name a file in it)")
    partial = path.with_name(f".{path.name}.part")
    try:
        storage.fetch(row.result_image_url, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return row, path


def newer_than(db: AppDatabase, image_id: str) -> list[str]:
    """The versions made from `image_id`, checked deletable (refused while one is running)."""
    with db.session() as session:
        image = rows.get(session, ImageGeneration, image_id)
        children = [
            row
            for row in image_projects.with_newer_versions(session, image)
            if row.parent_id == image_id
        ]
        for child in children:
            removal.owned(session, child.id, with_newer=True)
    return [child.id for child in children]


def replace_newer(db: AppDatabase, storage: StorageResource, image_ids: list[str]) -> None:
    """Delete these versions and everything made from them (rows and files)."""
    for image_id in image_ids:
        deleting.delete_item(db, storage, image_id, with_newer=True)
