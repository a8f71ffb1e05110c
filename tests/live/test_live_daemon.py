"""The real thing: dagster-webserver + dagster-daemon on Postgres, sensors on, rows in.

One project is submitted by writing rows (`studio submit`): the sensor, the run queue and the
assets take it to `completed`. A second one is launched over GraphQL while the first is queued
or running; both runs carry the tags the queue's limits key on.

Then production shape (fal stand-in + S3 + Postgres): `studio cancel` stops a project while a
clip is still generating at "fal", and `studio retry` finishes it buying only that clip again.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from studio_assets.app.samples import room_photo
from studio_assets.cli.serving import descendants
from tests.support.dagster_processes import dagster_process, running_webserver
from tests.support.fal_standin import FAL_KEY, FalStandin, Media, standin_env
from tests.support.peers import PG_ADMIN_DSN, _drop_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(check, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def studio(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [str(BIN / "studio"), *args, "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def spec(folder: Path, name: str, kitchen_motion: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    clips = [
        {
            "image": str(room_photo(folder / f"{room}.jpg", room, (640, 360))),
            "room_type": room,
            "transition": "cut",
            "motion_prompt": kitchen_motion if room == "kitchen" else None,
        }
        for room in ("exterior", "kitchen")
    ]
    path = folder / "spec.json"
    path.write_text(json.dumps({"name": name, "clips": clips}))
    return path


@pytest.fixture
def live_env(tmp_path: Path, pg_app_url: str) -> Iterator[dict[str, str]]:
    """Environment of a production-shaped studio: both stores on Postgres."""
    name = f"studio_live_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        **os.environ,
        "STUDIO_HOME": str(tmp_path / "home"),
        "STUDIO_DATABASE_URL": pg_app_url,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": name,
    }
    env.pop("FAL_KEY", None)
    try:
        yield env
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            _drop_database(admin, name)


def test_sensor_and_graphql_launches_on_a_live_daemon(
    live_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    with (
        running_webserver(live_env, tmp_path / "webserver.log") as url,
        dagster_process(daemon, live_env, tmp_path / "daemon.log"),
    ):
        first = studio(live_env, "submit", str(spec(tmp_path / "a", "Sensor house")))
        second = studio(live_env, "submit", str(spec(tmp_path / "b", "GraphQL house")), "--draft")
        assert (first["status"], second["status"]) == ("queued", "draft")
        launched = studio(live_env, "launch", second["id"], "--url", url)

        for project in (first, second):
            done = wait_until(
                lambda p=project: _finished(live_env, p["id"]),
                300,
                f"project {project['id']} to finish",
            )
            assert done["status"] == "completed", (done, _logs(tmp_path))
            assert done["output"]["duration_seconds"] == pytest.approx(10.0, abs=0.5)

    with _instance(live_env) as instance:
        runs = {
            r.tags["dagster/partition"]: r
            for r in instance.get_runs(dg.RunsFilter(job_name="video_job"))
        }
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    assert set(runs) == {first["id"], second["id"]}
    assert runs[first["id"]].tags["dagster/sensor_name"] == "video_submission_sensor"
    assert runs[second["id"]].run_id == launched["run_id"]
    # The queue's per-workspace limit keys on it.
    assert {r.tags["studio/workspace"] for r in runs.values()} == {"ws_default"}
    assert all(records[r.run_id].end_time for r in runs.values())


@contextmanager
def _instance(env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    """The live processes' Dagster instance (Postgres), opened from this test process."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in env if k.startswith(("DAGSTER_PG_", "STUDIO_CELERY_"))]:
            mp.setenv(key, env[key])
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            yield instance


def _finished(env: dict[str, str], project_id: str) -> dict | None:
    status = studio(env, "status", project_id)
    return status if status["status"] in ("completed", "failed", "canceled") else None


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))


HELD = "Slow push in towards the marble island."


