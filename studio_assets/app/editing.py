"""`studio edit`: change a made project and re-render it, buying only what changed.

The patch is checked as a spec is (`ProjectSpec`), its new inputs uploaded, then the project's
columns, its clips (kept, moved, bought again, added, dropped) and the slots the edit makes
stale change in one transaction that also queues the re-render. The previous videos stay the
row's outputs until the re-render's are stored (`runtime.outputs`). Media only a dropped clip
or a replaced input used is deleted once the edit is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from resources.database import AppDatabase
from resources.errors import StudioError
from resources.models import MusicTrack, VideoClip, VideoProject
from resources.provider.pricing import price_cents
from resources.repository import ledger, removal, rows
from resources.storage import StorageResource
from studio_assets.app.deleting import keys_in_workspace
from studio_assets.app.submission import (
    check_music_input,
    check_uris,
    is_uri,
    local_image,
    new_id,
    stage_input,
    stage_music,
)
from studio_assets.domain.editing import EditPlan, patched, plan_edit
from studio_assets.domain.project_spec import PRIORITIES, ProjectSpec
from studio_assets.domain.validation import parse_spec
from studio_assets.domain.video_plan import estimate
from studio_assets.runtime.row_validation import spec_data
from studio_assets.runtime.speech import line_id


@dataclass(frozen=True)
class Models:
    """The provider's models an edit is priced with (`ProviderResource.model_for`)."""

    video: str = ""
    speech: str = ""
    writer: str = ""


@dataclass(frozen=True)
class Edit:
    plan: EditPlan
    buys_cents: int  # what the re-render will buy
    estimated_cents: int  # the whole project's price after the edit (as a new one)
    buys: list[str]

    def summary(self) -> dict[str, Any]:
        return {
            **self.plan.summary(),
            "buys": self.buys,
            "buys_cents": self.buys_cents,
            "estimated_cents": self.estimated_cents,
        }


def edit_project(
    db: AppDatabase,
    storage: StorageResource,
    project_id: str,
    patch: dict[str, Any],
    models: Models,
    dry_run: bool = False,
) -> Edit:
    """Apply `patch` (see `domain.editing`) and queue the re-render; with `dry_run` only say
    what it would buy. Refused while the project is queued or running."""
    with db.session() as session:
        row = rows.get(session, VideoProject, project_id)
        clips = rows.clips(session, project_id)
        lines_bought = {line.id for line in rows.narration_lines(session, project_id)}
    if row.status not in rows.EDITABLE:
        raise StudioError(f"{project_id} is {row.status}: edit it once it has ended (or cancel it)")
    before = spec_data(row, clips)
    after = patched(before, patch)
    spec = parse_spec(ProjectSpec, _without_ids(after))
    _check_new_inputs(db, storage, spec, after)
    made = {c.id for c in clips if c.transition_status == ledger.SlotStatus.COMPLETED}
    plan = plan_edit(before, after, made)
    edit = _priced(row, clips, after, spec, plan, models, lines_bought)
    if dry_run:
        return edit
    staged = _stage(db, storage, row, spec, after, patch)
    _write(db, row, spec, after, plan, staged, edit)
    _delete_unread(db, storage, row, _inputs_of(row, clips))
    return edit


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "clips": [{k: v for k, v in clip.items() if k != "id"} for clip in data["clips"]],
    }


def _check_new_inputs(
    db: AppDatabase, storage: StorageResource, spec: ProjectSpec, after: dict[str, Any]
) -> None:
    """What the edit brings in is checked before anything is uploaded, as at submit (a dry run
    too): a new clip's local photos decode, its URIs are the workspace's, the music plays."""
    for n, clip in enumerate(after["clips"]):
        for what, key in (("image", "image"), ("end image", "end_image")):
            if clip.get("id") is None and clip.get(key) and not is_uri(clip[key]):
                local_image(clip[key], f"clip {n + 1} {what}")
    check_uris(
        storage,
        spec.workspace_id,
        {
            f"clip {n + 1} {what}": clip.get(key)
            for n, clip in enumerate(after["clips"])
            if clip.get("id") is None
            for what, key in (("image", "image"), ("end image", "end_image"))
        },
    )
    check_music_input(db, storage, spec)


