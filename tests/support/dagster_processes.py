"""A real `dagster-webserver` for tests, on an empty studio home of the test's own.

Loaded as a plugin (tests/conftest.py). `studio_home` points STUDIO_HOME and DAGSTER_HOME at a
fresh folder (seeded with this repo's dagster.yaml, no FAL_KEY); `webserver` starts Dagit on a
free loopback port in that environment and always stops it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WEBSERVER = str(Path(sys.executable).parent / "dagster-webserver")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dagster_process(
    args: list[str], env: dict[str, str], log: Path | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen]:
    """Start a long-running Dagster process (in its own process group), output to `log`;
    always stop it and its children."""
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM the process, give it and what it started (code servers, run workers: its
    process group) `grace_s` to exit, then SIGKILL whatever of the group is left."""
    proc.terminate()
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and (proc.poll() is None or _group_alive(proc.pid)):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_webserver(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not start within {timeout_s:.0f} s")


@contextmanager
def running_webserver(env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """`dagster-webserver -w workspace.yaml` (default: this environment); yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [WEBSERVER, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with dagster_process(args, env or dict(os.environ), log):
        wait_for_webserver(url)
        yield url


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty STUDIO_HOME (and DAGSTER_HOME inside it) set in the environment."""
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("FAL_KEY", raising=False)
    return home


@pytest.fixture
def webserver(studio_home: Path) -> Iterator[str]:
    """Base URL of a dagster-webserver on `studio_home`'s instance."""
    with running_webserver() as url:
        yield url
