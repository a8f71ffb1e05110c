"""Running a row here with a live bar, and printing its status JSON when it ends."""

from __future__ import annotations

import sys
from typing import Any

import typer

from resources.database import through_outage
from studio_assets.cli.output import DONE, emit, poller, progress_bar
from studio_assets.cli.wiring import Wiring

OUTAGE_PATIENCE_S = 120.0


def run_and_report(
    wiring: Wiring, row_id: str, as_json: bool, run_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the row's job in-process with a progress bar; return its final status JSON."""
    with progress_bar(sys.stderr.isatty()) as progress:
        poll = poller(progress, lambda: wiring.status(row_id))
        wiring.run(row_id, run_config=run_config, on_poll=poll)
        through_outage(poll, OUTAGE_PATIENCE_S)
    return through_outage(lambda: wiring.status(row_id), OUTAGE_PATIENCE_S)


def report_or_run(wiring: Wiring, row_id: str, wait: bool, as_json: bool) -> None:
    """Print the row's status; with `wait`, run it here first (exit 1 unless it succeeded)."""
    status = run_and_report(wiring, row_id, as_json) if wait else wiring.status(row_id)
    emit(status, as_json)
    if wait and status["status"] not in DONE:
        raise typer.Exit(1)
