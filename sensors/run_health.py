"""Dead run workers: a `STARTED` studio run whose worker is gone is marked failed in minutes.

Dagster's run monitoring cannot see this under the default run launcher (it does not support
`check_run_worker_health`); the code server notices a worker that died on its own, but when the
worker and its code server die together nobody does until `dagster/max_runtime`. Meanwhile the
run holds its `studio/queue` slot. This sensor asks the code server named in the run's
`dagster/grpc_info` tag whether it still runs the run; a run it does not (or a server that is
gone) on two looks `CONFIRM_S` apart, with nothing in its event log for `QUIET_S`, is reported
failed — so `run_retries` retries it and the run-failure sensor ends the row if it does not.

A run sent to a Celery worker (deploy/celery) carries its task id: the live workers are asked
which tasks they are running, and a run none of them runs is gone the same way — a worker
machine that died outright leaves its task `STARTED` in the result backend for ever, so
Dagster's own health check (the task's state) would not see it.

A run executed inside a `studio run` process on this host is failed as soon as that process is
gone (`studio_assets.runtime.run_owner`): a pid that no longer exists needs no second look.

The thresholds only guard against a code server that is briefly unreachable: a STARTED run's
worker has already reported in, and a code server being replaced (a reload) keeps serving the
runs it started until they end.
"""

from __future__ import annotations

import json
import time
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

from studio_assets.runtime.run_owner import owner_gone

CELERY_TASK_TAG = "dagster-celery/task_id"  # set by dagster-celery's CeleryRunLauncher
GRACE_S = 60.0  # a younger run may still be starting its worker
CONFIRM_S = 30.0  # seen gone twice, at least this far apart
QUIET_S = 60.0  # and no event from the run for this long
ASK_TIMEOUT_S = 10
LIMIT = 100


def worker_gone(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why the run's worker is gone, or None if it is alive or we cannot tell (another launcher
    watches its own runs; `studio run` executes in its own process)."""
    if task_id := run.tags.get(CELERY_TASK_TAG):
        return _celery_task_gone(instance, task_id)
    info = run.tags.get(GRPC_INFO_TAG)
    if not info:
        return None
    server = json.loads(info)
    client = DagsterGrpcClient(
        port=server.get("port"),
        socket=server.get("socket"),
        host=server.get("host") or "localhost",
        use_ssl=bool(server.get("use_ssl", False)),
    )
    try:
        reply = client.can_cancel_execution(
            CanCancelExecutionRequest(run_id=run.run_id), timeout=ASK_TIMEOUT_S
        )
    except DagsterUserCodeUnreachableError:
        return "its code server is gone"
    if deserialize_value(reply, CanCancelExecutionResult).can_cancel:
        return None
    return "its code server no longer runs it"


def _celery_task_gone(instance: dg.DagsterInstance, task_id: str) -> str | None:
    celery = getattr(instance.run_launcher, "celery", None)
    if celery is None:  # the run was sent by a launcher this instance no longer has
        return None
    active = celery.control.inspect(timeout=ASK_TIMEOUT_S / 5).active()
    if not active:
        return "no Celery worker answers"
    if any(task.get("id") == task_id for tasks in active.values() for task in tasks):
        return None
    return "no Celery worker runs its task"


def _quiet_since(instance: dg.DagsterInstance, run_id: str) -> float | None:
    records = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    return records[0].timestamp if records else None


def sweep(
    instance: dg.DagsterInstance, suspects: dict[str, float], now: float
) -> tuple[dict[str, float], list[str]]:
    """One look at the studio runs in `STARTED`: (suspects to look at again, runs failed now)."""
    records = instance.get_run_records(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED], tags={"studio/queue": ["video", "image"]}
        ),
        limit=LIMIT,
    )
    still: dict[str, float] = {}
    failed: list[str] = []
    for record in records:
        run = record.dagster_run
        if why := owner_gone(run):
            instance.report_run_failed(run, message=f"{why}; studio marked the run failed")
            failed.append(run.run_id)
            continue
        started = record.start_time or record.create_timestamp.timestamp()
        if now - started < GRACE_S or (why := worker_gone(instance, run)) is None:
            continue
        first_seen = suspects.get(run.run_id, now)
        last_event = _quiet_since(instance, run.run_id) or started
        if now - first_seen < CONFIRM_S or now - last_event < QUIET_S:
            still[run.run_id] = first_seen
            continue
        instance.report_run_failed(
            run,
            message=f"The run worker stopped without ending the run ({why}); "
            "studio marked the run failed so it can be retried",
        )
        failed.append(run.run_id)
    return still, failed


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Marks `STARTED` studio runs whose worker and code server are gone as failed."""
    cursor: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    suspects, failed = sweep(context.instance, cursor.get("suspects", {}), time.time())
    context.update_cursor(json.dumps({"suspects": suspects}))
    for run_id in failed:
        context.log.warning(f"run {run_id}: worker gone, marked failed")
    if failed:
        return dg.SkipReason(f"marked {len(failed)} runs with dead workers failed")
    return dg.SkipReason(f"{len(suspects)} runs under watch" if suspects else "all runs alive")
