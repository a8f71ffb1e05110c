"""Video clips (one per room) and AI transitions between rooms, fanned out per project."""

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from resources.compile_plan import FRAMES
from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.models import MusicTrack, VideoClip, VideoProject
from resources.provider.base import GenerationJob, Kind, ProviderResource
from resources.repository import ledger, rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.assets.run_config import VideoRunConfig
from studio_assets.domain.motion import NEGATIVE_PROMPT, TRANSITION_PROMPT, clip_prompt
from studio_assets.domain.rooms import room_label
from studio_assets.domain.video_plan import (
    CLIP_PROGRESS,
    TRANSITION_PROGRESS,
    estimate,
    planned_transitions,
    runnable_transitions,
)
from studio_assets.domain.wording import plural
from studio_assets.partitions import video_projects
from studio_assets.runtime.buying import Buy, buyer
from studio_assets.runtime.failures import row_fails_with_step
from studio_assets.runtime.generation import Outcome
from studio_assets.runtime.photos import (
    FramedInput,
    fetch_image,
    fetch_photo,
    record_photo_warnings,
)
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.projects import (
    Project,
    drop_preview_clips,
    engine_for,
    load_project,
)
from studio_assets.runtime.renditions import fetch_logo
from studio_assets.runtime.row_validation import check_music, check_project_rows, stored_spec
from studio_assets.runtime.slots import (
    Followers,
    SlotBatch,
    bought_now,
    buy_batch,
    clips_billed,
    completed,
    slot_table,
)

INFRA_RETRY = dg.RetryPolicy(
    max_retries=1, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)


@dg.asset(
    partitions_def=video_projects,
    retry_policy=INFRA_RETRY,
    group_name="video",
    kinds={"fal", "video"},
)
def video_clips(
    context: dg.AssetExecutionContext,
    config: VideoRunConfig,
    app_db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
) -> dg.MaterializeResult:
    """One 5-second AI clip per room photo, and each seamless transition as soon as both its
    clips exist, up to `max_concurrency` at a time, each bought once."""
    project_id = context.partition_key
    tracker = Tracker(context, app_db, "video", project_id)
    with row_fails_with_step(
        context, app_db, "video", project_id, INFRA_RETRY.max_retries, webhooks
    ):
        project = load_project(app_db, project_id)
        track = check_project_rows(app_db, project.row, project.clips)  # as `studio submit` does
        project = drop_preview_clips(app_db, project, provider)
        paid, provider = provider, engine_for(project.row, provider)  # a preview: free engine
        provider.check_ready()
        model = paid.model_for(Kind.IMAGE_TO_VIDEO)  # the estimate is what approving costs
        spec = stored_spec(app_db, project.row, project.clips)
        cost = estimate(
            model,
            project.clips,
            project.row.generate_native_audio,
            spoken=spec.paid_lines(),
            speech_model=paid.model_for(Kind.SPEECH),
            writer_model=paid.model_for(Kind.SCRIPT) if spec.rewrites() else "",
        )
        with app_db.session() as session:
            rows.start(session, VideoProject, project_id, context.run.run_id, "generating")
        total = len(project.clips)
        tracker.report(
            "starting",
            5,
            "Starting video generation…",
            clip_count=total,
            estimated_cost=cost.total_cents,
        )
        tracker.report(
            "generating",
            CLIP_PROGRESS[0],
            f"Generating {plural(total, 'clip')}…",
            completed_clip_count=sum(1 for c in project.clips if c.status == "completed"),
        )
        with tempfile.TemporaryDirectory(prefix="studio-clips-") as tmp:
            workdir = Path(tmp)
            buy = buyer(context, config.forced, app_db, storage, provider, project.row, tracker)
            batch, warnings = _clip_batch(context, app_db, storage, project, track, buy, workdir)
            pairs = planned_transitions(project.clips)
            moves = _transition_batch(storage, project.row, buy, workdir, pairs, CLIP_PROGRESS)
            bought = buy_batch(
                batch, tracker, provider.max_concurrency, Followers(moves, _as_clips_exist(pairs))
            )
        results = bought.items
        succeeded = [r for r in results if r.value is not None]
        if not succeeded:
            raise dg.Failure(
                description="All clip generations failed: "
                + "; ".join(f"clip {r.item.sequence_order + 1}: {r.error}" for r in results)[:1500],
                allow_retries=False,
            )
        return dg.MaterializeResult(
            metadata={
                "clips": dg.MetadataValue.int(total),
                "completed_clips": dg.MetadataValue.int(len(succeeded)),
                "failed_clips": dg.MetadataValue.int(total - len(succeeded)),
                "reused_clips": dg.MetadataValue.int(
                    sum(1 for r in succeeded if r.value and not r.value.bought_now)
                ),
                "estimated_cost_cents": dg.MetadataValue.int(cost.total_cents),
                "transitions": dg.MetadataValue.int(len(pairs)),
                "completed_transitions": dg.MetadataValue.int(completed(bought.followers)),
                "cost_cents": dg.MetadataValue.int(
                    bought_now(results) + bought_now(bought.followers)
                ),
                "provider": provider.name,
                "template": project.row.template or "",
                "model": model,
                "photo_warnings": dg.MetadataValue.json(warnings),
                "clip_table": slot_table(batch, results),
                "transition_table": slot_table(moves, bought.followers),
            }
        )


