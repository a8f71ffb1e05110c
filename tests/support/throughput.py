"""Many video projects from several workspaces at once, through the real daemon.

A `Load` (projects per workspace, clips and seamless transitions per project, the provider's
fixed latency, the provider budget) is run on a production-shaped studio: Dagster storage and
the app DB on fresh Postgres databases, media on S3 (moto's server), `dagster-daemon` with its
sensors and run queue (deploy/dagster.yaml), run workers talking fal's queue protocol to the
stand-in, which keeps every job IN_PROGRESS for `latency_s` and logs when it was accepted and
when it ended.

The projects are written as rows (what `studio submit` does), every big-workspace project
first — the case a FIFO queue gets wrong. `run_load` returns what happened: when each project
was submitted and completed (its row's own timestamps) and the stand-in's log.

Used by bench/throughput_bench.py (the full load, figures printed) and
tests/live/test_fair_share.py (a small load, outcomes asserted).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import sqlalchemy as sa
from moto.server import ThreadedMotoServer
from psycopg import sql

from resources.database import engine_for, upgrade
from resources.models import VideoProject
from studio_assets.app.samples import room_photo
from studio_assets.cli.wiring import Wiring
from tests.support.dagster_processes import dagster_process
from tests.support.fal_standin import FAL_KEY, make_certificate, make_media, running_standin
from tests.support.fal_standin import standin_env as fal_env
from tests.support.peers import PG_ADMIN_DSN, _drop_database

ROOT = Path(__file__).resolve().parents[2]
DAEMON = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"]
ROOMS = ("exterior", "kitchen", "living-room", "bedroom", "bathroom", "office")
TERMINAL = ("completed", "failed", "canceled")


@dataclass(frozen=True)
class Load:
    projects: dict[str, int]
    """Workspace → how many projects it submits (the first one submits first)."""
    clips: int = 4
    seamless: int = 1
    """Seamless transitions per project (each one more paid request)."""
    latency_s: float = 3.0
    budget: int = 8
    """STUDIO_PROVIDER_CONCURRENCY."""

    @property
    def requests(self) -> int:
        return sum(self.projects.values()) * (self.clips + self.seamless)

    @property
    def ideal_s(self) -> float:
        """Total provider-seconds ÷ budget: the makespan of a budget never left idle."""
        return self.requests * self.latency_s / self.budget


@dataclass(frozen=True)
class Project:
    workspace: str
    status: str
    submitted_at: float
    ended_at: float

    @property
    def took_s(self) -> float:
        return self.ended_at - self.submitted_at


@dataclass(frozen=True)
class Outcome:
    load: Load
    projects: list[Project]
    spans: list[tuple[float, float | None]]
    """The stand-in's log: (accepted, ended) of every request it was sent."""
    max_in_flight: int

    @property
    def makespan_s(self) -> float:
        first = min(p.submitted_at for p in self.projects)
        return max(p.ended_at for p in self.projects) - first

    @property
    def makespan_ratio(self) -> float:
        return self.makespan_s / self.load.ideal_s

    @property
    def busy_ratio(self) -> float:
        """Request-seconds at the stand-in ÷ (budget × makespan): how full the budget was."""
        held = sum(end - start for start, end in self.spans if end is not None)
        return held / (self.load.budget * self.makespan_s)

    @property
    def mean_request_s(self) -> float:
        """Accepted → result fetched, on average (the latency plus our polling)."""
        ended = [end - start for start, end in self.spans if end is not None]
        return statistics.fmean(ended) if ended else 0.0

    def took(self, workspaces: set[str]) -> list[float]:
        return sorted(p.took_s for p in self.projects if p.workspace in workspaces)

    @property
    def big(self) -> str:
        return max(self.load.projects, key=lambda ws: self.load.projects[ws])

    @property
    def small(self) -> set[str]:
        return set(self.load.projects) - {self.big}

    def small_p95_s(self) -> float:
        took = self.took(self.small)
        return took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]

    def big_median_s(self) -> float:
        return statistics.median(self.took({self.big}))


def run_load(load: Load, workdir: Path, timeout_s: float = 1800) -> Outcome:
    """Submit the load, wait until every project ends (or `timeout_s`), report what happened."""
    cert, key = make_certificate(workdir)
    media = make_media(workdir)
    with (
        _database("studio_load_dagster") as dagster_db,
        _database("studio_load_app") as app_db,
        running_standin(cert, key, media, FAL_KEY) as standin,
        _s3() as s3_env,
    ):
        app_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{app_db}"
        upgrade(app_url)
        standin.script.latency_s = load.latency_s
        env = _environment(workdir, dagster_db, app_url, load.budget)
        env.update(fal_env(standin, cert, workdir / "fal-home"), **s3_env)
        with _environ(env), dagster_process(DAEMON, env, workdir / "daemon.log"):
            submitted = _submit(load, Wiring(), workdir)
            projects = _wait(app_url, submitted, timeout_s)
        return Outcome(load, projects, standin.spans(), standin.max_in_flight())


def _submit(load: Load, studio: Wiring, workdir: Path) -> dict[str, str]:
    """Write every project's rows, the biggest workspace's first: {project id: workspace}."""
    photos = [room_photo(workdir / f"{room}.jpg", room, (640, 360)) for room in ROOMS]
    submitted = {}
    for workspace, count in sorted(load.projects.items(), key=lambda item: -item[1]):
        for n in range(count):
            clips = [
                {
                    "image": str(photos[i % len(photos)]),
                    "room_type": ROOMS[i % len(ROOMS)],
                    "transition": "seamless" if i < load.seamless else "cut",
                }
                for i in range(load.clips)
            ]
            spec = {"name": f"{workspace} listing {n + 1}", "workspace_id": workspace}
            submitted[studio.submit_project({**spec, "clips": clips})] = workspace
    return submitted


def _wait(app_url: str, submitted: dict[str, str], timeout_s: float) -> list[Project]:
    """Poll the rows until all have ended; their created/updated stamps are the times."""
    table = VideoProject.__table__
    query = sa.select(table.c.id, table.c.status, table.c.created_at, table.c.updated_at)
    deadline = time.monotonic() + timeout_s
    engine = engine_for(app_url)
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(table.c.id.in_(list(submitted)))).all()
        if all(row.status in TERMINAL for row in rows) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    engine.dispose()
    return [
        Project(
            workspace=submitted[row.id],
            status=row.status,
            submitted_at=row.created_at.timestamp(),
            ended_at=row.updated_at.timestamp(),
        )
        for row in rows
    ]


def _environment(workdir: Path, dagster_db: str, app_url: str, budget: int) -> dict[str, str]:
    home = workdir / "dagster"
    home.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STUDIO_", "DAGSTER_", "FAL_", "AWS_"))
    }
    env.update(
        STUDIO_HOME=str(workdir / "home"),
        STUDIO_DATABASE_URL=app_url,
        STUDIO_PROVIDER="fal",
        STUDIO_PROVIDER_CONCURRENCY=str(budget),
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT="5432",
        DAGSTER_PG_USER="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_DB=dagster_db,
    )
    return env


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment replaced by `env` (the in-process `Wiring` reads it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free port with a bucket: the environment that points studio at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "STUDIO_STORAGE_URL": "s3://studio-load/media",
        "STUDIO_S3_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=env["STUDIO_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="studio-load")
    try:
        yield env
    finally:
        server.stop()


@contextmanager
def _database(prefix: str) -> Iterator[str]:
    """A fresh Postgres database on 127.0.0.1:5432 (its name), dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            _drop_database(admin, name)
