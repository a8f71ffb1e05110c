"""Real test peers as pytest fixtures: a Postgres database per session and a local S3 server.

Loaded as a plugin (`pytest_plugins = ["tests.support.peers"]` in tests/conftest.py). Every peer is
started lazily by the first test that asks for it and always stopped at the end of the session.

- `pg_url`: a fresh, empty database on 127.0.0.1:5432 for the whole session (skipped when
  Postgres is unreachable; a failure when `CI=true`).
- `db_url`: a migrated, empty app database, once on SQLite and once on Postgres.
- `s3_server` / `s3_bucket`: moto's S3 server on a free local port and a fresh bucket on it.
- `http_server`: a plain HTTP server on 127.0.0.1 serving whatever routes the test declares.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from psycopg import sql

from resources.database import AppDatabase, engine_for, upgrade
from resources.models import Base

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _pg_admin() -> psycopg.Connection:
    """An autocommit connection to the `postgres` maintenance database (fails or skips)."""
    try:
        return psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = f"Postgres at 127.0.0.1:5432 is unreachable: {str(exc).strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh Postgres database `studio_test_<random>`, dropped after the session."""
    name = f"studio_test_{secrets.token_hex(4)}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = PG_URL.format(name=name)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with _pg_admin() as admin:
            _drop_database(admin, name)


@pytest.fixture(scope="session")
def _pg_migrated(pg_url: str) -> str:
    upgrade(pg_url)
    return pg_url


@pytest.fixture
def pg_app_url(_pg_migrated: str) -> str:
    """The session's Postgres database, migrated and emptied before the test."""
    tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with engine_for(_pg_migrated).begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
        conn.exec_driver_sql(f"TRUNCATE {tables} CASCADE")
    return _pg_migrated


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied per test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "app.db"
    upgrade(f"sqlite:///{path}")
    engine_for(f"sqlite:///{path}").dispose()  # closing checkpoints the WAL into the file
    return path


@pytest.fixture
def sqlite_app_url(_sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty SQLite database of the test's own."""
    path = tmp_path / "app.db"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    yield url
    engine_for(url).dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty app database URL; tests using it run on SQLite and on Postgres."""
    fixture = "pg_app_url" if request.param == "postgres" else "sqlite_app_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def app_db(db_url: str) -> AppDatabase:
    """The app database resource on `db_url`."""
    return AppDatabase(url=db_url)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of moto's S3 server on 127.0.0.1; fake AWS credentials for the session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
        ):
            mp.delenv(name, raising=False)
        no_proxy = os.environ.get("NO_PROXY", "")
        mp.setenv("NO_PROXY", ",".join(filter(None, [no_proxy, "127.0.0.1", "localhost"])))
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_client(s3_server: str) -> Any:
    """A plain boto3 S3 client for the test server (to look behind the storage resource)."""
    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_client: Any) -> Iterator[str]:
    """A fresh, uniquely named bucket on the test server; emptied and removed afterwards."""
    name = f"studio-{secrets.token_hex(6)}"
    s3_client.create_bucket(Bucket=name)
    yield name
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3_client.delete_object(Bucket=name, Key=obj["Key"])
    s3_client.delete_bucket(Bucket=name)


@dataclass
class Route:
    """What the test HTTP server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    content_length: bool = True
    """False: no Content-Length header, the body ends when the connection closes."""
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float = 0.0
    """Pause before each 64 KiB piece of the body (a slow server)."""


class _Handler(BaseHTTPRequestHandler):
    server: HttpPeer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        route = self.server.routes.get(self.path.split("?", 1)[0], Route(b"not found", 404))
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.content_length:
            self.send_header("Content-Length", str(len(route.body)))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(ConnectionError):
            for start in range(0, len(route.body), 1 << 16):
                time.sleep(route.drip_s)
                self.wfile.write(route.body[start : start + (1 << 16)])
                self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpPeer(ThreadingHTTPServer):
    """An HTTP/1.0 server on 127.0.0.1 whose answers are `routes` (path → `Route`)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve(self, path: str, body: bytes = b"", **route: Any) -> str:
        """Answer GET `path` with `body` (and `Route` options); returns the full URL."""
        self.routes[path] = Route(body, **route)
        return self.base_url + path


@pytest.fixture(scope="session")
def _http_peer() -> Iterator[HttpPeer]:
    server = HttpPeer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server(_http_peer: HttpPeer) -> Iterator[HttpPeer]:
    """The session's local HTTP server with no routes; declare them with `serve(path, body)`."""
    _http_peer.routes.clear()
    yield _http_peer
    _http_peer.routes.clear()


@pytest.fixture
def pg_dagster_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose run, event-log and schedule storage live on Postgres."""
    name = f"studio_dagster_{secrets.token_hex(4)}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    overrides = {
        "storage": {"postgres": {"postgres_url": f"postgresql://postgres@127.0.0.1:5432/{name}"}}
    }
    try:
        with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as instance:
            yield instance
    finally:
        with _pg_admin() as admin:
            _drop_database(admin, name)
