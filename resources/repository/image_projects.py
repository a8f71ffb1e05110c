"""An image project's status follows its photos: one aggregate, rewritten on every photo move.

A project has no run of its own. Its photos are ordinary `image_generation` rows (version 1,
`project_order` 0…n-1); edits of a photo are later versions with the same project and order.
Whenever a photo's status changes — through `rows`, by any door — `follow` recounts the photos
in the same transaction, holding the project row's lock (`FOR UPDATE`), so two photos that end
at the same moment cannot both write a stale count:

| photos                                        | project     |
|-----------------------------------------------|-------------|
| all completed                                 | completed   |
| any processing                                | processing  |
| all ended, some failed                        | failed (each failed photo's reason) |
| all ended, none failed, some canceled         | canceled    |
| otherwise, any queued                         | queued      |
| otherwise                                     | draft       |

Leaving draft or an ended state for queued/processing starts a new submission (its webhook is
a new event); a stored ZIP is dropped whenever a photo moves, as it may no longer hold the
latest versions.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from resources.errors import NotFound
from resources.models import ImageGeneration, ImageProject
from resources.repository.ledger import now
from resources.repository.statuses import TERMINAL, RowStatus

REASONS_SHOWN = 5


def _photos_of(project_id: str) -> tuple[ColumnElement[bool], ...]:
    """The WHERE of a project's photos (its version-1 rows, not the edits)."""
    return (ImageGeneration.image_project_id == project_id, ImageGeneration.parent_id.is_(None))


def photos(session: Session, project_id: str) -> list[ImageGeneration]:
    """The project's photos (version 1 of each), in project order."""
    return list(
        session.scalars(
            select(ImageGeneration)
            .where(*_photos_of(project_id))
            .order_by(ImageGeneration.project_order, ImageGeneration.id)
        )
    )


def latest_completed(session: Session, project_id: str) -> dict[int, ImageGeneration]:
    """Each photo's latest completed version (the photo itself, or its newest finished edit),
    by project order."""
    latest: dict[int, ImageGeneration] = {}
    done = session.scalars(
        select(ImageGeneration)
        .where(
            ImageGeneration.image_project_id == project_id,
            ImageGeneration.status == RowStatus.COMPLETED,
            ImageGeneration.result_image_url.is_not(None),
        )
        .order_by(ImageGeneration.version, ImageGeneration.updated_at, ImageGeneration.id)
    )
    for row in done:
        latest[int(row.project_order or 0)] = row  # later versions overwrite earlier ones
    return latest


def follow(session: Session, project_id: str) -> None:
    """Rewrite the project's status, counts, cost and label from its photos (see the table)."""
    project = session.scalars(
        select(ImageProject).where(ImageProject.id == project_id).with_for_update()
    ).one_or_none()
    if project is None:
        return
    counts: dict[str, int] = {
        status: n
        for status, n in session.execute(
            select(ImageGeneration.status, func.count())
            .where(*_photos_of(project_id))
            .group_by(ImageGeneration.status)
        )
    }
    total = sum(counts.values())
    if not total:
        return
    status = _status_of(counts, total)
    failed = status == RowStatus.FAILED
    values: dict[str, object] = {
        "status": status,
        "image_count": total,
        "completed_count": counts.get(RowStatus.COMPLETED, 0),
        "failed_count": counts.get(RowStatus.FAILED, 0),
        "actual_cost": _cost(session, project_id),
        "progress": round(100 * sum(counts.get(s, 0) for s in TERMINAL) / total),
        "step": str(status),
        "label": _label(status, counts, total),
        "error_message": _reasons(session, project_id, counts, total) if failed else None,
        "finished_at": now() if status in TERMINAL else None,
        "zip_url": None,
    }
    was = project.status
    if status != was and status in (RowStatus.QUEUED, RowStatus.PROCESSING):
        if was in TERMINAL or was == RowStatus.DRAFT:
            values["submission"] = ImageProject.submission + 1
        if was != RowStatus.QUEUED:
            values["queued_at"] = now()
    if status in TERMINAL and was == status:
        values.pop("finished_at")  # still the moment it ended
    session.execute(update(ImageProject).where(ImageProject.id == project_id).values(**values))


def _status_of(counts: dict[str, int], total: int) -> RowStatus:
    ended = sum(counts.get(s, 0) for s in TERMINAL)
    if counts.get(RowStatus.COMPLETED, 0) == total:
        return RowStatus.COMPLETED
    if counts.get(RowStatus.PROCESSING, 0):
        return RowStatus.PROCESSING
    if ended == total:
        return RowStatus.FAILED if counts.get(RowStatus.FAILED) else RowStatus.CANCELED
    return RowStatus.QUEUED if counts.get(RowStatus.QUEUED) else RowStatus.DRAFT


def _label(status: str, counts: dict[str, int], total: int) -> str:
    done = counts.get(RowStatus.COMPLETED, 0)
    if status == RowStatus.QUEUED and not done:
        return "Waiting for a worker…"
    if status == RowStatus.CANCELED:
        return f"Canceled ({done} of {total} photos enhanced)"
    if status == RowStatus.DRAFT:
        return f"Draft: {total} photos, not launched"
    return f"{done} of {total} photos enhanced"


def _cost(session: Session, project_id: str) -> int:
    """Cents billed for every generation of the project: its photos and their edits."""
    total = session.scalar(
        select(func.coalesce(func.sum(ImageGeneration.cost_cents), 0)).where(
            ImageGeneration.image_project_id == project_id
        )
    )
    return int(total or 0)


def _reasons(session: Session, project_id: str, counts: dict[str, int], total: int) -> str:
    """`2 of 4 photos failed: photo 2 (kitchen): …; photo 4 (garden): …`."""
    failed = session.execute(
        select(
            ImageGeneration.project_order, ImageGeneration.room_type, ImageGeneration.error_message
        )
        .where(*_photos_of(project_id), ImageGeneration.status == RowStatus.FAILED)
        .order_by(ImageGeneration.project_order)
    ).all()
    shown = [
        f"photo {(order or 0) + 1} ({room or 'photo'}): {error or 'failed'}"
        for order, room, error in failed[:REASONS_SHOWN]
    ]
    more = f"; and {len(failed) - REASONS_SHOWN} more" if len(failed) > REASONS_SHOWN else ""
    head = f"{counts.get(RowStatus.FAILED, 0)} of {total} photos failed"
    return f"{head}: {'; '.join(shown)}{more}"[:2000]


def with_newer_versions(session: Session, image: ImageGeneration) -> list[ImageGeneration]:
    """The image and every version made from it, however far down."""
    chain, frontier = [image], [image.id]
    while frontier:
        children = list(
            session.scalars(select(ImageGeneration).where(ImageGeneration.parent_id.in_(frontier)))
        )
        chain += children
        frontier = [child.id for child in children]
    return chain


def photo_versions(session: Session, image_id: str) -> list[ImageGeneration]:
    """Every version of the photo `image_id` is one of: its first and all made from it."""
    first = _get(session, image_id)
    while first.parent_id:
        first = _get(session, first.parent_id)
    return with_newer_versions(session, first)


def _get(session: Session, image_id: str) -> ImageGeneration:
    image = session.get(ImageGeneration, image_id)
    if image is None:
        raise NotFound(f"image {image_id!r} not found")
    return image
