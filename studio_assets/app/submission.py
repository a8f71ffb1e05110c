"""Turning a user's request into app-DB rows: validate first, upload inputs, then `queued`.

Nothing is written when validation fails, so a refused request leaves no row and no object.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from resources.compile_plan import FRAMES
from resources.database import AppDatabase
from resources.engine.photo import framing_for
from resources.errors import InputRejected
from resources.ffmpeg import audible
from resources.keys import plain_name, upload_key
from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.repository import image_projects, rows
from resources.storage import StorageResource
from studio_assets.domain.framing import tiny_photo_warning
from studio_assets.domain.project_spec import PRIORITIES, ClipSpec, ProjectSpec
from studio_assets.domain.rooms import enhancement_prompt, inpaint_prompt
from studio_assets.domain.validation import (
    DEFAULT_WORKSPACE,
    EnhanceSpec,
    InpaintSpec,
    check_mask,
    inspect_image,
)
from studio_assets.domain.video_plan import estimate
from studio_assets.runtime.photos import record_photo_warnings


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def is_uri(value: str) -> bool:
    return "://" in value


def stage_input(storage: StorageResource, workspace_id: str, value: str, what: str) -> str:
    """A local path is validated and uploaded to the workspace; a URI must already be in it.

    A `file://`/`s3://` URI outside the workspace's storage is refused here, before any row
    exists (tenant isolation, `StorageResource.check_input`); an http(s) URL is checked by the
    fetch guard when the run reads it.
    """
    if is_uri(value):
        return checked_uri(storage, workspace_id, value, what)
    return upload(storage, workspace_id, local_image(value, what))


def local_image(value: str, what: str) -> Path:
    """A local photo or mask that exists and decodes as a sane image."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputRejected(f"{what} not found: {value}")
    inspect_image(path, f"{what} {path.name}")
    return path


def upload(storage: StorageResource, workspace_id: str, path: Path) -> str:
    """Store a checked local input under the workspace's uploads, keeping its (plain) name."""
    suffix = plain_name(path.suffix.lower(), 8)
    stem = plain_name(path.stem, 100) or "input"
    return storage.put_file(
        upload_key(workspace_id, new_id("up"), f"{stem}.{suffix}".rstrip(".")), path
    )


def checked_uri(
    storage: StorageResource, workspace_id: str, uri: str, what: str, *, library: bool = False
) -> str:
    """`uri` if a row of `workspace_id` may read it; otherwise why not, naming the input."""
    try:
        storage.check_input(uri, workspace_id, library=library)
    except InputRejected as exc:
        hint = " (give a local path instead and it is uploaded)" if uri.startswith("file:") else ""
        raise InputRejected(f"{what}: {exc}{hint}") from None
    return uri


def check_uris(storage: StorageResource, workspace_id: str, inputs: dict[str, str | None]) -> None:
    """Every URI among `inputs` ({what: value}) checked before anything is uploaded."""
    for what, value in inputs.items():
        if value and is_uri(value):
            checked_uri(storage, workspace_id, value, what)


def _check_local_pair(image: str, mask: str) -> None:
    if not is_uri(image) and not is_uri(mask):
        check_mask(inspect_image(Path(mask), "mask"), inspect_image(Path(image), "image"))


def submit_enhance(
    db: AppDatabase, storage: StorageResource, spec: EnhanceSpec, draft: bool = False
) -> str:
    """Create an `enhance` row for `spec` and queue it (or leave it `draft`)."""
    return _add_image(
        db,
        draft,
        workspace_id=spec.workspace_id,
        kind="enhance",
        room_type=spec.room_type,
        style=spec.style,
        original_image_url=stage_input(storage, spec.workspace_id, spec.image, "image"),
        prompt=enhancement_prompt(spec.room_type, spec.style, spec.prompt),
    )


