"""A Postgres cluster of a test's own (initdb + pg_ctl), so the test can stop and start it.

The shared server at 127.0.0.1:5432 must stay up for every other test; outages are played on
this one. Postgres refuses to run as root, so as root the cluster belongs to `postgres`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.database import upgrade


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """`url`, `stop()`, `start()` and `outage(seconds)` for one private cluster."""

    def __init__(self, base: Path) -> None:
        self.data, self.port = base / "pgdata", _free_port()
        self.log = base / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:  # `base` must be reachable by `postgres`: no 0700 parents
            os.chown(base, pwd.getpwnam("postgres").pw_uid, -1)
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        self.outages: list[threading.Thread] = []

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self._as_owner, *args], check=True, capture_output=True, timeout=timeout)

    def create(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        """Stop at once, dropping every connection (what a crash or failover looks like)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def outage(self, seconds: float) -> None:
        """Stop now; start again `seconds` later in the background."""
        self.stop()

        def restart() -> None:
            time.sleep(seconds)
            self.start()

        thread = threading.Thread(target=restart, daemon=True)
        thread.start()
        self.outages.append(thread)

    def wait_up(self) -> None:
        for thread in self.outages:
            thread.join(timeout=120)

    def destroy(self) -> None:
        self.wait_up()
        subprocess.run(
            [*self._as_owner, "pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A migrated private Postgres, always destroyed."""
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        if os.environ.get("CI"):
            pytest.fail("initdb/pg_ctl are missing: CI needs them for the fault suite")
        pytest.skip("initdb/pg_ctl not installed")
    base = Path(tempfile.mkdtemp(prefix="studio-throwaway-pg-"))
    cluster = ThrowawayPostgres(base)
    try:
        cluster.create()
        upgrade(cluster.url)
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