def _clip_batch(
    context: dg.AssetExecutionContext,
    db: AppDatabase,
    storage: StorageResource,
    project: Project,
    track: MusicTrack | None,
    buy: Buy,
    workdir: Path,
) -> tuple[SlotBatch[VideoClip], list[str]]:
    """The project's clips as a batch to buy, once every input checked; and the warnings about
    their photos."""
    row, clips = project.row, project.clips
    labels = {c.id: c.room_label or room_label(c.room_type) for c in clips}
    next_label = {a.id: labels[b.id] for a, b in zip(clips, clips[1:], strict=False)}
    # Every photo (and the music) is fetched and decoded before the first clip is bought: one
    # broken input refuses the project at no cost.
    inputs = {clip.id: _fetch_inputs(storage, clip, workdir, row) for clip in clips}
    if track is not None:
        check_music(storage, track, row.workspace_id, workdir)
    fetch_logo(storage, row, workdir)
    warnings = [
        f"clip {clip.sequence_order + 1} ({labels[clip.id]}): {photo.framed.warning}"
        for clip in clips
        for photo in dict.fromkeys(inputs[clip.id])
        if photo.framed.warning
    ]
    record_photo_warnings(storage, row, warnings)
    for warning in warnings:
        context.log.warning(warning)

    def label(clip: VideoClip) -> str:
        return f"clip {clip.sequence_order + 1} ({labels[clip.id]})"

    def make_clip(clip: VideoClip) -> Outcome:
        start, end = (photo.media for photo in inputs[clip.id])
        job = GenerationJob(
            kind=Kind.IMAGE_TO_VIDEO,
            prompt=clip_prompt(
                clip.room_type,
                clip.motion_prompt,
                next_label.get(clip.id),
                row.generate_native_audio,
            ),
            negative_prompt=NEGATIVE_PROMPT,
            image=start,
            end_image=end,
            duration_s=clip.duration_seconds,
            generate_audio=row.generate_native_audio,
            label=label(clip),
            width=FRAMES[row.aspect_ratio][0],
            height=FRAMES[row.aspect_ratio][1],
        )
        return buy(ledger.CLIP, clip.id, job, f"clips/{clip.id}.mp4", workdir / clip.id)

    batch = SlotBatch(
        slot=ledger.CLIP,
        noun="clip",
        band=CLIP_PROGRESS,
        items=clips,
        slot_id=lambda clip: clip.id,
        label=label,
        buy=make_clip,
        billed_elsewhere=0,  # its transitions are bought with it
        counts_clips=True,
    )
    return batch, warnings


