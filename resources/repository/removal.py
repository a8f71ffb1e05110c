"""Deleting an item's rows: what a video project, an image (with its newer versions) or an
image project owns in the app DB, which of its inputs another row still reads, and the removal
itself in one transaction (children before parents).

An item owns: a video project its clips, narration lines and scripts, provider places and its
own music track (a `custom` one no other project plays); an image its newer versions when asked;
an image project every photo and every version of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from resources.errors import StudioError
from resources.models import (
    ImageGeneration,
    ImageProject,
    LedgerSlot,
    MusicTrack,
    NarrationLine,
    NarrationScript,
    ProviderPlace,
    VideoClip,
    VideoProject,
)
from resources.repository import image_projects, rows
from resources.repository.statuses import RowStatus

BUSY = (RowStatus.QUEUED, RowStatus.PROCESSING, RowStatus.GENERATING, RowStatus.COMPILING)
"""A row in one of these is (or is about to be) worked on: deleting it is refused."""


@dataclass
class Owned:
    """What deleting one item removes from the app DB, and what it read and wrote."""

    kind: str
    workspace_id: str
    projects: list[str] = field(default_factory=list)  # video projects
    images: list[str] = field(default_factory=list)  # image generations, newest first
    image_projects: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)  # custom music tracks no one else plays
    inputs: set[str] = field(default_factory=set)  # URIs its rows read (photos, masks, logos…)
    outputs: set[str] = field(default_factory=set)  # URIs its rows name outside its folders
    tokens: set[str] = field(default_factory=set)  # its paid slots' submit tokens
    touched_project: str | None = None  # an image project one of whose photos goes


def owned(session: Session, row_id: str, with_newer: bool = False) -> Owned:
    """What deleting `row_id` removes; refused while it (or a part of it) is busy, and for an
    image with newer versions unless `with_newer`."""
    kind = rows.find_kind(session, row_id)
    if kind == "video":
        return _video(session, rows.get(session, VideoProject, row_id))
    if kind == "image_project":
        return _image_project(session, rows.get(session, ImageProject, row_id))
    return _image(session, rows.get(session, ImageGeneration, row_id), with_newer)


def _refuse_busy(row_id: str, status: str, what: str = "") -> None:
    if status in BUSY:
        raise StudioError(
            f"{row_id}{what} is {status}: cancel it first (`studio cancel`), or delete with "
            "`--cancel`"
        )


def _video(session: Session, project: VideoProject) -> Owned:
    _refuse_busy(project.id, project.status)
    item = Owned("video", project.workspace_id, projects=[project.id])
    for clip in rows.clips(session, project.id):
        item.inputs |= {u for u in (clip.source_image_url, clip.end_image_url) if u}
        item.outputs |= {u for u in (clip.clip_url, clip.transition_clip_url) if u}
        item.tokens |= {t for t in (clip.submit_token, clip.transition_submit_token) if t}
    slots: list[LedgerSlot] = [
        *rows.narration_lines(session, project.id),
        *rows.narration_scripts(session, project.id),
    ]
    item.tokens |= {slot.submit_token for slot in slots if slot.submit_token}
    if project.branding and project.branding.get("logo"):
        item.inputs.add(str(project.branding["logo"]))
    track = session.get(MusicTrack, project.music_track_id) if project.music_track_id else None
    own = track is not None and track.category == "custom"
    if track is not None and own and not _played_elsewhere(session, track.id, project.id):
        item.tracks.append(track.id)
        item.inputs.add(track.audio_url)
    return item


def _played_elsewhere(session: Session, track_id: str, project_id: str) -> bool:
    return (
        session.scalar(
            select(VideoProject.id).where(
                VideoProject.music_track_id == track_id, VideoProject.id != project_id
            )
        )
        is not None
    )


def _image(session: Session, image: ImageGeneration, with_newer: bool) -> Owned:
    chain = image_projects.with_newer_versions(session, image)
    newer = [row for row in chain if row.id != image.id]
    if newer and not with_newer:
        listed = ", ".join(f"{row.id} (v{row.version})" for row in newer[:5])
        raise StudioError(
            f"{image.id} has newer versions ({listed}): delete with `--with-newer` to delete "
            "them too, or delete the newest first"
        )
    for row in chain:
        _refuse_busy(row.id, row.status, "" if row is image else f" (newer than {image.id})")
    project_id = image.image_project_id
    last = project_id and len(image_projects.photos(session, project_id)) == 1
    if last and image.parent_id is None:
        raise StudioError(f"{image.id} is the last photo of {project_id}: delete the project")
    item = Owned("image", image.workspace_id, touched_project=project_id)
    _add_images(item, sorted(chain, key=lambda row: -row.version))
    project = session.get(ImageProject, project_id) if project_id else None
    item.outputs |= {project.zip_url} if project is not None and project.zip_url else set()
    return item


def _add_images(item: Owned, images: list[ImageGeneration]) -> None:
    for row in images:
        item.images.append(row.id)
        item.inputs |= {u for u in (row.original_image_url, row.mask_url) if u}
        item.outputs |= {row.result_image_url} if row.result_image_url else set()
        item.tokens |= {row.submit_token} if row.submit_token else set()


def versions(session: Session, project_id: str) -> list[ImageGeneration]:
    """Every version of every photo of an image project."""
    return list(
        session.scalars(
            select(ImageGeneration).where(ImageGeneration.image_project_id == project_id)
        )
    )


def _image_project(session: Session, project: ImageProject) -> Owned:
    every = versions(session, project.id)
    for row in every:
        _refuse_busy(project.id, row.status, f"'s photo {row.id}")
    item = Owned("image_project", project.workspace_id, image_projects=[project.id])
    _add_images(item, sorted(every, key=lambda row: -row.version))
    item.outputs |= {project.zip_url} if project.zip_url else set()
    return item


def still_read(session: Session, uri: str, item: Owned) -> bool:
    """Whether a row that stays reads `uri` (an input two items share is kept)."""
    clip = select(VideoClip.id).where(
        or_(VideoClip.source_image_url == uri, VideoClip.end_image_url == uri),
        VideoClip.video_project_id.not_in(item.projects),
    )
    image = select(ImageGeneration.id).where(
        or_(
            ImageGeneration.original_image_url == uri,
            ImageGeneration.mask_url == uri,
            ImageGeneration.result_image_url == uri,
        ),
        ImageGeneration.id.not_in(item.images),
    )
    track = select(MusicTrack.id).where(
        MusicTrack.audio_url == uri, MusicTrack.id.not_in(item.tracks)
    )
    if any(session.scalar(query.limit(1)) is not None for query in (clip, image, track)):
        return True
    logos = session.scalars(
        select(VideoProject.branding).where(
            VideoProject.workspace_id == item.workspace_id,
            VideoProject.id.not_in(item.projects),
            VideoProject.branding.is_not(None),
        )
    )
    return any((branding or {}).get("logo") == uri for branding in logos)


def remove(session: Session, item: Owned) -> None:
    """Delete the item's rows, children first, in the caller's transaction; a photo's project
    is recounted (and its stored ZIP forgotten)."""
    deletes = [
        delete(NarrationLine).where(NarrationLine.video_project_id.in_(item.projects)),
        delete(NarrationScript).where(NarrationScript.video_project_id.in_(item.projects)),
        delete(VideoClip).where(VideoClip.video_project_id.in_(item.projects)),
        delete(ProviderPlace).where(
            ProviderPlace.project_id.in_([*item.projects, *item.image_projects, *item.images])
        ),
        delete(VideoProject).where(VideoProject.id.in_(item.projects)),
        delete(MusicTrack).where(MusicTrack.id.in_(item.tracks)),
    ]
    for statement in deletes:
        session.execute(statement)
    for image_id in item.images:  # newest first: a version before the one it was made from
        session.execute(delete(ImageGeneration).where(ImageGeneration.id == image_id))
    session.execute(delete(ImageProject).where(ImageProject.id.in_(item.image_projects)))
    if item.touched_project:
        _renumber(session, item.touched_project)
        image_projects.follow(session, item.touched_project)
        rows.tell(session, ImageProject, item.touched_project)


def _renumber(session: Session, project_id: str) -> None:
    """The project's photos numbered 0, 1, … again (a deleted photo leaves no gap), each
    photo's versions with it."""
    for place, photo in enumerate(image_projects.photos(session, project_id)):
        if photo.project_order != place:
            session.execute(
                update(ImageGeneration)
                .where(
                    ImageGeneration.image_project_id == project_id,
                    ImageGeneration.project_order == photo.project_order,
                )
                .values(project_order=place)
            )


def drop_clips(session: Session, clip_ids: list[str]) -> None:
    """An edit's dropped clips (their transitions are on their rows)."""
    session.execute(delete(VideoClip).where(VideoClip.id.in_(clip_ids)))


def drop_unplayed_track(session: Session, track_id: str) -> bool:
    """A project's own (`custom`) music track that no project plays any more; whether it went."""
    track = session.get(MusicTrack, track_id)
    if track is None or track.category != "custom" or _played_elsewhere(session, track_id, ""):
        return False
    session.delete(track)
    return True
