"""Submission sensors: queued rows in the app DB become dynamic partitions and runs.

One indexed query with a LIMIT per tick, a keyset cursor that sweeps the queue and starts
over when it reaches the end, and `run_key = {id}:{submission}` so a row is launched once per
(re)submission. Sensors never write to the app DB: a malformed row is failed by its run.
"""

import json
from collections import defaultdict
from datetime import datetime

import dagster as dg

from resources.database import AppDatabase
from resources.models import ImageGeneration, VideoProject
from resources.repository import rows
from studio_assets.jobs import JOB_BY_KIND, image_job, inpaint_job, video_job
from studio_assets.partitions import PARTITIONS_BY_KIND

PAGE = 50


def _read_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    after = json.loads(cursor).get("after")
    return (datetime.fromisoformat(after[0]), after[1]) if after else None


def _next_cursor(page: list[rows.Queued]) -> str:
    if len(page) < PAGE:
        return json.dumps({"after": None})  # end of the queue: sweep again from the start
    last = page[-1]
    return json.dumps({"after": [last.queued_at.isoformat(), last.id]})


def submissions(
    context: dg.SensorEvaluationContext, db: AppDatabase, model: rows.Row
) -> dg.SensorResult | dg.SkipReason:
    """Request one run per queued row, adding its partition key in the same tick."""
    with db.session() as session:
        page = rows.queued(session, model, _read_cursor(context.cursor), PAGE)
    if not page:
        return dg.SkipReason("no queued rows")
    keys: dict[str, list[str]] = defaultdict(list)
    requests = []
    for row in page:
        keys[row.kind].append(row.id)
        requests.append(
            dg.RunRequest(
                run_key=f"{row.id}:{row.submission}",
                partition_key=row.id,
                job_name=JOB_BY_KIND.get(row.kind, "video_job"),
                tags={"studio/submission": str(row.submission)},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            PARTITIONS_BY_KIND[kind].build_add_request(ids) for kind, ids in keys.items()
        ],
        cursor=_next_cursor(page),
    )


@dg.sensor(
    jobs=[image_job, inpaint_job],
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def image_submission_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult | dg.SkipReason:
    """Launches `image_job` / `inpaint_job` for `image_generation` rows set to `queued`."""
    return submissions(context, app_db, ImageGeneration)


@dg.sensor(
    jobs=[video_job], minimum_interval_seconds=2, default_status=dg.DefaultSensorStatus.RUNNING
)
def video_submission_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult | dg.SkipReason:
    """Launches `video_job` for `video_project` rows set to `queued`."""
    return submissions(context, app_db, VideoProject)
