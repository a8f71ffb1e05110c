"""CLI output: one JSON object on the last stdout line (`--json`), errors on stderr, progress."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from resources.repository import rows
from studio_assets.domain.wording import plural

__all__ = ["DONE", "RESTING", "emit", "err_console", "fail", "plural", "poller", "progress_bar"]

# soft_wrap: a path or an id is never broken across lines when stderr is not a terminal
err_console = Console(stderr=True, soft_wrap=True)
console = Console(soft_wrap=True)

RESTING = tuple(str(s) for s in rows.RESTING)
"""Where a run leaves a row and nothing moves until someone acts: `--watch` stops there."""
DONE = ("completed", "previewed")
"""A `studio run` that ends here succeeded (a preview is a success too)."""


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def emit(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        return
    console.print_json(json.dumps(data, default=str))


def _terminal() -> Console:
    """A console on a copy of stderr's descriptor: while a step runs in this process, Dagster
    captures fds 1 and 2 into its compute logs, and a bar drawn there would not be seen."""
    try:
        copy = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (OSError, ValueError):  # no real descriptor (a test's captured stream)
        return err_console
    return Console(file=copy, stderr=True, soft_wrap=True)


def progress_bar(enabled: bool) -> Progress:
    """The live bar of `studio run`/`demo`/`--wait`, drawn on the terminal the user sees."""
    return Progress(
        TextColumn("[bold]{task.fields[status]:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_terminal(),
        disable=not enabled,
        transient=False,
    )


def poller(progress: Progress, read: Callable[[], dict[str, Any]]) -> Callable[[], None]:
    """A callback that refreshes one progress bar from a status JSON."""
    task = progress.add_task("starting…", total=100, status="queued")

    said: list[tuple[str, str]] = []

    def poll() -> None:
        status = read()
        percent = status["progress"]
        if isinstance(percent, dict):
            percent = percent["percentage"]
        label = status.get("label") or status.get("error") or "Starting…"
        if progress.disable:  # not a terminal (a log, CI): one line per change of stage
            if not said or said[-1] != (status["status"], label):
                said.append((status["status"], label))
                progress.console.print(
                    f"{status['status']:<10} {percent or 0:>3}% {label}", highlight=False
                )
            return
        progress.update(
            task, completed=percent or 0, description=label[:60], status=status["status"]
        )

    return poll