def submit_inpaint(
    db: AppDatabase, storage: StorageResource, spec: InpaintSpec, draft: bool = False
) -> str:
    """Create an `inpaint` row: a new version of the photo (or of an earlier generation)."""
    image, parent = _resolve_parent(db, spec)
    if parent is not None:
        spec = _in_workspace_of(parent, spec)
    _check_local_pair(image, spec.mask)
    check_uris(storage, spec.workspace_id, {"image": image, "mask": spec.mask})
    return _add_image(
        db,
        draft,
        workspace_id=spec.workspace_id,
        kind="inpaint",
        mode=spec.mode,
        original_image_url=stage_input(storage, spec.workspace_id, image, "image"),
        mask_url=stage_input(storage, spec.workspace_id, spec.mask, "mask"),
        prompt=inpaint_prompt(spec.mode, spec.prompt),
        **_chained_to(db, parent),
    )


def _add_image(db: AppDatabase, draft: bool, **columns: object) -> str:
    """One `image_generation` row, queued unless a draft; its id."""
    image_id = new_id("img")
    with db.session() as session:
        rows.add(session, ImageGeneration(id=image_id, **columns))
        if not draft:
            rows.queue(session, ImageGeneration, image_id)
    return image_id


def _resolve_parent(db: AppDatabase, spec: InpaintSpec) -> tuple[str, ImageGeneration | None]:
    """The image to edit and, when it is an earlier generation (by id), that generation: the
    edit chains a version onto it instead of overwriting it."""
    parent_id = spec.parent_id or (spec.image if spec.image.startswith("img_") else None)
    if parent_id is None:
        return spec.image, None
    with db.session() as session:
        parent = rows.get(session, ImageGeneration, parent_id)
    source = parent.result_image_url or parent.original_image_url
    return (spec.image if spec.image != parent_id else source), parent


def _in_workspace_of(parent: ImageGeneration, spec: InpaintSpec) -> InpaintSpec:
    """An edit belongs to its parent's workspace; naming another one (rather than leaving the
    default) is refused."""
    if spec.workspace_id not in (parent.workspace_id, DEFAULT_WORKSPACE):
        raise InputRejected(
            f"{parent.id} belongs to workspace {parent.workspace_id!r}, not {spec.workspace_id!r}"
        )
    return spec.model_copy(update={"workspace_id": parent.workspace_id})


def _chained_to(db: AppDatabase, parent: ImageGeneration | None) -> dict[str, Any]:
    """The version columns of an edit: its parent, its version (after the photo's newest: an
    edit of an older version is a new number too) and (for an image project's photo) the
    project and the photo's place in it."""
    if parent is None:
        return {"parent_id": None, "version": 1}
    with db.session() as session:
        newest = max(row.version for row in image_projects.photo_versions(session, parent.id))
    return {
        "parent_id": parent.id,
        "version": newest + 1,
        "image_project_id": parent.image_project_id,
        "project_order": parent.project_order,
    }