@dg.asset(
    partitions_def=video_projects,
    deps=[video_clips],
    retry_policy=INFRA_RETRY,
    group_name="video",
    kinds={"fal", "video"},
)
def transition_clips(
    context: dg.AssetExecutionContext,
    config: VideoRunConfig,
    app_db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
) -> dg.MaterializeResult:
    """A 5-second AI move between consecutive rooms marked `seamless` whose clips both exist
    (bought by `video_clips` as each pair's clips exist; here, what that left); a failed
    transition is recorded and the compile cuts there instead."""
    project_id = context.partition_key
    tracker = Tracker(context, app_db, "video", project_id)
    with row_fails_with_step(
        context, app_db, "video", project_id, INFRA_RETRY.max_retries, webhooks
    ):
        project = load_project(app_db, project_id)
        provider = engine_for(project.row, provider)
        row, pairs = project.row, runnable_transitions(project.clips)
        # Normally bought with the clips, each as soon as both its clips existed; what is left
        # here is one that failed there, or whose clips an earlier run made.
        left = [p for p in pairs if p[0].transition_status != ledger.SlotStatus.COMPLETED]
        if left:
            tracker.report(
                "generating",
                TRANSITION_PROGRESS[0],
                f"Generating {plural(len(left), 'transition')}…",
            )
        buy = buyer(context, config.forced, app_db, storage, provider, row, tracker)
        with tempfile.TemporaryDirectory(prefix="studio-transitions-") as tmp:
            batch = _transition_batch(storage, row, buy, Path(tmp), pairs, TRANSITION_PROGRESS)
            batch = dataclasses.replace(batch, billed_elsewhere=clips_billed(project.clips))
            results = buy_batch(batch, tracker, provider.max_concurrency).items
        return dg.MaterializeResult(
            metadata={
                "transitions": dg.MetadataValue.int(len(pairs)),
                "completed_transitions": dg.MetadataValue.int(completed(results)),
                "cost_cents": dg.MetadataValue.int(bought_now(results)),
                "transition_table": slot_table(batch, results),
            }
        )


Pair = tuple[VideoClip, VideoClip]


def _transition_batch(
    storage: StorageResource,
    row: VideoProject,
    buy: Buy,
    workdir: Path,
    pairs: list[Pair],
    band: tuple[int, int],
) -> SlotBatch[Pair]:
    """The AI moves between the pairs of rooms, as a batch to buy."""

    def label(pair: Pair) -> str:
        return f"transition {pair[0].sequence_order + 1}→{pair[1].sequence_order + 1}"

    def make_transition(pair: Pair) -> Outcome:
        first, second = pair
        pair_dir = workdir / f"transition-{first.id}"
        pair_dir.mkdir(exist_ok=True)
        job = GenerationJob(
            kind=Kind.IMAGE_TO_VIDEO,
            transition=True,
            prompt=TRANSITION_PROMPT,
            negative_prompt=NEGATIVE_PROMPT,
            image=fetch_image(
                storage, first.end_image_url or first.source_image_url, pair_dir, "from", row
            ),
            end_image=fetch_image(storage, second.source_image_url, pair_dir, "to", row),
            duration_s=5,
            generate_audio=False,
            label=label(pair),
            width=FRAMES[row.aspect_ratio][0],
            height=FRAMES[row.aspect_ratio][1],
        )
        return buy(ledger.TRANSITION, first.id, job, f"transitions/{first.id}.mp4", pair_dir)

    return SlotBatch(
        slot=ledger.TRANSITION,
        noun="transition",
        band=band,
        items=pairs,
        slot_id=lambda pair: pair[0].id,
        label=label,
        buy=make_transition,
        billed_elsewhere=0,
        if_failed=" (the compile will cut there)",
    )


def _as_clips_exist(pairs: list[Pair]) -> Callable[[VideoClip], list[Pair]]:
    """`ready(clip)`: the pairs the clip's success completes (both neighbours now exist). Every
    clip passes through the fan-out (a stored one at once), so each pair comes once."""
    done: set[str] = set()

    def ready(clip: VideoClip) -> list[Pair]:
        done.add(clip.id)
        return [(a, b) for a, b in pairs if clip.id in (a.id, b.id) and {a.id, b.id} <= done]

    return ready


def _fetch_inputs(
    storage: StorageResource, clip: VideoClip, workdir: Path, row: VideoProject
) -> tuple[FramedInput, FramedInput]:
    """The clip's start and end photos, fetched, decoded, normalised and fitted to the frame."""
    clip_dir = workdir / clip.id
    clip_dir.mkdir(exist_ok=True)
    try:
        start = fetch_photo(storage, clip.source_image_url, clip_dir, "start", row)
        if clip.end_image_url and clip.end_image_url != clip.source_image_url:
            return start, fetch_photo(storage, clip.end_image_url, clip_dir, "end", row)
    except InputRejected as exc:
        label = clip.room_label or room_label(clip.room_type)
        raise InputRejected(f"clip {clip.sequence_order + 1} ({label}, {clip.id}): {exc}") from None
    return start, start  # the tail image is the source unless the clip has its own end image
