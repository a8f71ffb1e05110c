"""A row's webhook events as the status JSON and `studio webhooks list` show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from resources.models import WebhookEvent
from resources.repository import outbox


def event_json(event: WebhookEvent) -> dict[str, Any]:
    """An event as the status JSON and `studio webhooks list` show it."""
    return {
        "event_id": event.id,
        "event": event.event,
        "row_id": event.row_id,
        "status": event.status,
        "attempts": event.attempts,
        "next_attempt_at": outbox.iso(event.next_attempt_at),
        "last_error": event.last_error,
        "delivered_at": outbox.iso(event.delivered_at) if event.delivered_at else None,
    }


def row_events(session: Session, row_id: str) -> list[dict[str, Any]]:
    """The row's events, newest first: what was sent, what is still being tried."""
    return [event_json(event) for event in outbox.events(session, row_id)]
