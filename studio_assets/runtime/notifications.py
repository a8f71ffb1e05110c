"""Webhook events for rows that reach a terminal status, sent once per transition."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.models import ImageGeneration, ImageProject, VideoProject
from resources.repository import image_projects, rows
from resources.webhooks import Log, WebhookResource
from studio_assets.products import EVENTS_BY_TABLE

EVENTS = {**EVENTS_BY_TABLE, "image_project": "image_project"}


def _iso(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def event_id(row_id: str, event: str, submission: int) -> str:
    """Stable for one transition of one submission, so a receiver can drop a re-delivery."""
    digest = hashlib.sha256(f"{row_id}|{event}|{submission}".encode()).hexdigest()[:24]
    return f"evt_{digest}"


def payload_for(
    session: Session, row: VideoProject | ImageGeneration | ImageProject, kind: str
) -> dict[str, Any]:
    """The event body: `video.completed`, `image.failed`, `image_project.completed`, …; URLs
    are storage URIs, cost cents."""
    event = f"{EVENTS[kind]}.{row.status}"
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
        payload |= {
            "final_video_url": row.final_video_url,
            "thumbnail_url": row.thumbnail_url,
            "duration_seconds": row.duration_seconds,
            "cost": row.actual_cost,
        }
    elif isinstance(row, ImageProject):
        latest = image_projects.latest_completed(session, row.id)
        payload |= {
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
    else:
        payload |= {
            "result_image_url": row.result_image_url,
            "duration_seconds": None,
            "cost": row.cost_cents,
        }
    return payload


def _event_owner(session: Session, kind: str, row_id: str) -> tuple[str, str]:
    """Whose event a row's transition is: a photo of an image project speaks through its
    project (one event when the project ends); an edit, like any image, for itself."""
    if kind != "image":
        return kind, row_id
    photo = rows.get(session, ImageGeneration, row_id)
    if photo.image_project_id and photo.parent_id is None:
        return "image_project", photo.image_project_id
    return kind, row_id


def notify(
    db: AppDatabase,
    webhooks: WebhookResource,
    kind: str,
    row_id: str,
    log: Log,
    background: bool = True,
) -> bool:
    """Claim the row's current terminal transition and send its event; never raises.

    Returns whether this caller won the claim (and so sent, or queued, the POST).
    """
    if not webhooks.enabled:
        return False
    try:
        with db.session() as session:
            kind, row_id = _event_owner(session, kind, row_id)
            model = rows.model_for(kind)
            row = rows.get(session, model, row_id)
            if row.status not in rows.TERMINAL:
                return False
            if not rows.claim_notification(session, model, row_id, row.status, row.submission):
                return False
            session.refresh(row)
            payload = payload_for(session, row, kind)
    except Exception as exc:  # a webhook must never fail the run or the sensor
        log.warning(f"webhook for {kind} {row_id} not sent: {type(exc).__name__}: {exc}")
        return False
    if background:
        log.info(f"webhook {payload['event']} for {row_id} queued")
        webhooks.deliver_in_background(payload, dg.get_dagster_logger("studio.webhooks"))
    else:
        webhooks.deliver(payload, log)
    return True
