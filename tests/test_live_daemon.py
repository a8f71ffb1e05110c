"""The real thing: dagster-webserver + dagster-daemon on Postgres, sensors on, rows in.

One project is submitted by writing rows (`studio submit`): the sensor, the run queue and the
assets take it to `completed`. A second one is launched over GraphQL while the first is queued
or running, and the one-video-at-a-time limit keeps their runs from overlapping.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from studio_assets.samples import room_photo
from tests.dagster_processes import dagster_process, running_webserver
from tests.peers import PG_ADMIN_DSN, _drop_database

ROOT = Path(__file__).resolve().parent.parent
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


def spec(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    clips = [
        {
            "image": str(room_photo(folder / f"{room}.jpg", room, (640, 360))),
            "room_type": room,
            "transition": "cut",
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

    for key in [k for k in live_env if k.startswith("DAGSTER_PG_")]:
        monkeypatch.setenv(key, live_env[key])
    instance = dg.DagsterInstance.from_config(live_env["DAGSTER_HOME"])
    runs = {
        r.tags["dagster/partition"]: r for r in instance.get_runs() if r.job_name == "video_job"
    }
    assert set(runs) == {first["id"], second["id"]}
    assert runs[first["id"]].tags["dagster/sensor_name"] == "video_submission_sensor"
    assert runs[second["id"]].run_id == launched["run_id"]
    records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    spans = sorted(
        (records[r.run_id].start_time, records[r.run_id].end_time) for r in runs.values()
    )
    assert spans[0][1] <= spans[1][0]  # one video project at a time


def _finished(env: dict[str, str], project_id: str) -> dict | None:
    status = studio(env, "status", project_id)
    return status if status["status"] in ("completed", "failed", "canceled") else None


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
