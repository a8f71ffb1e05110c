"""What happened to each row, in order: the feed the live event stream reads.

Every event is written in the transaction of the change it tells of — a progress report
(`rows.progress`), a status change (`rows._moved`), a clip or transition stored
(`ledger.completed`) — so a reader never sees an event the DB does not hold, and its id orders
it: a client that resumes from the last id it saw (`Last-Event-ID`) misses nothing. On
Postgres the commit also NOTIFYs `CHANNEL` with the row id, so a listener wakes at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resources.models import ProgressEvent, VideoClip

CHANNEL = "studio_events"


def add(session: Session, row_id: str, event: str, data: dict[str, Any]) -> None:
    session.add(ProgressEvent(row_id=row_id, event=event, data=data))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, row_id)))  # delivered at commit


def clip_stored(session: Session, clip_id: str, what: str) -> None:
    """A clip's video (`what` "clip") or its transition's ("transition") is stored: an event
    in its project's feed, with its place, URL and cost."""
    clip = session.execute(
        select(VideoClip).where(VideoClip.id == clip_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if clip is None:
        return
    url, cost = (
        (clip.clip_url, clip.cost_cents)
        if what == "clip"
        else (clip.transition_clip_url, clip.transition_cost_cents)
    )
    facts = {"clip_id": clip_id, "order": clip.sequence_order + 1, "url": url, "cost_cents": cost}
    add(session, clip.video_project_id, what, facts)


def after(session: Session, row_id: str, last_id: int = 0, limit: int = 500) -> list[ProgressEvent]:
    """The row's events after `last_id`, oldest first."""
    return list(
        session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.row_id == row_id, ProgressEvent.id > last_id)
            .order_by(ProgressEvent.id)
            .limit(limit)
        )
    )
