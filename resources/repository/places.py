"""The provider budget: at most N requests in flight at one provider, across every run.

A request takes a *place* before it is submitted and gives it back once its result is stored.
Places live in `provider_place`; every grant happens in one transaction that first writes the
provider's `provider_budget` row, so grants are serialised on Postgres (row lock) and SQLite
(the write lock) alike. A place is kept alive by its holder's heartbeat: a holder that dies
stops renewing it, and once `expires_at` passes the place is reaped and given to the next
waiter.

Who goes next, when places are free (`dispatch`):
1. a paid tier's request (`priority`) before the others;
2. the workspace with the fewest places held now — round-robin across the workspaces with
   waiting work, so one listing is not queued behind another workspace's fifty;
3. among those tied, the workspace granted longest ago;
4. the oldest project (`project_since`), then the oldest request.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from resources.models import ProviderBudget, ProviderPlace

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Claimant:
    """Whose request asks for a place: the fair-share keys."""

    workspace_id: str
    project_id: str
    since: datetime
    """When the project was queued (oldest first within a workspace)."""
    priority: int = 0


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if moment is None:
        return EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def request(
    session: Session,
    *,
    provider: str,
    budget: int,
    claimant: Claimant,
    owner: str,
    item: str,
    lease_s: float,
    at_provider: bool = False,
) -> str:
    """Ask for a place; its id. `at_provider`: the request is already in flight (a resumed
    wait), so it holds a place at once rather than queueing for one."""
    _lock(session, provider)
    place_id = uuid.uuid4().hex
    moment = now()
    session.add(
        ProviderPlace(
            id=place_id,
            provider=provider,
            owner=owner,
            item=item[:200],
            workspace_id=claimant.workspace_id,
            project_id=claimant.project_id,
            priority=claimant.priority,
            project_since=claimant.since,
            requested_at=moment,
            granted_at=moment if at_provider else None,
            expires_at=moment + timedelta(seconds=lease_s),
        )
    )
    session.flush()
    _dispatch(session, provider, budget)
    return place_id


def granted(session: Session, place_id: str) -> bool | None:
    """Whether the place is granted; None when it is gone (it expired and was reaped)."""
    row = session.execute(
        select(ProviderPlace.granted_at).where(ProviderPlace.id == place_id)
    ).first()
    return None if row is None else row[0] is not None


def renew(session: Session, place_ids: list[str], lease_s: float) -> int:
    """The heartbeat: the places stay alive another `lease_s`."""
    if not place_ids:
        return 0
    result = session.execute(
        update(ProviderPlace)
        .where(ProviderPlace.id.in_(place_ids))
        .values(expires_at=now() + timedelta(seconds=lease_s))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, place_id: str, provider: str, budget: int) -> None:
    """Give the place back and hand the freed place to the next waiter."""
    _lock(session, provider)
    session.execute(delete(ProviderPlace).where(ProviderPlace.id == place_id))
    _dispatch(session, provider, budget)


def dispatch(session: Session, provider: str, budget: int) -> None:
    """Reap the places of dead holders and grant the free places (waiters call it now and
    then, so a crashed holder's place is not lost)."""
    _lock(session, provider)
    _dispatch(session, provider, budget)


def release_owner(session: Session, owner: str) -> int:
    """Every place of a run known to be dead."""
    result = session.execute(delete(ProviderPlace).where(ProviderPlace.owner == owner))
    return int(result.rowcount)  # type: ignore[attr-defined]


def in_flight(session: Session, provider: str) -> int:
    """Places held now at `provider` (live ones)."""
    return int(
        session.execute(
            select(func.count()).where(
                ProviderPlace.provider == provider,
                ProviderPlace.granted_at.is_not(None),
                ProviderPlace.expires_at >= now(),
            )
        ).scalar_one()
    )


def waiting_ahead(session: Session, place_id: str) -> int:
    """How many waiting places were requested before this one (for a progress label)."""
    mine = session.get(ProviderPlace, place_id)
    if mine is None or mine.granted_at is not None:
        return 0
    return int(
        session.execute(
            select(func.count()).where(
                ProviderPlace.provider == mine.provider,
                ProviderPlace.granted_at.is_(None),
                ProviderPlace.requested_at < mine.requested_at,
            )
        ).scalar_one()
    )


def _lock(session: Session, provider: str) -> None:
    """Serialise grants at `provider`: write its budget row first in the transaction."""
    session.execute(
        text("INSERT INTO provider_budget (provider) VALUES (:p) ON CONFLICT DO NOTHING"),
        {"p": provider},
    )
    session.execute(
        update(ProviderBudget)
        .where(ProviderBudget.provider == provider)
        .values(dispatched_at=now())
    )


def _dispatch(session: Session, provider: str, budget: int) -> None:
    moment = now()
    session.execute(
        delete(ProviderPlace).where(
            ProviderPlace.provider == provider, ProviderPlace.expires_at < moment
        )
    )
    places = session.scalars(select(ProviderPlace).where(ProviderPlace.provider == provider)).all()
    held = [p for p in places if p.granted_at is not None]
    waiting = [p for p in places if p.granted_at is None]
    free = budget - len(held)
    if free <= 0 or not waiting:
        return
    holding = Counter(p.workspace_id for p in held)
    last_grant: dict[str, datetime] = {}
    for p in held:
        last_grant[p.workspace_id] = max(aware(p.granted_at), last_grant.get(p.workspace_id, EPOCH))
    for turn in range(min(free, len(waiting))):
        chosen = min(
            waiting,
            key=lambda p: (
                -p.priority,
                holding[p.workspace_id],
                last_grant.get(p.workspace_id, EPOCH),
                aware(p.project_since),
                aware(p.requested_at),
                p.id,
            ),
        )
        waiting.remove(chosen)
        # Grants in one dispatch are ordered by microseconds so round-robin carries on.
        chosen.granted_at = moment + timedelta(microseconds=turn)
        holding[chosen.workspace_id] += 1
        last_grant[chosen.workspace_id] = chosen.granted_at
    session.flush()
