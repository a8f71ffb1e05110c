"""What `studio status --watch` says about a row that is not moving: a draft, or a queue that
nobody takes from."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg

from resources.database import AppDatabase
from resources.repository import rows
from resources.repository.ledger import aware, now

QUEUE_PATIENCE_S = 30.0  # a sensor takes a queued row within seconds when the daemon runs
HEARTBEAT_STALE_S = 60.0


def draft_note(status: dict[str, Any]) -> str | None:
    """A draft is never picked up: say how to start it instead of waiting forever."""
    if status["status"] != rows.RowStatus.DRAFT or status.get("run_id"):
        return None  # a launched draft: its run takes it in a moment
    row_id = status["id"]
    return (
        f"{row_id} is a draft: it was not submitted, so nothing will run it. "
        f"`studio run {row_id}` runs it here; `studio launch {row_id}` sends it to Dagster"
    )


def queue_note(db: AppDatabase, instance: dg.DagsterInstance, status: dict[str, Any]) -> str | None:
    """For a row queued longer than a sensor needs: how long, and whether a daemon runs."""
    if status["status"] != rows.RowStatus.QUEUED:
        return None
    with db.session() as session:
        kind = rows.find_kind(session, status["id"])
        queued_at = rows.get(session, rows.model_for(kind), status["id"]).queued_at
    waited = (now() - aware(queued_at)).total_seconds() if queued_at else 0.0
    if waited < QUEUE_PATIENCE_S:
        return None
    if daemon_alive(instance):
        return f"queued for {waited:.0f} s; the Dagster daemon is running (the queue is busy)"
    return (
        f"queued for {waited:.0f} s; no Dagster daemon is running on this instance, so nothing "
        f"will take it: `studio serve` starts one, or `studio run {status['id']}` runs it here"
    )


def daemon_alive(instance: dg.DagsterInstance) -> bool:
    """A sensor daemon has reported in within the last minute on this Dagster instance."""
    beats = instance.get_daemon_heartbeats()
    beat = beats.get("SENSOR")
    return beat is not None and time.time() - beat.timestamp < HEARTBEAT_STALE_S
