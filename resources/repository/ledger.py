"""Compare-and-set bookkeeping of paid generations, so nothing is ever bought twice.

A slot (a clip, a transition, an image) moves `pending → submitting → submitted → completed |
failed`. Only the executor holding the lease may submit; the request id is stored the moment
the provider returns it, so any later run resumes that request instead of paying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from resources.models import ImageGeneration, VideoClip


@dataclass(frozen=True)
class Slot:
    """Which columns of which table hold one kind of generation."""

    model: Any
    status: str
    request_id: str
    url: str
    cost: str
    error: str
    lease_owner: str
    lease_expires: str

    def col(self, name: str) -> Any:
        return getattr(self.model, getattr(self, name))


CLIP = Slot(
    VideoClip,
    "status",
    "provider_request_id",
    "clip_url",
    "cost_cents",
    "error_message",
    "lease_owner",
    "lease_expires_at",
)
TRANSITION = Slot(
    VideoClip,
    "transition_status",
    "transition_request_id",
    "transition_clip_url",
    "transition_cost_cents",
    "transition_error",
    "transition_lease_owner",
    "transition_lease_expires_at",
)
IMAGE = Slot(
    ImageGeneration,
    "request_status",
    "provider_request_id",
    "result_image_url",
    "cost_cents",
    "error_message",
    "lease_owner",
    "lease_expires_at",
)


@dataclass(frozen=True)
class SlotState:
    status: str | None
    request_id: str | None
    url: str | None
    cost_cents: int
    error: str | None


def now() -> datetime:
    return datetime.now(UTC)


def read(session: Session, slot: Slot, row_id: str) -> SlotState:
    row = session.execute(
        select(
            slot.col("status"),
            slot.col("request_id"),
            slot.col("url"),
            slot.col("cost"),
            slot.col("error"),
        ).where(slot.model.id == row_id)
    ).one()
    return SlotState(row[0], row[1], row[2], row[3] or 0, row[4])


def _set(session: Session, slot: Slot, row_id: str, where: list[Any], **values: Any) -> bool:
    mapped = {getattr(slot, k): v for k, v in values.items()}
    result = session.execute(
        update(slot.model).where(slot.model.id == row_id, *where).values(**mapped)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, slot: Slot, row_id: str, owner: str, lease_s: float) -> bool:
    """Take the right to submit: only from pending/failed/unset, or a `submitting` lease that
    expired or is our own (its holder died before a request id was stored)."""
    status = slot.col("status")
    stale = (slot.col("lease_expires") < now()) | (slot.col("lease_owner") == owner)
    return _set(
        session,
        slot,
        row_id,
        [
            or_(
                status.is_(None),
                status.in_(("pending", "failed")),
                (status == "submitting") & stale,
            )
        ],
        status="submitting",
        lease_owner=owner,
        lease_expires=now() + timedelta(seconds=lease_s),
        request_id=None,
        error=None,
    )


def submitted(session: Session, slot: Slot, row_id: str, owner: str, request_id: str) -> bool:
    """Store the provider's request id before anyone waits on it."""
    return _set(
        session,
        slot,
        row_id,
        [slot.col("status") == "submitting", slot.col("lease_owner") == owner],
        status="submitted",
        request_id=request_id,
    )


def completed(session: Session, slot: Slot, row_id: str, url: str, cost_cents: int) -> bool:
    """First finisher wins; a second executor of the same request changes nothing."""
    return _set(
        session,
        slot,
        row_id,
        [slot.col("status").in_(("submitting", "submitted"))],
        status="completed",
        url=url,
        cost=cost_cents,
        error=None,
        lease_owner=None,
    )


def failed(
    session: Session, slot: Slot, row_id: str, message: str, *, ambiguous: bool = False
) -> bool:
    """Record a failure. An `ambiguous` one (the provider may have accepted the submit) is
    parked as `ambiguous`, which `claim` never takes: it is reconciled, not resubmitted."""
    values: dict[str, Any] = {
        "status": "ambiguous" if ambiguous else "failed",
        "error": message[:2000],
        "lease_owner": None,
        "request_id": None,
    }
    status = slot.col("status")
    return _set(session, slot, row_id, [or_(status.is_(None), status != "completed")], **values)


def reset(session: Session, slot: Slot, row_id: str) -> None:
    """Forget a finished or failed generation so it is bought again (only when forced)."""
    _set(
        session,
        slot,
        row_id,
        [],
        status="pending",
        request_id=None,
        url=None,
        cost=0,
        error=None,
        lease_owner=None,
    )


def note_error(session: Session, slot: Slot, row_id: str, message: str) -> None:
    """Record why an attempt failed without touching the state (a live request stays live)."""
    _set(session, slot, row_id, [], error=message[:2000])
