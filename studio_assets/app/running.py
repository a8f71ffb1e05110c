"""Running a row's job in this process against the local Dagster instance (no daemon)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from resources.database import AppDatabase, is_outage
from resources.repository import rows
from studio_assets.jobs import run_priority, run_tags
from studio_assets.products import Product, product_of_row
from studio_assets.runtime.run_owner import owner_tag

# The CLI draws its own progress bar and prints the row's error; a step's failure with its
# traceback stays in Dagster's event log (Dagit), not on the user's terminal.
QUIET_CONSOLE: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# A run in this process has no origin the daemon could re-launch it from: it is never retried
# by run_retries (which would otherwise tag it `will_retry` and leave the row to nobody).
IN_PROCESS_TAGS = {"studio/launched_by": "cli", "dagster/max_retries": "0"}


def product_for(db: AppDatabase, row_id: str) -> Product:
    """The product a project or image id is for (its job, partitions, assets)."""
    with db.session() as session:
        return product_of_row(session, row_id)


def launch_tags(db: AppDatabase, row_id: str) -> dict[str, str]:
    """The row's submission and its time budget (`studio_assets.jobs.run_tags`), for any door."""
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
        model = rows.model_for(kind)
        row = rows.get(session, model, row_id)
        clip_count = row.clip_count if kind == "video" else None
        project = getattr(row, "image_project_id", None)
        ahead = rows.ahead_in_workspace(session, model, row_id, row.workspace_id, row.queued_at)
        place = run_priority(row.priority, ahead)
        return run_tags(row.submission, clip_count, row.workspace_id, project, place)


def run_in_process(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    db: AppDatabase,
    row_id: str,
    run_config: dict[str, Any] | None = None,
    on_poll: Callable[[], None] | None = None,
) -> dg.ExecuteInProcessResult:
    """Add the partition, then execute the job for it here; `on_poll` runs while it works."""
    made = product_for(db, row_id)
    instance.add_dynamic_partitions(str(made.partitions.name), [row_id])
    job = defs.resolve_job_def(made.job.name)
    tags = launch_tags(db, row_id)
    outcome: dict[str, Any] = {}

    def execute() -> None:
        try:
            outcome["result"] = job.execute_in_process(
                instance=instance,
                partition_key=row_id,
                run_config={**QUIET_CONSOLE, **(run_config or {})},
                raise_on_error=False,
                tags={**IN_PROCESS_TAGS, **owner_tag(), **tags},
            )
        except BaseException as exc:  # surfaced in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=execute, name=f"run-{row_id}", daemon=True)
    worker.start()
    while worker.is_alive():
        if on_poll:
            _poll(on_poll)
        worker.join(timeout=0.5)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _poll(on_poll: Callable[[], None]) -> None:
    """One progress poll; a DB blip skips it (the run goes on, and so does this process)."""
    try:
        on_poll()
    except SQLAlchemyError as exc:
        if not is_outage(exc):
            raise
