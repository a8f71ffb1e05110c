"""Webhook events sent from the outbox: at once when a row ends, again until delivered.

Every terminal transition already has its event in the outbox (`resources.repository.outbox`,
written with the status change). `notify` sends a row's due events now — on a thread of its
own from a run, so a receiver that is down never delays the row — and the outbox sensor sends
whatever is still pending, with backoff, for hours (`deliver_due`).
"""

from __future__ import annotations

import threading

import dagster as dg
from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.models import ImageGeneration
from resources.repository import outbox, rows
from resources.webhooks import Log, WebhookResource


def _event_owner(session: Session, kind: str, row_id: str) -> str:
    """Whose events a row's transition makes: a photo of an image project speaks through its
    project (one event when the project ends); an edit, like any image, for itself."""
    if kind != "image":
        return row_id
    photo = rows.get(session, ImageGeneration, row_id)
    if photo.image_project_id and photo.parent_id is None:
        return str(photo.image_project_id)
    return row_id


def notify(
    db: AppDatabase,
    webhooks: WebhookResource,
    kind: str,
    row_id: str,
    log: Log,
    background: bool = True,
) -> bool:
    """Send the row's due events now; never raises. Whether there was one to send (what fails
    stays pending for the outbox sensor)."""
    if not webhooks.enabled:
        return False
    try:
        with db.session() as session:
            owner = _event_owner(session, kind, row_id)
            due = outbox.due(session, row_id=owner)
    except Exception as exc:  # a webhook must never fail the run or the sensor
        log.warning(f"webhook for {kind} {row_id} not sent now: {type(exc).__name__}: {exc}")
        return False
    if not due:
        return False
    if background:
        log.info(f"webhook for {owner} queued ({', '.join(due)})")
        threading.Thread(
            target=deliver,
            args=(db, webhooks, due, dg.get_dagster_logger("studio.webhooks")),
            name=f"studio-webhook-{owner}",
            daemon=False,  # a run worker exits right after its run: let the POST finish
        ).start()
    else:
        deliver(db, webhooks, due, log)
    return True


def deliver(db: AppDatabase, webhooks: WebhookResource, events: list[str], log: Log) -> int:
    """POST each event this caller takes (`outbox.take`), recording how it went; never raises.
    How many were delivered."""
    sent = 0
    for event in events:
        try:
            with db.session() as session:
                payload = outbox.take(session, event)
            if payload is None:
                continue  # delivered meanwhile, or another deliverer has it
            failure = webhooks.send(payload, log)
            with db.session() as session:
                if failure is None:
                    outbox.delivered(session, event)
                else:
                    outbox.attempt_failed(session, event, failure)
            sent += failure is None
        except Exception as exc:  # the outbox keeps it; the sensor tries again
            log.warning(f"webhook {event} not delivered: {type(exc).__name__}: {exc}")
    return sent


def deliver_due(db: AppDatabase, webhooks: WebhookResource, log: Log, limit: int = 50) -> int:
    """Every pending event whose next attempt has come (the outbox sensor's tick)."""
    if not webhooks.enabled:
        return 0
    with db.session() as session:
        due = outbox.due(session, limit=limit)
    return deliver(db, webhooks, due, log)
