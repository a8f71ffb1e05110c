"""The final property video: clips and transitions joined, music mixed, its renditions made
with their cards, every one checked, stored."""

import math
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from resources.compile_plan import LOUDNESS_LUFS, CompilePlan, VoiceLine, plan_compile
from resources.compiler import CompileReport, compile_video
from resources.database import AppDatabase
from resources.ffmpeg import index_first, measure_loudness, probe
from resources.models import VideoClip, VideoProject
from resources.provider.base import ProviderResource
from resources.renditions import Rendered
from resources.repository import rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.assets.run_config import VideoRunConfig
from studio_assets.assets.video import transition_clips
from studio_assets.domain.publishing import RenditionSpec
from studio_assets.domain.video_plan import COMPILE_PROGRESS
from studio_assets.domain.wording import plural
from studio_assets.partitions import video_projects
from studio_assets.runtime.failures import row_fails_with_step
from studio_assets.runtime.metadata import inline_preview
from studio_assets.runtime.narration import Narrated, master_is_branded, narrate
from studio_assets.runtime.notifications import notify
from studio_assets.runtime.outputs import prune_renders, store
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.projects import billed_cents, load_project
from studio_assets.runtime.renditions import make_renditions, other_sounds, project_renditions
from studio_assets.runtime.row_validation import stored_spec
from studio_assets.runtime.script_writing import Writer, writer_for
from studio_assets.runtime.speech import Speaker, speaker_for

COMPILE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)
MAX_MEDIA_BYTES = 2 * 1024 * 1024 * 1024
PEAK_LIMITED_DBTP = -2.5  # a true peak this close to the -1.5 target: no louder without clipping
RENDER_S = 1800.0  # one rendition's encode: a 20-clip tour at 1080p on two cores
CHECKS = {
    "h264_video": "The MP4's video stream is H.264 (plays everywhere the app shows it).",
    "aac_audio": "The MP4 has an AAC audio stream (music or the clips' own sound, or silence).",
    "duration_matches_plan": "The measured duration is within 0.5 s of the compile plan's.",
    "thumbnail_present": "A non-empty thumbnail JPEG was made from the video.",
    "loudness_on_target": "The mix measures -14 ± 1 LUFS with a true peak at most -1 dBTP "
    "(or is silence).",
    "index_first": "The MP4's index (moov) precedes its media (mdat): it plays while it downloads.",
}
"""Checked before the video is stored: one that fails fails the row, naming it."""
READY = "Video ready!"


@dg.asset(
    partitions_def=video_projects,
    deps=[transition_clips],
    retry_policy=COMPILE_RETRY,
    group_name="video",
    kinds={"ffmpeg", "video"},
    check_specs=[
        dg.AssetCheckSpec(name, asset="final_video", description=text)
        for name, text in CHECKS.items()
    ],
)
def final_video(
    context: dg.AssetExecutionContext,
    config: VideoRunConfig,
    app_db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
) -> dg.MaterializeResult:
    """The finished H.264/AAC MP4s — one per rendition, cards included — with music at -14
    LUFS, narration, thumbnails and measured durations; for a preview, the same made free,
    `previewed`. A paid voice's lines are bought here, each once (`force`: all again)."""
    project_id = context.partition_key
    tracker = Tracker(context, app_db, "video", project_id)
    with row_fails_with_step(
        context, app_db, "video", project_id, COMPILE_RETRY.max_retries, webhooks
    ):
        project = load_project(app_db, project_id)
        row = project.row
        with app_db.session() as session:
            rows.start(
                session,
                VideoProject,
                project_id,
                context.run.run_id,
                rows.RowStatus.COMPILING,
                redo=True,
            )
        tracker.report("compiling", COMPILE_PROGRESS[0], "Compiling final video…")
        with tempfile.TemporaryDirectory(prefix="studio-compile-") as tmp:
            workdir = Path(tmp)
            narrator = None
            if row.narration:
                tracker.report("compiling", 80, "Speaking the narration…")
                buying = (context, config.forced, app_db, storage, provider, row, tracker)
                narrator = (speaker_for(*buying), writer_for(*buying))
            plan, narrated = _plan(storage, app_db, row, project.clips, workdir, narrator)
            tracker.report("compiling", 85, f"Joining {plural(len(plan.segments), 'segment')}…")
            report = compile_video(plan, workdir / "out", sounds=other_sounds(row, narrated))
            made = _renditions(tracker, storage, row, report, narrated, workdir / "renditions")
            checks = _checks(plan, made)
            _refuse_failed_checks(checks)
            tracker.report("compiling", COMPILE_PROGRESS[1], "Uploading the video…")
            outputs = [store(storage, row, n, spec, done) for n, (spec, done) in enumerate(made)]
            actual = billed_cents(app_db, project_id)
            if row.preview:
                _previewed(app_db, tracker, row, outputs)
            else:
                _finish(app_db, tracker, project_id, outputs, actual)
            prune_renders(app_db, storage, project_id)
            video_uri = outputs[0]["video_url"]
            notify(app_db, webhooks, "video", project_id, context.log)
            narration = (
                {"narration": dg.MetadataValue.json(narrated.metadata())} if narrated else {}
            )
            return dg.MaterializeResult(
                metadata=_metadata(plan, report, video_uri, actual, row.estimated_cost)
                | {"renditions": dg.MetadataValue.json(outputs)}
                | narration,
                check_results=checks,
            )