def submit_project(
    db: AppDatabase,
    storage: StorageResource,
    spec: ProjectSpec,
    draft: bool = False,
    model: str = "",
    speech_model: str = "",
    writer_model: str = "",
) -> str:
    """Create a project with its clips (and music), validated and uploaded, then `queued`.

    `model`, `speech_model` and `writer_model` are the video, speech and script models of the
    provider that will run it (`ProviderResource.model_for`):
    the project stores its estimate now, as the run will compute it, so a draft shows the price
    before anyone pays (models off the price table, such as the local engine's, cost 0)."""
    clips = spec.ordered_clips()
    check_uris(
        storage,
        spec.workspace_id,
        {
            f"clip {i + 1} {what}": value
            for i, c in enumerate(clips)
            for what, value in (("image", c.image), ("end image", c.end_image))
        },
    )
    check_music_input(db, storage, spec)
    logo = spec.branding.logo if spec.branding else None
    if logo and is_uri(logo):
        checked_uri(storage, spec.workspace_id, logo, "branding logo")
    elif logo:
        local_image(logo, "branding logo")
    staged = [
        (
            stage_input(storage, spec.workspace_id, c.image, f"clip {i + 1} image"),
            stage_input(storage, spec.workspace_id, c.end_image, f"clip {i + 1} end image")
            if c.end_image
            else None,
        )
        for i, c in enumerate(clips)
    ]
    branding = spec.branding.model_dump() if spec.branding else None
    if branding and logo:
        branding["logo"] = stage_input(storage, spec.workspace_id, logo, "branding logo")
    music_id = stage_music(db, storage, spec)
    project_id = new_id("vp")
    clip_rows = [
        VideoClip(
            id=new_id("vc"),
            video_project_id=project_id,
            sequence_order=order,
            source_image_url=image_url,
            end_image_url=end_url,
            room_type=clip.room_type,
            room_label=clip.label,
            motion_prompt=clip.motion_prompt,
            transition_type=clip.transition,
            duration_seconds=clip.duration,
        )
        for order, (clip, (image_url, end_url)) in enumerate(zip(clips, staged, strict=True))
    ]
    with db.session() as session:
        rows.add(
            session,
            VideoProject(
                id=project_id,
                workspace_id=spec.workspace_id,
                name=spec.name,
                aspect_ratio=spec.aspect_ratio,
                template=spec.template,
                listing=spec.listing.model_dump() if spec.listing else None,
                branding=branding,
                renditions=[r.model_dump() for r in spec.output_renditions()],
                narration=spec.narration.model_dump() if spec.narration else None,
                preview=spec.preview,
                priority=PRIORITIES[spec.priority],
                generate_native_audio=spec.generate_native_audio,
                music_track_id=music_id,
                music_volume=spec.music.volume if spec.music else 50,
                clip_count=len(clips),
                estimated_cost=estimate(
                    model,
                    clip_rows,
                    spec.generate_native_audio,
                    spoken=spec.paid_lines(),
                    speech_model=speech_model,
                    writer_model=writer_model if spec.rewrites() else "",
                ).total_cents,
            ),
        )
        for clip_row in clip_rows:
            rows.add(session, clip_row)
        if not draft:
            rows.queue(session, VideoProject, project_id)
    # What the run would warn about its photos, known now: a draft shows it before paying.
    shell = VideoProject(id=project_id, workspace_id=spec.workspace_id)
    record_photo_warnings(storage, shell, photo_warnings_now(clips, spec.aspect_ratio))
    return project_id


def photo_warnings_now(clips: list[ClipSpec], aspect_ratio: str) -> list[str]:
    """The run's tiny-photo warnings, for the photos given as local files."""
    frame, warnings = FRAMES[aspect_ratio], []
    for i, clip in enumerate(clips):
        if is_uri(clip.image):
            continue  # checked by the run, when it fetches it
        facts = inspect_image(Path(clip.image).expanduser())
        size = (facts.width, facts.height)
        if warning := tiny_photo_warning(size, frame, framing_for(size, frame)):
            warnings.append(f"clip {i + 1} ({clip.label}): {warning}")
    return warnings


def check_music_input(db: AppDatabase, storage: StorageResource, spec: ProjectSpec) -> None:
    """A music URI, or a library track's, must be the workspace's own or the shared library's;
    a local file must decode as audio (before anything is uploaded)."""
    if spec.music is None:
        return
    url = spec.music.audio_url or ""
    if spec.music.track_id:
        with db.session() as session:
            url = rows.get_music(session, spec.music.track_id).audio_url
    if is_uri(url):
        checked_uri(storage, spec.workspace_id, url, "music", library=True)
    elif spec.music.audio_url:
        path = Path(url).expanduser()
        if not path.is_file():
            raise InputRejected(f"music file not found: {url}")
        if problem := audible(path):
            raise InputRejected(f"music {path.name} {problem}: give an MP3, M4A, WAV or OGG file")


def stage_music(db: AppDatabase, storage: StorageResource, spec: ProjectSpec) -> str | None:
    if spec.music is None:
        return None
    if spec.music.track_id:
        with db.session() as session:
            return str(rows.get_music(session, spec.music.track_id).id)
    url = spec.music.audio_url or ""
    if not is_uri(url):  # checked by `check_music_input`
        path = Path(url).expanduser()
        url = storage.put_file(
            upload_key(spec.workspace_id, new_id("up"), "music" + (path.suffix or ".mp3")), path
        )
    track_id = new_id("mt")
    with db.session() as session:
        rows.add(
            session,
            MusicTrack(id=track_id, name=f"{spec.name} music", audio_url=url, category="custom"),
        )
    return track_id
