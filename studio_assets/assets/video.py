"""Video clips (one per room) and AI transitions between rooms, fanned out per project."""

import tempfile
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from resources.compile_plan import FRAMES
from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.keys import video_key
from resources.models import MusicTrack, VideoClip, VideoProject
from resources.provider.base import GenerationJob, Kind, ProviderResource
from resources.repository import ledger, rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.assets.run_config import GENERATION_TIMEOUT_S, VideoRunConfig
from studio_assets.domain.motion import NEGATIVE_PROMPT, TRANSITION_PROMPT, clip_prompt
from studio_assets.domain.rooms import room_label
from studio_assets.domain.video_plan import (
    CLIP_PROGRESS,
    TRANSITION_PROGRESS,
    estimate,
    runnable_transitions,
    span,
)
from studio_assets.domain.wording import plural
from studio_assets.partitions import video_projects
from studio_assets.runtime.failures import row_fails_with_step
from studio_assets.runtime.fanout import ItemResult, ItemRetry, fan_out
from studio_assets.runtime.generation import Outcome, generate_once
from studio_assets.runtime.metadata import clip_table
from studio_assets.runtime.photos import (
    FramedInput,
    fetch_image,
    fetch_photo,
    record_photo_warnings,
)
from studio_assets.runtime.progress import ProjectTracker
from studio_assets.runtime.projects import Project, billed_cents, load_project
from studio_assets.runtime.row_validation import check_music, check_project_rows

INFRA_RETRY = dg.RetryPolicy(
    max_retries=1, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)
ITEM_RETRY = ItemRetry(attempts=2, base_delay_s=2.0, max_delay_s=30.0)


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
    """One 5-second AI clip per room photo, up to `max_concurrency` at a time, each bought once."""
    project_id = context.partition_key
    tracker = ProjectTracker(context, app_db, "video", project_id)
    with row_fails_with_step(
        context, app_db, "video", project_id, INFRA_RETRY.max_retries, webhooks
    ):
        project = load_project(app_db, project_id)
        track = check_project_rows(app_db, project.row, project.clips)  # as `studio submit` does
        provider.check_ready()
        model = provider.model_for(Kind.IMAGE_TO_VIDEO)
        cost = estimate(model, project.clips, project.row.generate_native_audio)
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
            completed_clip_count=_count_done(app_db, project_id),
        )
        with tempfile.TemporaryDirectory(prefix="studio-clips-") as tmp:
            results, warnings = _generate_clips(
                context, config, app_db, storage, provider, project, track, tracker, Path(tmp)
            )
        succeeded = [r for r in results if r.value is not None]
        if not succeeded:
            raise dg.Failure(
                description="All clip generations failed: "
                + "; ".join(f"clip {r.item.sequence_order + 1}: {r.error}" for r in results)[:1500],
                allow_retries=False,
            )
        clips = load_project(app_db, project_id).clips
        bought = sum(r.value.cost_cents for r in succeeded if r.value and r.value.bought_now)
        return dg.MaterializeResult(
            metadata={
                "clips": dg.MetadataValue.int(total),
                "completed_clips": dg.MetadataValue.int(len(succeeded)),
                "failed_clips": dg.MetadataValue.int(total - len(succeeded)),
                "reused_clips": dg.MetadataValue.int(
                    sum(1 for r in succeeded if r.value and not r.value.bought_now)
                ),
                "estimated_cost_cents": dg.MetadataValue.int(cost.total_cents),
                "cost_cents": dg.MetadataValue.int(bought),
                "provider": provider.name,
                "model": model,
                "photo_warnings": dg.MetadataValue.json(warnings),
                "clip_table": clip_table(
                    clips, {r.item.id: (r.value.how, r.value.seconds) for r in succeeded if r.value}
                ),
            }
        )


Buy = Callable[[ledger.Slot, str, GenerationJob, str, Path], Outcome]


def _buyer(
    context: dg.AssetExecutionContext,
    config: VideoRunConfig,
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    project: VideoProject,
    tracker: ProjectTracker,
) -> Buy:
    """`buy(slot, row_id, job, name, workdir)`: one clip or transition of this project, stored
    under the project's `name` and paid for at most once (see `generate_once`)."""

    def buy(
        slot: ledger.Slot, row_id: str, job: GenerationJob, name: str, workdir: Path
    ) -> Outcome:
        return generate_once(
            db=db,
            slot=slot,
            row_id=row_id,
            provider=provider,
            storage=storage,
            job=job,
            key=video_key(project.workspace_id, project.id, name),
            owner=context.run.run_id,
            workdir=workdir,
            timeout_s=GENERATION_TIMEOUT_S,
            force=config.forced(row_id),
            on_update=lambda msg: context.log.info(f"{job.label}: {msg}"),
            should_stop=tracker.stop,
        )

    return buy