def _plan(
    storage: StorageResource,
    db: AppDatabase,
    row: VideoProject,
    clips: list[VideoClip],
    workdir: Path,
    narrator: tuple[Speaker, Writer | None] | None,
) -> tuple[CompilePlan, Narrated | None]:
    """Clip 1, transition 1→2 (if it exists), clip 2, … probed and planned, with the narration
    spoken and fitted over them."""
    inputs = []
    timeline: list[tuple[int | None, float]] = []
    for clip in clips:
        if clip.status != "completed" or not clip.clip_url:
            continue
        path = storage.fetch(
            clip.clip_url, workdir / f"{clip.sequence_order:02d}-clip.mp4", MAX_MEDIA_BYTES
        )
        inputs.append((path, probe(path)))
        timeline.append((clip.sequence_order, inputs[-1][1].duration_s))
        if clip.transition_status == "completed" and clip.transition_clip_url:
            path = storage.fetch(
                clip.transition_clip_url,
                workdir / f"{clip.sequence_order:02d}-transition.mp4",
                MAX_MEDIA_BYTES,
            )
            inputs.append((path, probe(path)))
            timeline.append((None, inputs[-1][1].duration_s))
    music = None
    if row.music_track_id:
        with db.session() as session:
            track = rows.get_music(session, row.music_track_id)
        music = storage.fetch_input(
            track.audio_url, workdir / "music", row.workspace_id, MAX_MEDIA_BYTES, library=True
        )
    narrated = None
    if narrator is not None:
        spec = stored_spec(db, row, clips)
        narrated = narrate(spec, timeline, workdir / "speech", *narrator)
    holds: dict[int, float] = {}
    voice: tuple[VoiceLine, ...] = ()
    if narrated is not None:
        holds = {
            n: narrated.speech.holds.get(order, 0.0)
            for n, (order, _) in enumerate(timeline)
            if order is not None
        }
        voice = narrated.voice(master_is_branded(project_renditions(row)))
    plan = plan_compile(
        inputs,
        aspect_ratio=row.aspect_ratio,
        music=music,
        music_volume=row.music_volume,
        holds=holds,
        voice=voice,
    )
    return plan, narrated


def _renditions(
    tracker: Tracker,
    storage: StorageResource,
    row: VideoProject,
    report: CompileReport,
    narrated: Narrated | None,
    workdir: Path,
) -> list[tuple[RenditionSpec, Rendered]]:
    workdir.mkdir(parents=True, exist_ok=True)
    count = len(project_renditions(row))
    if count > 1 or row.listing or row.branding:
        tracker.report("compiling", 90, f"Rendering {plural(count, 'video')} with cards…")
    return make_renditions(storage, row, report, narrated, workdir, RENDER_S)


def _finish(
    db: AppDatabase,
    tracker: Tracker,
    project_id: str,
    outputs: list[dict[str, Any]],
    actual: int,
) -> None:
    """The row says `completed` with its videos, cost and progress in one UPDATE: a crash
    after it leaves nothing half-done (the run-failure sensor still sends the webhook)."""
    first = outputs[0]
    with db.session() as session:
        done = rows.set_status(
            session,
            VideoProject,
            project_id,
            rows.RowStatus.COMPLETED,
            from_states=(rows.RowStatus.COMPILING,),
            final_video_url=first["video_url"],
            thumbnail_url=first["thumbnail_url"],
            duration_seconds=first["duration_seconds"],
            outputs=outputs,
            actual_cost=actual,
            error_message=None,
            step="completed",
            progress=100,
            label=READY,
        )
    if not done:  # canceled while compiling: say so rather than announce a video
        why = tracker.stop.reason() or f"{project_id} is no longer compiling"
        raise dg.Failure(description=why, allow_retries=False)
    tracker.publish("completed", 100, READY, cost_cents=actual)


def _previewed(
    db: AppDatabase, tracker: Tracker, row: VideoProject, outputs: list[dict[str, Any]]
) -> None:
    """The free preview is ready: the row waits `previewed` for `approve`, showing the price."""
    price = f"for {row.estimated_cost} ¢" if row.estimated_cost else "(free on this engine)"
    label = f"Preview ready: `studio approve {row.id}` buys it {price}"
    with db.session() as session:
        done = rows.set_status(
            session,
            VideoProject,
            row.id,
            rows.RowStatus.PREVIEWED,
            from_states=(rows.RowStatus.COMPILING,),
            preview_outputs=outputs,
            error_message=None,
            step="previewed",
            progress=100,
            label=label,
        )
    if not done:
        why = tracker.stop.reason() or f"{row.id} is no longer compiling"
        raise dg.Failure(description=why, allow_retries=False)
    tracker.publish("previewed", 100, label, cost_cents=0)


