"""Benchmark: how soon a project starts running once the app asks, with the daemon running.

`dagster-webserver` and `dagster-daemon` run on a fresh embedded instance (this repository's
dagster.yaml, SQLite) with studio's sensors on. Five one-clip projects go in through each door,
one at a time, each waiting for the previous run to finish:

- `submit_to_run_start_s`: `studio submit` (a `queued` row) → the run's RUN_START event
  (sensor tick, run queue, run worker up). Target ≤ 5 s.
- `graphql_to_run_start_s`: the GraphQL launch helper's call → RUN_START (run queue, run worker
  up). Target ≤ 3 s.

Each is the median of 5; `*_launch_s` is the part up to the run leaving the queue (STARTING),
which is what the daemon itself decides — the rest is the run worker's own start-up.
Run from the repository root: `.venv/bin/python bench/latency_bench.py`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio_assets.app.samples import room_photo  # noqa: E402
from studio_assets.cli.wiring import Wiring  # noqa: E402
from tests.support.dagster_processes import dagster_process, running_webserver  # noqa: E402

SAMPLES = 5
DAEMON = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"]


def new_project(studio: Wiring, home: Path, n: int, draft: bool) -> str:
    """What `studio submit [--draft]` does, for a one-clip project."""
    photo = room_photo(home / f"room-{n}.jpg", "kitchen", (640, 360))
    spec = {"name": f"Latency {n}", "clips": [{"image": str(photo), "room_type": "kitchen"}]}
    return studio.submit_project(spec, draft=draft)


def timings(instance: dg.DagsterInstance, project_id: str, asked: float) -> tuple[float, float]:
    """(asked → STARTING, asked → RUN_START) for the project's run, once it has finished."""
    while True:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": project_id}))
        if runs and runs[0].is_finished:
            break
        time.sleep(0.2)
    run_id = runs[0].run_id
    stamps = {
        kind: instance.all_logs(run_id, of_type=kind)[0].timestamp
        for kind in (dg.DagsterEventType.PIPELINE_STARTING, dg.DagsterEventType.RUN_START)
    }
    return (
        stamps[dg.DagsterEventType.PIPELINE_STARTING] - asked,
        stamps[dg.DagsterEventType.RUN_START] - asked,
    )


def measure(
    instance: dg.DagsterInstance, ask: Callable[[int], str]
) -> tuple[list[float], list[float]]:
    launched, started = [], []
    for n in range(SAMPLES):
        asked = time.time()
        project_id = ask(n)
        to_launch, to_start = timings(instance, project_id, asked)
        launched.append(to_launch)
        started.append(to_start)
    return launched, started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "dagster").mkdir()
        shutil.copyfile(ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
        os.environ.update(STUDIO_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
        for name in ("FAL_KEY", "STUDIO_DATABASE_URL", "STUDIO_STORAGE_URL", "STUDIO_PROVIDER"):
            os.environ.pop(name, None)  # the embedded defaults
        studio = Wiring()
        studio.db.upgrade()
        env = dict(os.environ)
        with (
            running_webserver(env, home / "webserver.log") as url,
            dagster_process(DAEMON, env, home / "daemon.log"),
            dg.DagsterInstance.get() as instance,
        ):

            def by_row(n: int) -> str:
                return new_project(studio, home, n, draft=False)

            def by_graphql(n: int) -> str:
                project_id = new_project(studio, home, 100 + n, draft=True)
                studio.launch(project_id, url)  # what `studio launch` does
                return project_id

            measure(instance, by_row)  # warm-up: the daemon's first ticks load the code
            row_launch, row_start = measure(instance, by_row)
            gql_launch, gql_start = measure(instance, by_graphql)

    print(f"submit_to_run_launch_s={statistics.median(row_launch):.2f}")
    print(f"submit_to_run_start_s={statistics.median(row_start):.2f}")
    print(f"graphql_to_run_launch_s={statistics.median(gql_launch):.2f}")
    print(f"graphql_to_run_start_s={statistics.median(gql_start):.2f}")
    print("targets: submit_to_run_start_s<=5 graphql_to_run_start_s<=3 (median of 5)")


if __name__ == "__main__":
    main()