def _generate_clips(
    context: dg.AssetExecutionContext,
    config: VideoRunConfig,
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    project: Project,
    track: MusicTrack | None,
    tracker: ProjectTracker,
    workdir: Path,
) -> tuple[list[ItemResult[VideoClip, Outcome]], list[str]]:
    """The clips, bought with bounded concurrency; and the warnings about their photos."""
    row, clips = project.row, project.clips
    buy = _buyer(context, config, db, storage, provider, row, tracker)
    labels = {c.id: c.room_label or room_label(c.room_type) for c in clips}
    next_label = {a.id: labels[b.id] for a, b in zip(clips, clips[1:], strict=False)}
    # Every photo (and the music) is fetched and decoded before the first clip is bought: one
    # broken input refuses the project at no cost.
    inputs = {clip.id: _fetch_inputs(storage, clip, workdir, row) for clip in clips}
    if track is not None:
        check_music(storage, track, row.workspace_id, workdir)
    warnings = [
        f"clip {clip.sequence_order + 1} ({labels[clip.id]}): {photo.framed.warning}"
        for clip in clips
        for photo in dict.fromkeys(inputs[clip.id])
        if photo.framed.warning
    ]
    record_photo_warnings(storage, row, warnings)
    for warning in warnings:
        context.log.warning(warning)

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
            label=f"clip {clip.sequence_order + 1} ({labels[clip.id]})",
            width=FRAMES[row.aspect_ratio][0],
            height=FRAMES[row.aspect_ratio][1],
        )
        return buy(ledger.CLIP, clip.id, job, f"clips/{clip.id}.mp4", workdir / clip.id)

    def on_done(result: ItemResult[VideoClip, Outcome]) -> None:
        if result.error is not None:
            _record_failure(db, ledger.CLIP, result.item.id, result.error)
            context.log.warning(f"clip {result.item.id} failed: {result.error}")
        done = _count_done(db, row.id)
        cost = billed_cents(db, row.id)
        tracker.report(
            "generating",
            span(CLIP_PROGRESS, done, len(clips)),
            f"Generated {done} of {plural(len(clips), 'clip')}",
            cost_cents=cost,
            completed_clip_count=done,
            actual_cost=cost,
        )

    results = fan_out(
        make_clip,
        clips,
        max_workers=provider.max_concurrency,
        retry=ITEM_RETRY,
        on_done=on_done,
        on_retry=lambda c, n, msg: context.log.warning(
            f"clip {c.id} attempt {n} failed, retrying: {msg}"
        ),
        stop=tracker.stop,
    )
    return results, warnings


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
    """A 5-second AI move between consecutive rooms marked `seamless` whose clips both exist;
    a failed transition is recorded and the compile cuts there instead."""
    project_id = context.partition_key
    tracker = ProjectTracker(context, app_db, "video", project_id)
    with row_fails_with_step(
        context, app_db, "video", project_id, INFRA_RETRY.max_retries, webhooks
    ):
        project = load_project(app_db, project_id)
        row, pairs = project.row, runnable_transitions(project.clips)
        tracker.report(
            "generating", TRANSITION_PROGRESS[0], f"Generating {plural(len(pairs), 'transition')}…"
        )
        buy = _buyer(context, config, app_db, storage, provider, row, tracker)
        with tempfile.TemporaryDirectory(prefix="studio-transitions-") as tmp:
            workdir = Path(tmp)

            def make_transition(pair: tuple[VideoClip, VideoClip]) -> Outcome:
                first, second = pair
                pair_dir = workdir / first.id
                pair_dir.mkdir(exist_ok=True)
                job = GenerationJob(
                    kind=Kind.IMAGE_TO_VIDEO,
                    transition=True,
                    prompt=TRANSITION_PROMPT,
                    negative_prompt=NEGATIVE_PROMPT,
                    image=fetch_image(
                        storage,
                        first.end_image_url or first.source_image_url,
                        pair_dir,
                        "from",
                        row,
                    ),
                    end_image=fetch_image(storage, second.source_image_url, pair_dir, "to", row),
                    duration_s=5,
                    generate_audio=False,
                    label=f"transition {first.sequence_order + 1}→{second.sequence_order + 2}",
                    width=FRAMES[row.aspect_ratio][0],
                    height=FRAMES[row.aspect_ratio][1],
                )
                return buy(
                    ledger.TRANSITION, first.id, job, f"transitions/{first.id}.mp4", pair_dir
                )

            finished = [0]

            def on_done(result: ItemResult[tuple[VideoClip, VideoClip], Outcome]) -> None:
                finished[0] += 1
                if result.error is not None:
                    _record_failure(app_db, ledger.TRANSITION, result.item[0].id, result.error)
                    context.log.warning(
                        f"transition after {result.item[0].id} failed, "
                        f"the compile will cut there: {result.error}"
                    )
                cost = billed_cents(app_db, project_id)
                tracker.report(
                    "generating",
                    span(TRANSITION_PROGRESS, finished[0], len(pairs)),
                    f"Generated {finished[0]} of {plural(len(pairs), 'transition')}",
                    cost_cents=cost,
                    actual_cost=cost,
                )

            results = fan_out(
                make_transition,
                pairs,
                max_workers=provider.max_concurrency,
                retry=ITEM_RETRY,
                on_done=on_done,
                stop=tracker.stop,
            )
        clips = load_project(app_db, project_id).clips
        return dg.MaterializeResult(
            metadata={
                "transitions": dg.MetadataValue.int(len(pairs)),
                "completed_transitions": dg.MetadataValue.int(
                    sum(1 for r in results if r.value is not None)
                ),
                "cost_cents": dg.MetadataValue.int(
                    sum(r.value.cost_cents for r in results if r.value and r.value.bought_now)
                ),
                "transition_table": clip_table(
                    [a for a, _ in pairs] or clips[:0],
                    {r.item[0].id: (r.value.how, r.value.seconds) for r in results if r.value},
                    transitions=True,
                ),
            }
        )


def _record_failure(db: AppDatabase, slot: ledger.Slot, row_id: str, message: str) -> None:
    db.patiently(lambda session: ledger.give_up(session, slot, row_id, message))


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


def _count_done(db: AppDatabase, project_id: str) -> int:
    clips = db.patiently(lambda session: rows.clips(session, project_id))
    return sum(1 for c in clips if c.status == "completed")
