"""Cancel and retry: what an operator does to a project (or image) that is running or failed."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from resources.database import AppDatabase
from resources.errors import StudioError
from resources.models import ImageGeneration, ImageProject
from resources.provider.base import ProviderResource
from resources.repository import ledger, places, rows
from resources.webhooks import WebhookResource
from studio_assets.app.image_projects import photo_ids
from studio_assets.runtime.notifications import notify
from studio_assets.runtime.run_owner import owner_gone

LOG = dg.get_dagster_logger("studio.control")


def cancel(
    db: AppDatabase,
    provider: ProviderResource,
    instance: dg.DagsterInstance,
    row_id: str,
    webhooks: WebhookResource | None = None,
) -> list[str]:
    """Mark the row `canceled`, stop its run, cancel its in-flight provider requests, and send
    the `canceled` webhook (once, whoever else sees the canceled run).

    Returns the canceled request ids. Finished clips stay finished, so a retry reuses them.
    An image project cancels each of its photos that has not ended (its own webhook goes out
    with the last one).
    """
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
        row = rows.get(session, rows.model_for(kind), row_id)
    if kind == "image_project":
        photos = photo_ids(db, row_id, (*rows.WAITING, rows.RowStatus.PROCESSING))
        if not photos:
            raise StudioError(f"{row_id} is {row.status}; none of its photos is queued or running")
        return [rid for photo in photos for rid in cancel(db, provider, instance, photo, webhooks)]
    with db.session() as session:
        row = rows.get(session, rows.model_for(kind), row_id)
        # First the row: the run's generations see it and stop buying, even if the run
        # itself cannot be reached (and Dagster retries a step that termination interrupted).
        if not rows.cancel(session, rows.model_for(kind), row_id):
            raise StudioError(
                f"{row_id} is {row.status}; only a queued or running one can be canceled"
            )
        run_ids = {row.run_id} if row.run_id else set()
        run_ids |= _runs_on_the_way(instance, row_id, row.submission)
    for run_id in run_ids:
        _stop_run(instance, run_id)
    # Whether or not the run could be reached: a dead worker cannot cancel its own requests.
    canceled = _cancel_requests(db, provider, kind, row_id)
    if webhooks is not None:
        notify(db, webhooks, kind, row_id, LOG, background=False)
    return canceled


def retry(db: AppDatabase, row_id: str) -> int:
    """Queue a failed or canceled row again (a new submission); finished work is reused. An
    image project queues its failed and canceled photos; its finished photos stay."""
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
        row = rows.get(session, rows.model_for(kind), row_id)
        if row.status not in rows.RETRYABLE:
            raise StudioError(
                f"{row_id} is {row.status}; only failed or canceled ones can be retried"
            )
        if kind != "image_project":
            return rows.queue(session, rows.model_for(kind), row_id)
    for photo in photo_ids(db, row_id, rows.RETRYABLE):
        with db.session() as session:
            rows.queue(session, ImageGeneration, photo)
    with db.session() as session:
        return int(rows.get(session, ImageProject, row_id).submission)


def approve(db: AppDatabase, project_id: str) -> int:
    """Buy a previewed project for real: queued as a new submission for the sensor; its run
    forgets the preview's free clips (`projects.drop_preview_clips`) and the configured
    provider makes each once. The submission number."""
    with db.session() as session:
        return rows.approve(session, project_id)


def settle_orphan(
    db: AppDatabase, instance: Callable[[], dg.DagsterInstance], row_id: str
) -> str | None:
    """End a row whose in-process run lost its process (`studio run` killed): the run is
    reported failed and the row `failed` with why, so `studio retry` or `studio run` resumes
    it (finished and in-flight generations are reused). Returns the reason, or None when the
    row is not in that state. `instance` is only opened for a row that is running. An image
    project settles each of its running photos."""
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
        row = rows.get(session, rows.model_for(kind), row_id)
    if kind == "image_project":
        running = photo_ids(db, row_id, (rows.RowStatus.PROCESSING,))
        reasons = [settle_orphan(db, instance, photo) for photo in running]
        return next((reason for reason in reasons if reason), None)
    with db.session() as session:
        row = rows.get(session, rows.model_for(kind), row_id)
        if row.status in rows.TERMINAL or row.status in rows.WAITING or not row.run_id:
            return None
        run_id = row.run_id
    dagster = instance()
    run = dagster.get_run_by_id(run_id)
    if run is None or run.is_finished or (gone := owner_gone(run)) is None:
        return None
    message = f"{gone}; run `studio retry {row_id}` or `studio run {row_id}` to resume it"
    if project_id := getattr(row, "image_project_id", None):  # resumed with its project
        message = f"{gone}; run `studio run {project_id}` to resume the project"
    dagster.report_run_failed(run, message=message)
    with db.session() as session:
        rows.fail(session, rows.model_for(kind), row_id, message, run_id=run_id)
        ledger.end_leases(session, run_id)  # its slots are settled by the next run at once
        places.release_owner(session, run_id)  # and its provider places go to others now
    LOG.warning(f"{row_id}: {message}")
    return message


def _runs_on_the_way(instance: dg.DagsterInstance, row_id: str, submission: int) -> set[str]:
    """Runs launched for this submission that have not taken the row yet (queued, starting)."""
    runs = instance.get_runs(
        dg.RunsFilter(
            tags={"dagster/partition": row_id, "studio/submission": str(submission)},
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        )
    )
    return {run.run_id for run in runs}


def _stop_run(instance: dg.DagsterInstance, run_id: str) -> None:
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return
    if run.status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED):
        instance.report_run_canceled(run, message="canceled by `studio cancel`")
        return
    # A launched run is terminated by its launcher; one executing in another process (studio
    # run) notices the row is `canceled` at its next progress report and stops there.
    try:
        terminated = instance.run_launcher.terminate(run_id)
    except Exception as exc:  # the code server died with the worker, or no longer knows the run
        LOG.warning(
            f"run {run_id} could not be terminated ({type(exc).__name__}); canceling anyway"
        )
        terminated = False
    if not terminated:
        _give_up_on(instance, run_id)


def _give_up_on(instance: dg.DagsterInstance, run_id: str) -> None:
    """Nobody answered for the run: leave it `CANCELING` so run monitoring's cancel timeout
    (`cancel_timeout_seconds`) ends it `CANCELED` and frees its queue slot. A worker that is
    in fact alive stops at its next progress report, since the row is already `canceled`."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status != dg.DagsterRunStatus.CANCELING and not run.is_finished:
        instance.report_run_canceling(run, message="canceled by `studio cancel`")


def _cancel_requests(
    db: AppDatabase, provider: ProviderResource, kind: str, row_id: str
) -> list[str]:
    targets: list[tuple[ledger.Slot, str]] = [(ledger.IMAGE, row_id)]
    if kind == "video":
        with db.session() as session:
            clip_ids = [c.id for c in rows.clips(session, row_id)]
            line_ids = [line.id for line in rows.narration_lines(session, row_id)]
            script_ids = [script.id for script in rows.narration_scripts(session, row_id)]
        targets = [(slot, cid) for cid in clip_ids for slot in (ledger.CLIP, ledger.TRANSITION)]
        targets += [(ledger.SPEECH, line_id) for line_id in line_ids]
        targets += [(ledger.SCRIPT, script_id) for script_id in script_ids]
    canceled = []
    for slot, slot_row in targets:
        with db.session() as session:
            state = ledger.read(session, slot, slot_row)
        if state.status in ledger.LIVE and state.request_id:
            provider.cancel(state.request_id)
            canceled.append(state.request_id)
            with db.session() as session:
                ledger.canceled(session, slot, slot_row, "canceled by `studio cancel`")
    return canceled
