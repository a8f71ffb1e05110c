"""Jobs: each selects its assets; the partition key is the app-DB row id."""

import dagster as dg

image_job = dg.define_asset_job(
    "image_job",
    selection=["enhanced_image"],
    tags={"studio/queue": "image"},
    executor_def=dg.in_process_executor,
    description="Enhance one photo (partition = image_generation id).",
)

inpaint_job = dg.define_asset_job(
    "inpaint_job",
    selection=["inpainted_image"],
    tags={"studio/queue": "image"},
    executor_def=dg.in_process_executor,
    description="Inpaint one photo into a new version (partition = image_generation id).",
)

JOB_BY_KIND = {"enhance": "image_job", "inpaint": "inpaint_job"}

video_job = dg.define_asset_job(
    "video_job",
    selection=["video_clips", "transition_clips", "final_video"],
    tags={"studio/queue": "video", "dagster/max_runtime": 1800},
    executor_def=dg.in_process_executor,
    description="Clips → transitions → final MP4 for one video project (partition = project id).",
)

JOB_BY_KIND["video"] = "video_job"
