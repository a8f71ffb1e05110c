"""The Celery app a studio worker machine runs: `celery -A studio_assets.celery_worker worker`.

dagster-celery's `CeleryRunLauncher` (deploy/celery/dagster.yaml) sends each run to the broker
as an `execute_job` task; a worker started with this app takes it and executes the run in its
pool, against the same Dagster instance (Postgres), app DB and media store as everyone else.

The app is the instance's own run launcher's, so broker, result backend, queue and settings
come from one place — the `run_launcher` block of `$DAGSTER_HOME/dagster.yaml` — and a worker
cannot drift from the daemon that sends it work.
"""

from __future__ import annotations

import dagster as dg
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task


def _launcher() -> CeleryRunLauncher:
    with dg.DagsterInstance.get() as instance:
        launcher = instance.run_launcher
    if not isinstance(launcher, CeleryRunLauncher):
        raise RuntimeError(
            "studio's Celery worker needs dagster-celery's CeleryRunLauncher as the run_launcher "
            f"in $DAGSTER_HOME/dagster.yaml (found {type(launcher).__name__}); "
            "see deploy/celery/dagster.yaml"
        )
    return launcher


app = _launcher().celery
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