def _refuse_failed_checks(checks: list[dg.AssetCheckResult]) -> None:
    """A video that fails a check is never stored nor announced: the row fails naming it."""
    failed = [c for c in checks if not c.passed]
    if failed:
        detail = "; ".join(
            f"{c.check_name} ({', '.join(f'{k}={v.value}' for k, v in c.metadata.items())})"
            for c in failed
        )
        raise dg.Failure(
            description=f"the compiled video failed its checks: {detail}", allow_retries=False
        )


def _checks(
    plan: CompilePlan, made: list[tuple[RenditionSpec, Rendered]]
) -> list[dg.AssetCheckResult]:
    """Every check over every rendition: one fails if any rendition fails it (and says which)."""
    per_rendition = [_checks_of(plan, done) for _, done in made]
    merged = []
    for results in zip(*per_rendition, strict=True):
        failed = next((r for r in results if not r.passed), None)
        shown = failed or results[0]
        metadata = dict(shown.metadata)
        if len(made) > 1:
            metadata["rendition"] = dg.MetadataValue.text(made[results.index(shown)][1].key)
        merged.append(
            dg.AssetCheckResult(
                check_name=shown.check_name, passed=failed is None, metadata=metadata
            )
        )
    return merged


def _checks_of(plan: CompilePlan, done: Rendered) -> list[dg.AssetCheckResult]:
    info = probe(done.video)
    drift = abs(done.duration_s - plan.expected_duration_s)
    return [
        dg.AssetCheckResult(
            check_name="h264_video",
            passed=info.video_codec == "h264" and (info.width, info.height) == done.size,
            metadata={"codec": str(info.video_codec), "frame": f"{info.width}x{info.height}"},
        ),
        dg.AssetCheckResult(
            check_name="aac_audio",
            passed=info.audio_codec == "aac",
            metadata={"codec": str(info.audio_codec)},
        ),
        dg.AssetCheckResult(
            check_name="duration_matches_plan",
            passed=drift <= 0.5,
            metadata={
                "duration_s": round(done.duration_s, 3),
                "planned_s": round(plan.expected_duration_s, 3),
            },
        ),
        dg.AssetCheckResult(
            check_name="thumbnail_present",
            passed=done.thumbnail.is_file() and done.thumbnail.stat().st_size > 0,
        ),
        _loudness_check(done.video, info.has_audio),
        dg.AssetCheckResult(check_name="index_first", passed=index_first(done.video)),
    ]


def _loudness_check(video: Path, has_audio: bool) -> dg.AssetCheckResult:
    """-14 ± 1 LUFS under -1 dBTP; or, for sound so peaky that its true peak reaches the ceiling
    first (a quiet bed under sharp clip sound), as loud as that ceiling allows — delivered, and
    said so in the metadata, rather than refused."""
    if not has_audio:  # aac_audio says why; there is nothing to measure
        return dg.AssetCheckResult(check_name="loudness_on_target", passed=False)
    measured = measure_loudness(video)
    lufs, peak = measured.integrated_lufs, measured.true_peak_dbtp
    on_target = abs(lufs - LOUDNESS_LUFS) <= 1.0
    peak_limited = not on_target and lufs < LOUDNESS_LUFS and peak >= PEAK_LIMITED_DBTP
    return dg.AssetCheckResult(
        check_name="loudness_on_target",
        passed=measured.silent or (peak <= -1.0 and (on_target or peak_limited)),
        metadata={
            "integrated_lufs": _db(lufs),
            "true_peak_dbtp": _db(peak),
            "limited_by_true_peak": peak_limited,
        },
    )


def _db(value: float) -> float | str:
    return round(value, 1) if math.isfinite(value) else "silence"


def _metadata(
    plan: CompilePlan, report: CompileReport, uri: str, actual: int, estimated: int
) -> dict[str, Any]:
    return {
        "video_uri": dg.MetadataValue.url(uri),
        "duration_s": dg.MetadataValue.float(round(report.duration_s, 3)),
        "size_bytes": dg.MetadataValue.int(report.size_bytes),
        "segments": dg.MetadataValue.int(len(plan.segments)),
        "copied_segments": dg.MetadataValue.int(report.copied_segments),
        "normalised_segments": dg.MetadataValue.int(report.normalised_segments),
        "compile_s": dg.MetadataValue.float(round(report.seconds, 2)),
        "frame": f"{plan.width}x{plan.height}@{plan.fps}",
        "cost_cents": dg.MetadataValue.int(actual),
        "estimated_cost_cents": dg.MetadataValue.int(estimated),
        "thumbnail": inline_preview(report.thumbnail, 320),
    }
