"""An image project's results as one ZIP, streamed: each photo's latest finished version.

Entries are `NNN-{name}.{ext}` in project order (`001-IMG_0412.jpg`); photos with no finished
version are listed in `MISSING.txt` rather than dropped. Every photo is copied from storage
(local disk or S3) to the archive in chunks, so a 100-photo project is never held in memory;
`out` may be any writable binary stream (a file, an HTTP response), seekable or not.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from resources.database import AppDatabase
from resources.errors import NotFound, StudioError
from resources.keys import image_project_key, plain_name
from resources.models import ImageGeneration, ImageProject
from resources.repository import image_projects, rows
from resources.storage import StorageResource
from studio_assets.app.image_projects import photo_name

CHUNK = 1024 * 1024
MISSING = "MISSING.txt"


@dataclass(frozen=True)
class Entry:
    name: str
    uri: str
    modified: datetime | None


@dataclass
class Archive:
    """What a ZIP holds: the photos' entries and the photos left out, with why."""

    project: ImageProject
    entries: list[Entry]
    missing: list[str] = field(default_factory=list)


def default_file_name(project: ImageProject, today: date | None = None) -> str:
    """`{project}-{YYYY-MM-DD}.zip`: the project's name made safe for a file name."""
    stem = plain_name(project.name) or project.id
    return f"{stem}-{(today or date.today()).isoformat()}.zip"


def plan(db: AppDatabase, project_id: str) -> Archive:
    """The entries of the project's ZIP; refused while no photo has a finished version."""
    with db.session() as session:
        project = rows.get(session, ImageProject, project_id)
        photos = image_projects.photos(session, project_id)
        latest = image_projects.latest_completed(session, project_id)
    archive = Archive(project, [])
    for order, photo in enumerate(photos):
        stem = f"{order + 1:03d}-{photo_name(photo)}"
        if (done := latest.get(order)) is not None and done.result_image_url:
            name = f"{stem}.{_extension(done.result_image_url)}"
            archive.entries.append(Entry(name, done.result_image_url, done.updated_at))
        else:
            archive.missing.append(f"{stem}: {_why_missing(photo)}")
    if not archive.entries:
        raise StudioError(
            f"{project_id} has no finished photo yet (it is {project.status}): nothing to zip"
        )
    return archive


def write_zip(storage: StorageResource, archive: Archive, out: BinaryIO) -> Archive:
    """Stream `archive` into `out`; a photo whose file is gone from storage is listed in
    MISSING.txt. Returns the archive as written."""
    written = Archive(archive.project, [], list(archive.missing))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for entry in archive.entries:
            try:
                source = storage.open_stream(entry.uri)
            except NotFound:
                written.missing.append(f"{entry.name}: its file is gone from storage")
                continue
            with source as src, zf.open(_info(entry), "w") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            written.entries.append(entry)
        if written.missing:
            zf.writestr(_info(Entry(MISSING, "", None)), _missing_text(written))
    return written


def save_zip(storage: StorageResource, archive: Archive, path: Path) -> Archive:
    """Write the ZIP to `path` atomically: a crash leaves no half-written archive there."""
    if path.is_dir():
        raise StudioError(f"cannot write the ZIP to {path}: it is a folder (name a file in it)")
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:  # the umask's permissions, as any file the user writes
            written = write_zip(storage, archive, out)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StudioError(f"cannot write the ZIP to {path}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def upload_zip(db: AppDatabase, storage: StorageResource, project: ImageProject, path: Path) -> str:
    """Store a written ZIP next to the project and record it (`zip_url`); its URI."""
    key = image_project_key(project.workspace_id, project.id, default_file_name(project))
    uri = storage.put_file(key, path, "application/zip")
    with db.session() as session:
        rows.get(session, ImageProject, project.id).zip_url = uri
    return uri


def _extension(uri: str) -> str:
    suffix = PurePosixPath(urlsplit(uri).path).suffix.lower().lstrip(".")
    return suffix if suffix in ("jpg", "jpeg", "png", "webp") else "jpg"


def _why_missing(photo: ImageGeneration) -> str:
    if photo.status == rows.RowStatus.FAILED:
        return f"failed: {photo.error_message or 'no reason recorded'}"
    return f"not finished ({photo.status})"


def _info(entry: Entry) -> zipfile.ZipInfo:
    moment = entry.modified or datetime.now(UTC)
    info = zipfile.ZipInfo(entry.name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # photos are compressed already
    return info


def _missing_text(archive: Archive) -> str:
    lines = [
        f"{len(archive.missing)} photo(s) of {archive.project.name!r} have no finished version "
        "and are not in this ZIP:",
        "",
        *archive.missing,
    ]
    return "\n".join(lines) + "\n"
