"""Paid-generation slots: the one state machine that decides whether anything is bought.

A slot is a clip, a transition, an image or a narration line. Every move below is one
compare-and-set UPDATE guarded by the states it may come from; nothing else writes a slot's
columns.

| from                  | move          | to         | when                                        |
|-----------------------|---------------|------------|---------------------------------------------|
| pending, failed       | `claim`       | submitting | about to submit: lease, fresh submit token  |
| submitting, ambiguous | `submitted`   | submitted  | the provider accepted: request id stored    |
| submitting            | `not_taken`   | failed     | the provider surely did not take the submit |
| submitting            | `ambiguous`   | ambiguous  | the provider may have taken it, id unknown  |
| submitting, expired   | `expire_...`  | ambiguous  | its holder died between submit and store    |
| ambiguous             | `reconciled`  | submitted  | the request id was found by submit token    |
| ambiguous             | `reconciled`  | pending    | resubmitting is free: nothing was billed    |
| submitted             | `completed`   | completed  | the media is in our storage                 |
| submitted             | `gone`        | failed     | the provider failed it and billed nothing   |
| submitted             | `held`        | held       | stuck past our deadline: canceled, billed?  |
| completed             | `lost`        | held       | bought, but its media is gone from storage  |
| submitting, submitted | `canceled`    | failed     | an operator canceled the request            |
| pending, failed       | `give_up`     | failed     | the item failed before anything was bought  |
| any                   | `reset`       | pending    | only when forced: buy again                 |
| completed (free)      | `drop_free`   | pending    | a previewed project is bought for real      |

`claim` takes only `pending`/`failed`: a slot that is `ambiguous` or `held` may already have been
paid for, so only `force` (`reset`) buys it again. A `submitting` slot is never taken over: once
its lease expires it is `ambiguous` and reconciled by its submit token.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from resources.models import ImageGeneration, NarrationLine, NarrationScript, VideoClip
from resources.repository import feed


class SlotStatus(StrEnum):
    PENDING = "pending"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"
    HELD = "held"


CLAIMABLE = (SlotStatus.PENDING, SlotStatus.FAILED)
LIVE = (SlotStatus.SUBMITTING, SlotStatus.SUBMITTED)


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
    token: str
    submit_started: str

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
    "submit_token",
    "submit_started_at",
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
    "transition_submit_token",
    "transition_submit_started_at",
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
    "submit_token",
    "submit_started_at",
)
SPEECH = dataclasses.replace(CLIP, model=NarrationLine, url="audio_url")
SCRIPT = dataclasses.replace(CLIP, model=NarrationScript, url="script_url")
SLOTS = (CLIP, TRANSITION, IMAGE, SPEECH, SCRIPT)


@dataclass(frozen=True)
class SlotState:
    status: SlotStatus
    request_id: str | None
    url: str | None
    cost_cents: int
    error: str | None
    token: str | None = None
    submit_started_at: datetime | None = None
    lease_expires_at: datetime | None = None

    @property
    def lease_expired(self) -> bool:
        return self.lease_expires_at is None or aware(self.lease_expires_at) < now()


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read(session: Session, slot: Slot, row_id: str) -> SlotState:
    columns = ("status", "request_id", "url", "cost", "error", "token", "submit_started")
    row = session.execute(
        select(*(slot.col(c) for c in columns), slot.col("lease_expires")).where(
            slot.model.id == row_id
        )
    ).one()
    return SlotState(
        SlotStatus(row[0] or SlotStatus.PENDING), row[1], row[2], row[3] or 0, row[4], *row[5:]
    )


def _move(
    session: Session,
    slot: Slot,
    row_id: str,
    sources: tuple[SlotStatus, ...],
    *where: Any,
    **to: Any,
) -> bool:
    status = slot.col("status")
    guard = status.in_(sources)
    if SlotStatus.PENDING in sources:
        guard = or_(status.is_(None), guard)
    values = {getattr(slot, k): v for k, v in to.items()}
    result = session.execute(
        update(slot.model).where(slot.model.id == row_id, guard, *where).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, slot: Slot, row_id: str, owner: str, lease_s: float) -> str | None:
    """Take the right to submit; the submit token to hand the provider, or None when the slot
    is not claimable (someone else holds it, or it may already be paid for)."""
    token = uuid.uuid4().hex
    taken = _move(
        session,
        slot,
        row_id,
        CLAIMABLE,
        status=SlotStatus.SUBMITTING,
        lease_owner=owner,
        lease_expires=now() + timedelta(seconds=lease_s),
        token=token,
        submit_started=now(),
        request_id=None,
        error=None,
    )
    return token if taken else None


def submitted(session: Session, slot: Slot, row_id: str, token: str, request_id: str) -> bool:
    """Store the provider's request id before anyone waits on it. Keyed by the submit token,
    so it lands even after the lease expired, as long as nobody else reconciled the slot."""
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.SUBMITTING, SlotStatus.AMBIGUOUS),
        slot.col("token") == token,
        status=SlotStatus.SUBMITTED,
        request_id=request_id,
    )


def not_taken(session: Session, slot: Slot, row_id: str, token: str, message: str) -> bool:
    """The provider surely did not take the submit: a later attempt may submit again."""
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.SUBMITTING,),
        slot.col("token") == token,
        status=SlotStatus.FAILED,
        error=message[:2000],
        lease_owner=None,
    )


def ambiguous(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """The provider may hold a job for this slot whose id we never stored."""
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.SUBMITTING, SlotStatus.AMBIGUOUS),
        status=SlotStatus.AMBIGUOUS,
        error=message[:2000],
        lease_owner=None,
    )


def expire_submitting(session: Session, slot: Slot, row_id: str) -> bool:
    """A `submitting` slot whose holder's lease ran out (it died between submit and store)
    becomes `ambiguous`: reconciled by its token, never resubmitted blindly."""
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.SUBMITTING,),
        slot.col("lease_expires") < now(),
        status=SlotStatus.AMBIGUOUS,
        error="the run submitting it stopped before storing the provider's request id",
        lease_owner=None,
    )


def end_leases(session: Session, owner: str) -> int:
    """`owner` (a run) is known to be dead: its leases end now, so the next run settles its
    `submitting` slots at once (`expire_submitting`) instead of waiting the lease out."""
    ended = 0
    for slot in SLOTS:
        result = session.execute(
            update(slot.model)
            .where(slot.col("lease_owner") == owner, slot.col("lease_expires") > now())
            .values(**{slot.lease_expires: now()})
        )
        ended += int(result.rowcount)  # type: ignore[attr-defined]
    return ended


def reconciled(session: Session, slot: Slot, row_id: str, request_id: str | None) -> bool:
    """An ambiguous slot resolved: its request id found (`submitted`), or proof that nothing
    was accepted (`pending`, so it is bought now, once)."""
    if request_id:
        to: dict[str, Any] = {"status": SlotStatus.SUBMITTED, "request_id": request_id}
    else:
        to = {"status": SlotStatus.PENDING, "request_id": None}
    return _move(session, slot, row_id, (SlotStatus.AMBIGUOUS,), error=None, **to)


def completed(session: Session, slot: Slot, row_id: str, url: str, cost_cents: int) -> bool:
    """First finisher wins; a second executor of the same request changes nothing. A clip or
    transition stored is an event in its project's feed."""
    won = _move(
        session,
        slot,
        row_id,
        LIVE,
        status=SlotStatus.COMPLETED,
        url=url,
        cost=cost_cents,
        error=None,
        lease_owner=None,
    )
    if won and slot.model is VideoClip:
        feed.clip_stored(session, row_id, "clip" if slot.url == "clip_url" else "transition")
    return won


