"""The webhook outbox: every terminal transition of a row the app submitted becomes one event
row, written in the same transaction as the status change, and is delivered at least once.

`record` is called by the row moves themselves (`rows._moved`, `image_projects.follow`): a
transition that is committed always has its event. An event's id is stable for one transition
of one submission (`event_id`), so a second `record` of the same transition is a no-op and a
receiver can drop a re-delivery. Delivery takes an event with a guarded UPDATE (`take`: its
next attempt pushed a lease ahead, so two deliverers do not send it at once), then says how it
went (`delivered`, `attempt_failed`: the next attempt backs off, for hours, then gives up).

| from      | move             | to        |
|-----------|------------------|-----------|
| —         | `record`         | pending   |
| pending   | `take`           | pending (next attempt a lease ahead) |
| pending   | `delivered`      | delivered |
| pending   | `attempt_failed` | pending (backed off), or failed after GIVE_UP_AFTER |
| any       | `replay`         | pending, due now |
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resources.models import ImageGeneration, ImageProject, VideoProject, WebhookEvent
from resources.repository import image_projects
from resources.repository.ledger import now
from resources.repository.statuses import TERMINAL

EVENT_NAMES = {VideoProject: "video", ImageGeneration: "image", ImageProject: "image_project"}
BACKOFF_S = (30, 60, 120, 300, 600, 1200, 1800)
"""Seconds before each next attempt; the last one repeats."""
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=60)
"""How long a taken event waits before another deliverer may try it (one POST's whole retry
budget fits well inside)."""


class EventStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def event_id(row_id: str, event: str, submission: int) -> str:
    """Stable for one transition of one submission, so a receiver can drop a re-delivery."""
    digest = hashlib.sha256(f"{row_id}|{event}|{submission}".encode()).hexdigest()[:24]
    return f"evt_{digest}"


def record(session: Session, row: Any) -> None:
    """The event of `row` (as the transaction now has it) if it rests in a terminal status (a
    photo of an image project has none: its project speaks for it once the project ends).
    Idempotent."""
    if row.status not in TERMINAL:
        return
    if isinstance(row, ImageGeneration) and row.image_project_id and row.parent_id is None:
        return
    payload = payload_for(session, row)
    if session.get(WebhookEvent, payload["event_id"]) is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                WebhookEvent(
                    id=payload["event_id"],
                    row_id=row.id,
                    event=payload["event"],
                    payload=payload,
                    status=EventStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now(),
                )
            )
    except IntegrityError:
        pass  # the same transition recorded by a concurrent writer: one event


def payload_for(session: Session, row: Any) -> dict[str, Any]:
    """The event body: `video.completed`, `image.failed`, `image_project.completed`, …; URLs
    are storage URIs, cost cents."""
    event = f"{EVENT_NAMES[type(row)]}.{row.status}"
    payload: dict[str, Any] = {
        "event_id": event_id(row.id, event, row.submission),
        "event": event,
        "id": row.id,
        "submission": row.submission,
        "status": row.status,
        "error": row.error_message,
        "occurred_at": _iso(row.updated_at),
    }
    if isinstance(row, VideoProject):
        return payload | {
            "final_video_url": row.final_video_url,
            "thumbnail_url": row.thumbnail_url,
            "duration_seconds": row.duration_seconds,
            "renditions": row.outputs or [],
            "cost": row.actual_cost,
        }
    if isinstance(row, ImageProject):
        latest = image_projects.latest_completed(session, row.id)
        return payload | {
            "image_count": row.image_count,
            "completed_count": row.completed_count,
            "failed_count": row.failed_count,
            "cost": row.actual_cost,
            "images": [
                {
                    "id": photo.id,
                    "order": order + 1,
                    "status": photo.status,
                    "result_image_url": latest[order].result_image_url if order in latest else None,
                }
                for order, photo in enumerate(image_projects.photos(session, row.id))
            ],
        }
    return payload | {
        "result_image_url": row.result_image_url,
        "duration_seconds": None,
        "cost": row.cost_cents,
    }


def _iso(moment: datetime | None) -> str:
    return iso(moment or datetime.now(UTC))


def iso(moment: datetime) -> str:
    """A UTC time as ISO 8601 with its offset (SQLite hands back naive UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def due(session: Session, limit: int = 50, row_id: str | None = None) -> list[str]:
    """Pending events whose next attempt has come, oldest first (of one row, if given)."""
    query = select(WebhookEvent.id).where(
        WebhookEvent.status == EventStatus.PENDING, WebhookEvent.next_attempt_at <= now()
    )
    if row_id is not None:
        query = query.where(WebhookEvent.row_id == row_id)
    return list(session.scalars(query.order_by(WebhookEvent.created_at).limit(limit)))


def take(session: Session, event: str) -> dict[str, Any] | None:
    """The event's payload if this caller may send it now (its next attempt pushed a lease
    ahead, so no one else sends it meanwhile); None if it is not due or not pending."""
    moment = now()
    result = session.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.id == event,
            WebhookEvent.status == EventStatus.PENDING,
            WebhookEvent.next_attempt_at <= moment,
        )
        .values(next_attempt_at=moment + LEASE, attempts=WebhookEvent.attempts + 1)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    found = session.get(WebhookEvent, event)
    return dict(found.payload) if found is not None else None


def delivered(session: Session, event: str) -> None:
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event, WebhookEvent.status == EventStatus.PENDING)
        .values(status=EventStatus.DELIVERED, delivered_at=now(), last_error=None)
    )


def attempt_failed(session: Session, event: str, error: str) -> None:
    """The next attempt backed off (BACKOFF_S by attempts made), or the event given up once it
    is older than GIVE_UP_AFTER."""
    found = session.get(WebhookEvent, event)
    if found is None or found.status != EventStatus.PENDING:
        return
    moment = now()
    created = found.created_at if found.created_at.tzinfo else found.created_at.replace(tzinfo=UTC)
    wait = BACKOFF_S[min(max(found.attempts - 1, 0), len(BACKOFF_S) - 1)]
    gave_up = moment - created > GIVE_UP_AFTER
    found.status = EventStatus.FAILED if gave_up else EventStatus.PENDING
    found.next_attempt_at = moment + timedelta(seconds=wait)
    found.last_error = error[:500]


def replay(session: Session, key: str) -> list[str]:
    """An event (by its id), or every event of a row (by the row's id), pending and due now:
    sent again with the same event id. The ids replayed."""
    events = list(
        session.scalars(
            select(WebhookEvent).where(or_(WebhookEvent.id == key, WebhookEvent.row_id == key))
        )
    )
    for found in events:
        found.status, found.next_attempt_at = EventStatus.PENDING, now()
    return [found.id for found in events]


def events(
    session: Session, row_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[WebhookEvent]:
    """Events, newest first: a row's, or all (in `status`, if given)."""
    query = select(WebhookEvent)
    if row_id is not None:
        query = query.where(WebhookEvent.row_id == row_id)
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    return list(session.scalars(query.order_by(WebhookEvent.created_at.desc()).limit(limit)))