def _priced(
    row: VideoProject,
    clips: list[VideoClip],
    after: dict[str, Any],
    spec: ProjectSpec,
    plan: EditPlan,
    models: Models,
    lines_bought: set[str],
) -> Edit:
    """What the re-render buys: every clip and planned transition not bought (or bought
    again), each paid line not spoken yet, and the writer when its facts may have changed."""
    have_clip = {c.id for c in clips if c.status == ledger.SlotStatus.COMPLETED}
    have_clip -= set(plan.rebought)
    have_move = {c.id for c in clips if c.transition_status == ledger.SlotStatus.COMPLETED}
    have_move -= set(plan.transitions_reset)
    audio, new = spec.generate_native_audio, after["clips"]
    clip_buys, move_buys, cents = [], [], 0
    for n, (clip, wanted) in enumerate(zip(new, spec.ordered_clips(), strict=True)):
        if clip.get("id") not in have_clip:
            clip_buys.append(f"clip {n + 1} ({wanted.label})")
            cents += price_cents(models.video, seconds=wanted.duration, audio=audio)
        seamless = wanted.transition == "seamless" and n + 1 < len(new)
        if seamless and clip.get("id") not in have_move:
            move_buys.append(f"transition {n + 1}→{n + 2}")
            cents += price_cents(models.video, seconds=5, audio=False)
    buys = clip_buys + move_buys
    narration = spec.narration
    for text in spec.paid_lines() if narration is not None else []:
        if narration is not None and line_id(row.id, narration, text) not in lines_bought:
            buys.append(f"narration line {text[:40]!r}")
            cents += price_cents(models.speech, characters=len(text))
    if spec.rewrites() and _writer_facts(spec_data(row, clips)) != _writer_facts(after):
        buys.append("the script rewrite")
        cents += price_cents(models.writer)
    planned = [
        VideoClip(id=str(n), transition_type=c.transition, duration_seconds=c.duration)
        for n, c in enumerate(spec.ordered_clips())
    ]
    whole = estimate(
        models.video,
        planned,
        audio,
        spoken=spec.paid_lines(),
        speech_model=models.speech,
        writer_model=models.writer if spec.rewrites() else "",
    )
    return Edit(plan, cents, whole.total_cents, buys)


def _writer_facts(data: dict[str, Any]) -> list[Any]:
    """What the script writer is given (an edit of any of it asks the writer again)."""
    rooms = [(c["room_type"], c.get("room_label"), c.get("duration")) for c in data["clips"]]
    keys = ("name", "listing", "branding", "narration", "renditions")
    return [*(data.get(key) for key in keys), rooms]


@dataclass(frozen=True)
class _Staged:
    images: dict[int, tuple[str, str | None]]  # a new clip's place → its uploaded photos
    music_track_id: str | None
    branding: dict[str, Any] | None


def _stage(
    db: AppDatabase,
    storage: StorageResource,
    row: VideoProject,
    spec: ProjectSpec,
    after: dict[str, Any],
    patch: dict[str, Any],
) -> _Staged:
    """The edit's new inputs uploaded (new clips' photos, new music, a new logo)."""
    ws = spec.workspace_id
    images = {
        n: (
            stage_input(storage, ws, clip["image"], f"clip {n + 1} image"),
            stage_input(storage, ws, clip["end_image"], f"clip {n + 1} end image")
            if clip.get("end_image")
            else None,
        )
        for n, clip in enumerate(after["clips"])
        if clip.get("id") is None
    }
    track = stage_music(db, storage, spec) if "music" in patch else row.music_track_id
    branding = spec.branding.model_dump() if spec.branding else None
    logo = branding.get("logo") if branding else None
    if branding and logo and logo != (row.branding or {}).get("logo"):
        branding["logo"] = stage_input(storage, ws, logo, "branding logo")
    return _Staged(images, track, branding)


