"""Submission sensors: queued rows in the app DB become dynamic partitions and runs.

One indexed query with a LIMIT per tick, a keyset cursor that sweeps the queue and starts
over when it reaches the end, and `run_key = {id}:{submission}` so a row is launched once per
(re)submission. Sensors never write to the app DB: a malformed row is failed by its run.
"""

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import dagster as dg

from resources.database import AppDatabase
from resources.models import ImageGeneration, VideoProject
from resources.repository import rows
from studio_assets.jobs import run_priority, run_tags
from studio_assets.products import jobs_of_table, product

PAGE = 50
CLOCK_SKEW = timedelta(minutes=10)  # between the app DB's clock and Dagster's


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


def _launched(instance: dg.DagsterInstance, page: list[rows.Queued]) -> set[tuple[str, str]]:
    """(row id, submission) pairs that already have a run, from any door (a GraphQL launch
    does not register our run_key). One query: runs of these rows since the oldest queuing."""
    since = min(_utc(row.queued_at) for row in page) - CLOCK_SKEW
    records = instance.get_run_records(
        dg.RunsFilter(tags={"dagster/partition": [row.id for row in page]}, created_after=since)
    )
    return {
        (r.dagster_run.tags["dagster/partition"], r.dagster_run.tags.get("studio/submission", ""))
        for r in records
    }


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def submissions(
    context: dg.SensorEvaluationContext, db: AppDatabase, model: rows.Row
) -> dg.SensorResult | dg.SkipReason:
    """Request one run per queued row, adding its partition key in the same tick; a row whose
    submission already has a run (launched over GraphQL) is left to that run."""
    with db.session() as session:
        page = rows.queued(session, model, _read_cursor(context.cursor), PAGE)
        if not page:
            return dg.SkipReason("no queued rows")
        launched = _launched(context.instance, page)
        page_to_launch = [r for r in page if (r.id, str(r.submission)) not in launched]
        clip_counts = {
            r.id: rows.get(session, VideoProject, r.id).clip_count
            for r in page_to_launch
            if r.kind == "video"
        }
        places = {
            r.id: run_priority(
                r.priority,
                rows.ahead_in_workspace(session, model, r.id, r.workspace_id, r.queued_at),
            )
            for r in page_to_launch
        }
    keys: dict[str, list[str]] = defaultdict(list)
    requests = []
    for row in page_to_launch:
        keys[row.kind].append(row.id)
        requests.append(
            dg.RunRequest(
                run_key=f"{row.id}:{row.submission}",
                partition_key=row.id,
                job_name=product(row.kind).job.name,
                tags=run_tags(
                    row.submission,
                    clip_counts.get(row.id),
                    row.workspace_id,
                    row.image_project_id,
                    places[row.id],
                ),
            )
        )
    if not requests:
        return dg.SensorResult(
            skip_reason=f"the {len(page)} queued rows already have their runs",
            cursor=_next_cursor(page),
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            product(kind).partitions.build_add_request(ids) for kind, ids in keys.items()
        ],
        cursor=_next_cursor(page),
    )


@dg.sensor(
    jobs=jobs_of_table("image"),
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def image_submission_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult | dg.SkipReason:
    """Launches `image_job` / `inpaint_job` for `image_generation` rows set to `queued`."""
    return submissions(context, app_db, ImageGeneration)


@dg.sensor(
    jobs=jobs_of_table("video"),
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def video_submission_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult | dg.SkipReason:
    """Launches `video_job` for `video_project` rows set to `queued`."""
    return submissions(context, app_db, VideoProject)
