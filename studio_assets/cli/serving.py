"""`studio serve`: Dagit and the daemon on the persistent Dagster home, as one stoppable unit.

The Dagster programs are found next to this interpreter (a venv's `bin/` need not be on PATH).
studio stays in the foreground as their supervisor: SIGTERM, SIGINT or SIGHUP — from a
terminal, systemd or a script — stops every process it started within `GRACE_S` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

GRACE_S = 10.0
# SIGHUP: the terminal went away. Windows has no SIGHUP.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)) if s is not None
)
PR_SET_CHILD_SUBREAPER = 36


def dagster_program(script: str, module: str) -> list[str]:
    """`script` from this interpreter's folder, else `python -m module` (same environment)."""
    folder = Path(sys.executable).parent  # not resolved: a venv's python links outside it
    for candidate in (folder / script, folder / f"{script}.exe"):
        if candidate.is_file():
            return [str(candidate)]
    return [sys.executable, "-m", module]


def serve_commands(root: Path, host: str, port: int) -> list[list[str]]:
    """dagster-webserver bound to `host` (Dagit has no login) and dagster-daemon, on the
    project's workspace.yaml."""
    workspace = str(root / "workspace.yaml")
    webserver = dagster_program("dagster-webserver", "dagster_webserver")
    daemon = dagster_program("dagster-daemon", "dagster._daemon")
    return [
        [*webserver, "-w", workspace, "-h", host, "-p", str(port)],
        [*daemon, "run", "-w", workspace],
    ]


def serve_environment(dagster_home: Path, studio_home: Path) -> dict[str, str]:
    """This environment with the homes pinned and the interpreter's folder first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "STUDIO_HOME": str(studio_home),
        "PATH": os.pathsep.join(p for p in (bin_dir, path) if p),
    }


def supervise(
    commands: Sequence[Sequence[str]], env: dict[str, str], cwd: Path, grace_s: float = GRACE_S
) -> int:
    """Run `commands` until a stop signal or until one of them exits; then stop them all."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    # Our own handlers, not an inherited SIG_IGN (a shell runs `cmd &` with SIGINT ignored):
    # handlers reset to the default in the children, so Dagster installs its own there.
    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    _become_subreaper()
    children: list[subprocess.Popen[bytes]] = []
    code = 0
    try:
        for command in commands:
            if not stopping:
                children.append(subprocess.Popen(list(command), cwd=cwd, env=env))
        last_reap = time.monotonic()
        while not stopping:
            if time.monotonic() - last_reap > 5:
                _reap_orphans({c.pid for c in children})  # run workers outliving a code server
                last_reap = time.monotonic()
            ended = [
                (c, cmd) for c, cmd in zip(children, commands, strict=False) if c.poll() is not None
            ]
            if ended:
                child, command = ended[0]
                code = child.returncode or 1
                print(f"studio serve: {command[0]} exited ({code})", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        stop_all(children, grace_s)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def stop_all(children: Sequence[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM the children, wait up to `grace_s` for them and what they started (code servers,
    run workers), then SIGTERM the rest of the family and SIGKILL whatever remains."""
    own = {c.pid for c in children}
    family = set(descendants(os.getpid())) - own
    for child in children:
        if child.poll() is None:
            child.terminate()
    _wait_for(children, family, time.monotonic() + grace_s)
    family |= set(descendants(os.getpid())) - own  # orphans reparented to us (subreaper)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)
        for pid in family:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
        _wait_for(children, family, time.monotonic() + 2.0)


def _wait_for(
    children: Sequence[subprocess.Popen[bytes]], family: set[int], deadline: float
) -> None:
    while time.monotonic() < deadline:
        for pid in family:
            _reap(pid)
        if all(c.poll() is not None for c in children) and not any(map(_alive, family)):
            return
        time.sleep(0.1)


def _process_tree() -> dict[int, list[int]]:
    """{parent pid: child pids} from /proc (Linux); empty where there is no /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(root: int) -> list[int]:
    """Every process below `root`."""
    tree = _process_tree()
    found, queue = [], list(tree.get(root, []))
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(tree.get(pid, []))
    return found


def _reap_orphans(own: set[int]) -> None:
    """Reap adopted orphans that ended (never our own children: Popen waits for those)."""
    for pid in _process_tree().get(os.getpid(), []):
        if pid not in own and not _alive(pid):
            _reap(pid)


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _become_subreaper() -> None:
    """Linux: orphaned grandchildren (a code server whose webserver ended) become ours to stop
    and reap, instead of init's."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