def gone(session: Session, slot: Slot, row_id: str, request_id: str, message: str) -> bool:
    """The provider ended the request without a result and without billing it (it failed, or
    refused the input): a retry may buy it anew."""
    return _move(
        session,
        slot,
        row_id,
        LIVE,
        slot.col("request_id") == request_id,
        status=SlotStatus.FAILED,
        error=message[:2000],
        lease_owner=None,
        request_id=None,
    )


def held(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """A request we gave up on (stuck past our deadline, canceled, possibly billed): not
    bought again unless forced."""
    return _move(
        session,
        slot,
        row_id,
        LIVE,
        status=SlotStatus.HELD,
        error=message[:2000],
        lease_owner=None,
    )


def lost(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """A bought generation whose media vanished from our storage: held, not bought again
    unless forced."""
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.COMPLETED,),
        status=SlotStatus.HELD,
        url=None,
        error=message[:2000],
    )


def canceled(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """An operator canceled: the live request was canceled at the provider, a retry may buy."""
    return _move(
        session,
        slot,
        row_id,
        LIVE,
        status=SlotStatus.FAILED,
        error=message[:2000],
        lease_owner=None,
        request_id=None,
    )


FORGOTTEN = {
    "status": SlotStatus.PENDING,
    "request_id": None,
    "url": None,
    "cost": 0,
    "error": None,
    "lease_owner": None,
    "token": None,
}
"""A slot that was never bought."""


def reset(session: Session, slot: Slot, row_id: str) -> bool:
    """Forget a finished or failed generation so it is bought again (only when forced)."""
    return _move(session, slot, row_id, tuple(SlotStatus), **FORGOTTEN)


def drop_free(session: Session, slot: Slot, row_id: str, free_prefix: str) -> bool:
    """Forget a finished generation the free engine made (its request id starts with
    `free_prefix`): the preview's clip makes way for the paid one."""
    request_id = slot.col("request_id")
    return _move(
        session,
        slot,
        row_id,
        (SlotStatus.COMPLETED,),
        request_id.startswith(free_prefix),
        **FORGOTTEN,
    )


def give_up(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """An item failed for good. A slot nothing was bought for yet ends `failed` with why; any
    other keeps its state (a live request stays resumable, a held one held) and notes why."""
    if _move(session, slot, row_id, CLAIMABLE, status=SlotStatus.FAILED, error=message[:2000]):
        return True
    return note_error(session, slot, row_id, message)


def note_error(session: Session, slot: Slot, row_id: str, message: str) -> bool:
    """Record why an attempt failed without moving the slot (a live request stays live)."""
    result = session.execute(
        update(slot.model)
        .where(slot.model.id == row_id, slot.col("status") != SlotStatus.COMPLETED)
        .values({slot.error: message[:2000]})
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