def _write(
    db: AppDatabase,
    row: VideoProject,
    spec: ProjectSpec,
    after: dict[str, Any],
    plan: EditPlan,
    staged: _Staged,
    edit: Edit,
) -> None:
    """The project's new columns and clips, the stale slots forgotten, the re-render queued:
    one transaction."""
    with db.session() as session:
        for n, (clip, wanted) in enumerate(zip(after["clips"], spec.ordered_clips(), strict=True)):
            columns = {
                "sequence_order": n,
                "room_type": wanted.room_type,
                "room_label": wanted.label,
                "motion_prompt": wanted.motion_prompt,
                "transition_type": wanted.transition,
                "duration_seconds": wanted.duration,
            }
            if clip.get("id") is None:
                image, end = staged.images[n]
                session.add(
                    VideoClip(
                        id=new_id("vc"),
                        video_project_id=row.id,
                        source_image_url=image,
                        end_image_url=end,
                        **columns,
                    )
                )
                continue
            kept = rows.get_clip(session, clip["id"])
            for name, value in columns.items():
                setattr(kept, name, value)
            kept.source_image_url, kept.end_image_url = clip["image"], clip.get("end_image")
        for clip_id in plan.rebought:
            ledger.reset(session, ledger.CLIP, clip_id)
        for clip_id in plan.transitions_reset:
            ledger.reset(session, ledger.TRANSITION, clip_id)
        removal.drop_clips(session, plan.dropped)
        session.flush()
        made = rows.clips(session, row.id)
        done = sum(1 for clip in made if clip.status == ledger.SlotStatus.COMPLETED)
        moved = rows.edited(
            session,
            row.id,
            name=spec.name,
            aspect_ratio=spec.aspect_ratio,
            generate_native_audio=spec.generate_native_audio,
            listing=spec.listing.model_dump() if spec.listing else None,
            branding=staged.branding,
            renditions=[r.model_dump() for r in spec.output_renditions()],
            narration=spec.narration.model_dump() if spec.narration else None,
            priority=PRIORITIES[spec.priority],
            music_track_id=staged.music_track_id,
            music_volume=spec.music.volume if spec.music else 50,
            clip_count=len(after["clips"]),
            completed_clip_count=done,
            estimated_cost=edit.estimated_cents,
            last_edit=edit.summary() | {"edited_at": datetime.now(UTC).isoformat()},
        )
        if not moved:
            raise StudioError(f"{row.id} started while it was being edited: nothing was changed")


def _inputs_of(row: VideoProject, clips: list[VideoClip]) -> set[str]:
    """Every stored URI the project's rows name now: its photos, its clips' media, its logo."""
    uris = {
        uri
        for clip in clips
        for uri in (
            clip.source_image_url,
            clip.end_image_url,
            clip.clip_url,
            clip.transition_clip_url,
        )
        if uri
    }
    logo = (row.branding or {}).get("logo")
    return uris | ({logo} if logo else set())


def _delete_unread(
    db: AppDatabase,
    storage: StorageResource,
    row: VideoProject,
    before: set[str],
) -> None:
    """What the project named before the edit and no row names now: a dropped clip's photos
    and media, a clip's or transition's media bought again, a replaced logo or music."""
    with db.session() as session:
        clips = rows.clips(session, row.id)
        project = rows.get(session, VideoProject, row.id)
        now = _inputs_of(project, clips)
        if row.music_track_id and row.music_track_id != project.music_track_id:
            track = session.get(MusicTrack, row.music_track_id)
            if track is not None and removal.drop_unplayed_track(session, track.id):
                before.add(track.audio_url)
        nobody = removal.Owned("edit", row.workspace_id)
        keys = [
            key
            for key in keys_in_workspace(storage, row.workspace_id, before - now)
            if not removal.still_read(session, storage.uri_for(key), nobody)
        ]
    storage.delete_keys(keys)
