"""Jobs: each selects its assets; the partition key is the app-DB row id."""

import dagster as dg

# `dagster/max_runtime` is the backstop for a hung run (a dead worker is found much sooner,
# sensors/run_health.py): long enough for a slow provider, not 30 minutes for a one-room clip.
MAX_RUNTIME_BASE_S = 1200  # start, music, compile, upload; an image with its 3 attempts
MAX_RUNTIME_PER_CLIP_S = 240  # a clip and its transition, 3 at a time, one retry each
MAX_RUNTIME_UNKNOWN_S = 1800  # a video launch that does not say its size (Dagit, raw GraphQL)


def max_runtime_seconds(clip_count: int | None) -> int:
    """`dagster/max_runtime` for a project of `clip_count` clips (None: an image, 0 clips)."""
    return MAX_RUNTIME_BASE_S + MAX_RUNTIME_PER_CLIP_S * max(clip_count or 0, 0)


TIER = 10_000
"""A paid tier's runs go ahead of any backlog (`run_priority`)."""


def run_priority(priority: int, ahead: int) -> int:
    """The run's `dagster/priority` (Dagster dequeues the highest first, then the oldest): a
    paid tier first, then round-robin across workspaces — a workspace's n-th waiting project
    goes after every other workspace's (n-1)-th, so one agency's fifty listings do not hold
    the queue against a workspace with one."""
    return priority * TIER - ahead


def run_tags(
    submission: int,
    clip_count: int | None = None,
    workspace: str | None = None,
    image_project: str | None = None,
    priority: int = 0,
) -> dict[str, str]:
    """The tags every studio launch sets on a run: its submission, its time budget, whose it
    is (`studio/workspace`: a workspace's runs are limited, dagster.yaml), for a photo of an
    image project the project, and its place in the run queue (`run_priority`)."""
    tags = {
        "studio/submission": str(submission),
        "dagster/max_runtime": str(max_runtime_seconds(clip_count)),
    }
    if workspace:
        tags["studio/workspace"] = workspace
    if image_project:
        tags["studio/image_project"] = image_project
    if priority:
        tags["dagster/priority"] = str(priority)
    return tags


image_job = dg.define_asset_job(
    "image_job",
    selection=["enhanced_image"],
    tags={"studio/queue": "image", "dagster/max_runtime": max_runtime_seconds(None)},
    executor_def=dg.in_process_executor,
    description="Enhance one photo (partition = image_generation id).",
)

inpaint_job = dg.define_asset_job(
    "inpaint_job",
    selection=["inpainted_image"],
    tags={"studio/queue": "image", "dagster/max_runtime": max_runtime_seconds(None)},
    executor_def=dg.in_process_executor,
    description="Inpaint one photo into a new version (partition = image_generation id).",
)

video_job = dg.define_asset_job(
    "video_job",
    selection=["video_clips", "transition_clips", "final_video"],
    tags={
        "studio/queue": "video",
        "dagster/max_runtime": MAX_RUNTIME_UNKNOWN_S,
    },
    executor_def=dg.in_process_executor,
    description="Clips → transitions → final MP4 for one video project (partition = project id).",
)
