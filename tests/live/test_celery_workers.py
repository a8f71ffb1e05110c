"""Runs on worker machines: dagster-celery's CeleryRunLauncher over the RabbitMQ that runs here.

The daemon (deploy/celery/dagster.yaml) sends each run to the broker; two Celery workers, each a
"machine" of its own — its own network namespace (tests/support/machines.py), reaching only
Postgres, the broker, Redis, S3 and "fal"; its own working directory, temp directory,
STUDIO_HOME and DAGSTER_HOME; its own process group — share nothing else: not the daemon's code
server, not each other's files. Several projects land on
both; then the worker running a project whose clip is still generating at "fal" is killed
outright, and the run is retried on the other worker, buying nothing twice.

The broker gets a RabbitMQ vhost of the test's own (results in Redis), so no other Celery on
the machine sees its tasks. Skipped outside CI when RabbitMQ or Redis is unreachable, or network
namespaces cannot be made (not root).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from tests.live.test_live_daemon import (  # noqa: F401 (live_env is a fixture)
    HELD,
    _finished,
    _generating,
    _instance,
    _logs,
    _production,
    _retry_of,
    _run_finished,
    live_env,
    spec,
    studio,
    wait_until,
)
from tests.support import machines
from tests.support.dagster_processes import dagster_process
from tests.support.fal_standin import FalStandin, Media

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAEMON = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
WORKERS = ("machine-a", "machine-b")


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test's own on 127.0.0.1:5672 (guest), deleted afterwards."""
    if not (_reachable(5672) and _reachable(6379) and shutil.which("rabbitmqctl")):
        reason = "RabbitMQ (5672, rabbitmqctl) or Redis (6379) is not available here"
    elif not machines.available():
        reason = "network namespaces need root and iproute2 (`ip netns`)"
    else:
        reason = ""
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    vhost = f"studio_test_{secrets.token_hex(4)}"
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "add_vhost", vhost], check=True, timeout=60)
    try:
        subprocess.run(
            [*ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
        yield f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run([*ctl, "delete_vhost", vhost], check=False, timeout=60)


def _celery_home(folder: Path) -> Path:
    """A DAGSTER_HOME holding deploy/celery/dagster.yaml."""
    folder.mkdir(parents=True)
    shutil.copyfile(ROOT / "deploy" / "celery" / "dagster.yaml", folder / "dagster.yaml")
    return folder


def _machine(env: dict[str, str], root: Path) -> dict[str, str]:
    """A worker machine's environment: nothing on disk shared with the others."""
    for name in ("work", "tmp", "home"):
        (root / name).mkdir(parents=True)
    return {
        **env,
        "DAGSTER_HOME": str(_celery_home(root / "dagster")),
        "STUDIO_HOME": str(root / "home"),
        "TMPDIR": str(root / "tmp"),
    }


def _worker_of(instance: dg.DagsterInstance, run_id: str, groups: dict[int, str]) -> str | None:
    """Which worker machine (by process group) executes the run: its run process's pid is in
    the run's "Started process for run (pid: N)" event."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if match := re.search(r"Started process for run \(pid: (\d+)\)", entry.message or ""):
            try:
                return groups.get(os.getpgid(int(match.group(1))))
            except ProcessLookupError:
                return None
    return None


@pytest.mark.slow
def test_runs_spread_over_two_celery_workers_and_a_killed_worker_s_run_is_retried_on_the_other(
    live_env: dict[str, str],  # noqa: F811
    broker_url: str,
    standin: FalStandin,
    standin_files: tuple[Path, Path, Media],
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    env = {
        **_production(live_env, standin, standin_files[0], s3_server, s3_bucket, tmp_path),
        "STUDIO_CELERY_BROKER_URL": broker_url,
        "STUDIO_CELERY_BACKEND_URL": "redis://127.0.0.1:6379/0",
    }
    env["DAGSTER_HOME"] = str(_celery_home(tmp_path / "daemon-home"))
    standin.script.hold = HELD
    ports = [5432, 5672, 6379, int(urlsplit(s3_server).port or 80), int(standin.host.split(":")[1])]
    worker = [
        str(BIN / "celery"), "-A", "studio_assets.celery_worker", "worker", "-Q", "dagster",
        "-c", "2", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    with ExitStack() as stack:
        stack.enter_context(dagster_process(DAEMON, env, tmp_path / "daemon.log"))
        hosts = {
            name: stack.enter_context(machines.machine(index, ports))
            for index, name in enumerate(WORKERS, start=1)
        }
        workers = {
            name: stack.enter_context(
                dagster_process(
                    [*hosts[name].prefix, *worker, "-n", f"{name}@%h"],
                    _machine(env, tmp_path / name),
                    tmp_path / f"{name}.log",
                    cwd=tmp_path / name / "work",
                )
            )
            for name in WORKERS
        }
        groups = {proc.pid: name for name, proc in workers.items()}
        projects = [
            studio(env, "submit", str(spec(tmp_path / f"p{n}", f"Worker house {n}")))["id"]
            for n in range(3)
        ]
        held = studio(env, "submit", str(spec(tmp_path / "held", "Held house", HELD)))["id"]
        for project in projects:
            done = wait_until(lambda p=project: _finished(env, p), 300, f"project {project}")
            assert done["status"] == "completed", (done, _logs(tmp_path))
        wait_until(lambda: _generating(env, held, standin), 240, "the kitchen clip in flight")
        first_run = studio(env, "status", held)["run_id"]
        with _instance(env) as instance:
            runs = [studio(env, "status", p)["run_id"] for p in projects]
            landed = {run: _worker_of(instance, run, groups) for run in [*runs, first_run]}
        assert set(landed.values()) == set(WORKERS), landed  # both machines took runs

        victim = landed[first_run]
        assert victim is not None
        os.killpg(workers[victim].pid, signal.SIGKILL)  # the machine is gone, all at once

        dead = wait_until(lambda: _run_finished(env, first_run), 300, "the dead run to end")
        assert dead.status == dg.DagsterRunStatus.FAILURE
        with _instance(env) as instance:
            retry = wait_until(lambda: _retry_of(instance, first_run), 120, "its retry run")
        standin.script.hold = None  # the kitchen clip finishes while the retry waits for it
        done = wait_until(lambda: _finished(env, held), 300, "the retried project")
        with _instance(env) as instance:
            survivor = _worker_of(instance, retry.run_id, groups)

    assert done["status"] == "completed", (done, _logs(tmp_path))
    assert done["run_id"] == retry.run_id
    assert survivor == next(name for name in WORKERS if name != victim)
    assert len(standin.jobs) == 8  # 4 projects × 2 clips, each bought once
    assert done["cost"]["actual_cents"] == done["cost"]["estimated_cents"]
