"""Which process executes an in-process run (`studio run`, `--wait`), and whether it is gone.

A run executed in the CLI's own process has no run worker and no code server for Dagster to
watch: if the process is killed, the run stays `STARTED` and its row `generating` forever. So
the run carries the process's identity as a tag — host, pid and the pid's start time (a pid is
reused; a pid with the same start time is the same process) — and anyone on the same host can
tell a dead owner from a live one: `studio status`/`retry`/`cancel` and the daemon's
dead-run sensor (sensors/run_health.py).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

OWNER_TAG = "studio/process"


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), "" where unknown, None if
    there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _exists(pid)
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the parenthesised name


def _exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def owner_tag() -> dict[str, str]:
    """The tag naming this process as the run's executor."""
    pid = os.getpid()
    return {OWNER_TAG: f"{socket.gethostname()}:{pid}:{_started(pid) or ''}"}


def owner_gone(run: dg.DagsterRun) -> str | None:
    """Why the run's owning process is gone, or None while it lives (or when we cannot tell:
    not an in-process run, or one on another host)."""
    value = run.tags.get(OWNER_TAG)
    if not value:
        return None
    host, pid, started = value.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit():
        return None
    now = _started(int(pid))
    if now is None or (started and now and now != started):
        return f"the `studio run` process (pid {pid}) that executed it is gone"
    return None
