"""Run-status sensors: a run that ended without its assets finalising the row marks it.

No project or image is ever left `processing`, `generating` or `compiling` after its last run
ended. Runs that Dagster will retry are skipped; the row is only touched when it still points
at the run that ended, so a newer run is never overwritten. A row of that run that is `failed`
or `canceled` gets its webhook here unless the asset already claimed it.
"""

import dagster as dg
from dagster._core.events import RunFailureReason
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG, WILL_RETRY_TAG

from resources.database import AppDatabase
from resources.repository import rows
from resources.webhooks import WebhookResource
from studio_assets.products import PRODUCTS, product_of_job
from studio_assets.runtime.notifications import notify

PRODUCT_JOBS = [p.job for p in PRODUCTS]


def _row_of(run: dg.DagsterRun) -> tuple[str, str] | None:
    """(row table, row id) of a product's run."""
    row_id = run.tags.get("dagster/partition")
    made = product_of_job(run.job_name)
    return (made.table, row_id) if row_id and made else None


def _belongs_to(row: object, run: dg.DagsterRun) -> bool:
    """The row is this run's: it names the run, or the run died before its first step — and
    it has not been submitted again since (`studio retry` while the old run was ending)."""
    submission = run.tags.get("studio/submission")
    if submission is None:  # launched by hand (Dagit): only a row that names it
        return getattr(row, "run_id", None) == run.run_id
    if str(getattr(row, "submission", "")) != submission:
        return False
    return getattr(row, "run_id", None) == run.run_id or getattr(row, "status", None) == "queued"


def _will_retry(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether `run_retries` launches the run again. Dagster tags the run `will_retry` just
    after its failure is stored, so a sensor can see the failure first: then ask what the
    retry daemon will decide (a row failed now would be revived by the retry, after its
    `failed` webhook went out)."""
    fresh = instance.get_run_by_id(run.run_id) or run
    if (tag := fresh.tags.get(WILL_RETRY_TAG)) is not None:
        return tag == "true"
    if not instance.run_retries_enabled:
        return False
    reason = fresh.tags.get(RUN_FAILURE_REASON_TAG)
    return bool(
        auto_reexecution_should_retry_run(
            instance, fresh, RunFailureReason(reason) if reason else None
        )
    )


def _failure_message(context: dg.RunFailureSensorContext) -> str:
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            return f"{event.step_key} failed: {error.message.strip()}"[:1000]
    return context.failure_event.message or "the run failed"


@dg.run_failure_sensor(
    monitored_jobs=PRODUCT_JOBS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
)
def run_failed_sensor(
    context: dg.RunFailureSensorContext, app_db: AppDatabase, webhooks: WebhookResource
) -> None:
    """Marks the row `failed` with the run's error when the run failed for good."""
    run = context.dagster_run
    target = _row_of(run)
    if target is None or _will_retry(context.instance, run):
        return
    kind, row_id = target
    model = rows.model_for(kind)
    with app_db.session() as session:
        row = rows.get(session, model, row_id)
        if not _belongs_to(row, run):
            return
        if rows.fail(session, model, row_id, _failure_message(context), run_id=row.run_id):
            context.log.info(f"marked {kind} {row_id} failed after run {run.run_id}")
    # Also when the asset failed the row itself: the claim makes it one POST either way.
    notify(app_db, webhooks, kind, row_id, context.log, background=False)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.CANCELED,
    monitored_jobs=PRODUCT_JOBS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
)
def run_canceled_sensor(
    context: dg.RunStatusSensorContext, app_db: AppDatabase, webhooks: WebhookResource
) -> None:
    """Marks the row `canceled` when its run was terminated."""
    target = _row_of(context.dagster_run)
    if target is None:
        return
    kind, row_id = target
    with app_db.session() as session:
        row = rows.get(session, rows.model_for(kind), row_id)
        if not _belongs_to(row, context.dagster_run):
            return
        rows.cancel(session, rows.model_for(kind), row_id)
    notify(app_db, webhooks, kind, row_id, context.log, background=False)
