"""`studio serve` as an operator starts it: from a fresh shell without the venv on PATH, on the
home `studio run` recorded to, stopped by SIGTERM whether or not it has a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from studio_assets.app.samples import room_photo
from studio_assets.cli import serving
from tests.support.dagster_processes import free_port, stop_group, wait_for_webserver

BIN = Path(sys.executable).parent
STUDIO = str(BIN / "studio")
STOP_WITHIN_S = 20.0


def fresh_shell_env(home: Path) -> dict[str, str]:
    """A login shell's environment: no venv on PATH, no DAGSTER_HOME, no FAL_KEY."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != BIN]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "STUDIO_"))}
    env.pop("FAL_KEY", None)
    env.pop("VIRTUAL_ENV", None)
    return {**env, "PATH": os.pathsep.join(path or ["/usr/bin:/bin"]), "STUDIO_HOME": str(home)}


def _ignore_sigint() -> None:
    # What a non-interactive shell does to `cmd &`; Dagster then used to map SIGTERM to it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, command) of every live (non-zombie) process in process group `pgid`."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append((int(stat.parent.name), cmdline.strip()))
    return members


@contextmanager
def studio_serve(
    env: dict[str, str], cwd: Path, log: Path
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`studio serve` with no terminal (stdin closed, output to a file, SIGINT ignored)."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [STUDIO, "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_ignore_sigint,
        )
        try:
            yield proc, f"http://127.0.0.1:{port}"
        finally:
            stop_group(proc, grace_s=5)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    pytest.fail(f"{what} within {timeout_s:.0f} s")


def daemon_healthy(url: str) -> bool:
    data = graphql(
        url,
        "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }",
    )
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    return all(s["healthy"] for s in statuses if s["required"])


def stop_and_time(proc: subprocess.Popen, whole_group: bool) -> tuple[float, list]:
    """SIGTERM the group (or only `studio serve`); seconds until no process of the group is left."""
    started = time.monotonic()
    if whole_group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    while time.monotonic() - started < STOP_WITHIN_S + 10:
        proc.poll()
        left = group_members(proc.pid)
        if not left:
            return time.monotonic() - started, []
        time.sleep(0.2)
    return time.monotonic() - started, group_members(proc.pid)


def test_serve_runs_the_dagster_programs_next_to_its_interpreter() -> None:
    root = Path(__file__).resolve().parents[2]
    webserver, daemon = serving.serve_commands(root, "127.0.0.1", 3000)
    assert webserver[0] == str(BIN / "dagster-webserver") and daemon[0] == str(
        BIN / "dagster-daemon"
    )
    assert webserver[1:] == ["-w", str(root / "workspace.yaml"), "-h", "127.0.0.1", "-p", "3000"]
    assert daemon[1:] == ["run", "-w", str(root / "workspace.yaml")]
    env = serving.serve_environment(Path("/d"), Path("/s"))
    assert env["PATH"].split(os.pathsep)[0] == str(BIN)
    assert (env["DAGSTER_HOME"], env["STUDIO_HOME"]) == ("/d", "/s")


@pytest.mark.slow
def test_studio_serve_shows_earlier_cli_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = fresh_shell_env(home)
    photo = room_photo(elsewhere / "kitchen.jpg", "kitchen", (480, 270))
    made = subprocess.run(
        [STUDIO, "image", "enhance", "kitchen.jpg", "--room", "kitchen", "--wait", "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    status = json.loads(made.stdout.strip().splitlines()[-1])
    assert status["status"] == "completed" and status["run_id"] and photo.exists()

    with studio_serve(env, elsewhere, tmp_path / "serve.log") as (proc, url):
        wait_for_webserver(url)
        runs = graphql(
            url,
            "query($ids: [String!]) { runsOrError(filter: {runIds: $ids}) "
            "{ ... on Runs { results { runId status jobName } } } }",
            {"ids": [status["run_id"]]},
        )["runsOrError"]["results"]
        assert [(r["runId"], r["status"]) for r in runs] == [(status["run_id"], "SUCCESS")]
        queue = graphql(url, "{ instance { runQueueConfig { maxConcurrentRuns } } }")
        assert queue["instance"]["runQueueConfig"]["maxConcurrentRuns"] == 12  # our dagster.yaml
        assert (home / "dagster" / "dagster.yaml").read_text() == (
            Path(__file__).resolve().parents[2] / "dagster.yaml"
        ).read_text()
        eventually(lambda: daemon_healthy(url), 120, "the daemon did not report healthy")
        before = group_members(proc.pid)
        assert any("dagster-webserver" in c for _, c in before), before
        assert any("dagster-daemon" in c for _, c in before), before

        seconds, left = stop_and_time(proc, whole_group=True)
        assert not left, f"still running {seconds:.0f} s after SIGTERM: {left}"
        assert seconds < STOP_WITHIN_S
        assert proc.wait(timeout=5) == 0


@pytest.mark.slow
def test_sigterm_to_studio_serve_alone_stops_what_it_started(tmp_path: Path) -> None:
    """As `kill $PID` from a script would: only studio's own process gets the signal."""
    env = fresh_shell_env(tmp_path / "home")
    with studio_serve(env, tmp_path, tmp_path / "serve.log") as (proc, url):
        wait_for_webserver(url)
        eventually(
            lambda: len(group_members(proc.pid)) >= 4,  # studio, webserver, daemon, code servers
            60,
            "the code servers did not start",
        )
        seconds, left = stop_and_time(proc, whole_group=False)
        assert not left, f"still running {seconds:.0f} s after SIGTERM: {left}"
        assert seconds < STOP_WITHIN_S