def test_cancel_a_running_project_then_retry_buys_only_the_unfinished_clip(
    live_env: dict[str, str],
    standin: FalStandin,
    standin_files: tuple[Path, Path, Media],
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    env = _production(live_env, standin, standin_files[0], s3_server, s3_bucket, tmp_path)
    standin.script.hold = HELD  # the kitchen clip keeps generating until we say
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    with (
        running_webserver(env, tmp_path / "webserver.log"),
        dagster_process(daemon, env, tmp_path / "daemon.log"),
    ):
        project = studio(env, "submit", str(spec(tmp_path / "p", "Held house", HELD)))
        wait_until(
            lambda: _generating(env, project["id"], standin), 240, "the kitchen clip in flight"
        )
        kitchen = standin.running[0]

        canceled = studio(env, "cancel", project["id"])

        assert canceled["status"] == "canceled"
        assert kitchen.canceled and standin.running == []
        run_id = canceled["run_id"]
        stopped = wait_until(lambda: _run_finished(env, run_id), 120, "the run to stop")
        assert stopped.status == dg.DagsterRunStatus.CANCELED
        assert studio(env, "status", project["id"])["status"] == "canceled"
        # Nothing bought since: exterior (finished) and kitchen (canceled), nothing running.
        assert len(standin.jobs) == 2 and standin.running == []

        standin.script.hold = None
        assert studio(env, "retry", project["id"])["status"] == "queued"
        done = wait_until(lambda: _finished(env, project["id"]), 300, "the retried project")

    assert done["status"] == "completed", (done, _logs(tmp_path))
    assert done["output"]["duration_seconds"] == pytest.approx(2.0, abs=0.5)  # 1-s stand-in clips
    prompts = [str(job.input["prompt"]) for job in standin.jobs]
    assert len(prompts) == 3 and sum(HELD in p for p in prompts) == 2  # only kitchen again
    assert standin.running == []
    # The key reached fal, and nothing else: not the daemon's, webserver's or runs' logs.
    leaked = [f for f in tmp_path.rglob("*") if f.is_file() and FAL_KEY.encode() in f.read_bytes()]
    assert leaked == []


def _production(
    live_env: dict[str, str],
    standin: FalStandin,
    cert: Path,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> dict[str, str]:
    """The live environment with fal (the stand-in) and S3 (the local server)."""
    return {
        **live_env,
        **standin_env(standin, cert, tmp_path / "fal-home"),
        "STUDIO_PROVIDER": "fal",
        "STUDIO_STORAGE_URL": f"s3://{s3_bucket}/live",
        "STUDIO_S3_ENDPOINT_URL": s3_server,
        **{k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NO_PROXY")},
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_an_image_project_through_the_sensor_on_fal_and_s3(
    live_env: dict[str, str],
    standin: FalStandin,
    standin_files: tuple[Path, Path, Media],
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    """`studio images submit` queues the photos; the image sensor launches one run per photo
    under the image queue limit; the project ends `completed` and its ZIP streams from S3."""
    env = _production(live_env, standin, standin_files[0], s3_server, s3_bucket, tmp_path)
    folder = tmp_path / "listing"
    folder.mkdir()
    rooms = ("exterior", "kitchen", "living-room", "bedroom")
    photos = [
        {"image": str(room_photo(folder / f"{room}.jpg", room, (640, 360))), "room_type": room}
        for room in rooms
    ]
    spec_path = folder / "photos.json"
    spec_path.write_text(json.dumps({"name": "Live listing", "style": "modern", "photos": photos}))
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    with dagster_process(daemon, env, tmp_path / "daemon.log"):
        project = studio(env, "images", "submit", str(spec_path))
        assert project["status"] == "queued"
        done = wait_until(lambda: _finished(env, project["id"]), 300, "the image project")

    assert done["status"] == "completed", (done, _logs(tmp_path))
    assert done["progress"] == {"completed": 4, "total": 4, "percentage": 100}
    assert len(standin.jobs) == 4  # one paid edit per photo, nothing twice
    assert done["cost"]["actual_cents"] == done["cost"]["estimated_cents"] == 4 * 15
    with _instance(env) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="image_job"))
    assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(
        p["id"] for p in done["photos"]
    )
    assert {r.tags["dagster/sensor_name"] for r in runs} == {"image_submission_sensor"}
    assert {r.tags["studio/image_project"] for r in runs} == {project["id"]}  # Dagit filters
    assert {r.tags["studio/workspace"] for r in runs} == {"ws_default"}

    out = tmp_path / "out" / "listing.zip"
    zipped = studio(env, "images", "zip", project["id"], "--output", str(out), "--store")
    assert zipped["zip_url"].startswith("http") and zipped["missing"] == []
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [f"{i + 1:03d}-{room}.jpg" for i, room in enumerate(rooms)]
        assert archive.read("001-exterior.jpg") == standin_files[2].jpeg  # fal's result, kept


@pytest.mark.slow
@pytest.mark.parametrize("victims", [{"run worker"}, {"run worker", "code server"}])
def test_a_run_whose_worker_dies_is_retried_and_buys_nothing_twice(
    victims: set[str],
    live_env: dict[str, str],
    standin: FalStandin,
    standin_files: tuple[Path, Path, Media],
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    env = _production(live_env, standin, standin_files[0], s3_server, s3_bucket, tmp_path)
    standin.script.hold = HELD
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    with dagster_process(daemon, env, tmp_path / "daemon.log") as daemon_proc:
        project = studio(env, "submit", str(spec(tmp_path / "p", "Crashed house", HELD)))
        wait_until(
            lambda: _generating(env, project["id"], standin), 240, "the kitchen clip in flight"
        )
        first_run = studio(env, "status", project["id"])["run_id"]

        killed = _kill(daemon_proc.pid, victims)
        killed_at = time.time()

        assert set(killed.values()) == victims, killed
        dead = wait_until(lambda: _run_finished(env, first_run), 300, "the dead run to end")
        with _instance(env) as instance:
            ended = instance.get_run_record_by_id(first_run)
            retry = wait_until(lambda: _retry_of(instance, first_run), 120, "its retry run")
        assert dead.status == dg.DagsterRunStatus.FAILURE
        assert ended is not None and ended.end_time is not None
        assert ended.end_time - killed_at < 300  # not max_runtime: minutes
        standin.script.hold = None  # the kitchen clip finishes while the retry waits for it
        done = wait_until(lambda: _finished(env, project["id"]), 300, "the retried project")

        with _instance(env) as instance:
            steps = [
                (e.step_key, e.dagster_event_type)
                for e in instance.all_logs(retry.run_id)
                if e.is_dagster_event and e.step_key
            ]
    assert done["status"] == "completed", (done, steps, _logs(tmp_path))
    assert done["run_id"] == retry.run_id
    assert len(standin.jobs) == 2  # exterior and kitchen, each bought once
    assert done["cost"]["actual_cents"] == done["cost"]["estimated_cents"]


def _kill(daemon_pid: int, victims: set[str]) -> dict[int, str]:
    """SIGKILL the daemon's run worker (the process its code server spawned for the run) and,
    if asked, the code server too, both at once: {pid: role}."""
    roles = {}
    for pid in descendants(daemon_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended meanwhile
            continue
        if "spawn_main" in command:
            roles[pid] = "run worker"
        elif " api grpc" in command:
            roles[pid] = "code server"
    killed = {pid: role for pid, role in roles.items() if role in victims}
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    return killed


def _retry_of(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
    return runs[0] if runs else None


def _generating(env: dict[str, str], project_id: str, standin: FalStandin) -> bool:
    status = studio(env, "status", project_id)
    return status["progress"]["completed"] == 1 and len(standin.running) == 1


def _run_finished(env: dict[str, str], run_id: str) -> dg.DagsterRun | None:
    with _instance(env) as instance:
        run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None
