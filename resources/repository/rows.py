"""Lifecycle of the rows the app submits: video projects and image generations (an image
project's status follows its photos: `image_projects`).

Every status change is one UPDATE guarded by the states it may come from, so two writers that
race (a run and the run-status sensor, two runs launched by mistake) cannot lose an update.
The moves (a paid slot's own moves are in `ledger`):

| move         | from                                | to                              | by      |
|--------------|-------------------------------------|---------------------------------|---------|
| `queue`      | draft, queued, failed, canceled     | queued (submission + 1)         | CLI     |
| `start`      | any but canceled, completed¹        | processing/generating/compiling | a step  |
| `set_status` | the step's running state            | completed                       | a step  |
| `fail`       | any but completed, failed, canceled | failed (with the reason)        | all     |
| `cancel`     | any but completed, failed, canceled | canceled                        | CLI     |
| `approve`    | previewed                           | queued (submission + 1), paid   | CLI/app |

¹ unless `redo` (force, or the compile step re-run by a retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, literal, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resources.errors import NotFound, StudioError
from resources.models import (
    ImageGeneration,
    ImageProject,
    MusicTrack,
    NarrationLine,
    NarrationScript,
    VideoClip,
    VideoProject,
)
from resources.repository import feed, image_projects, outbox
from resources.repository.ledger import now
from resources.repository.statuses import LAUNCHABLE as LAUNCHABLE
from resources.repository.statuses import RESTING as RESTING
from resources.repository.statuses import RETRYABLE as RETRYABLE
from resources.repository.statuses import TERMINAL as TERMINAL
from resources.repository.statuses import WAITING as WAITING
from resources.repository.statuses import RowStatus as RowStatus

Row = type[VideoProject] | type[ImageGeneration] | type[ImageProject]


MODELS: dict[str, Row] = {
    "video": VideoProject,
    "image": ImageGeneration,
    "image_project": ImageProject,
}
LABELS = {VideoProject: "video project", ImageGeneration: "image", ImageProject: "image project"}


S = TypeVar("S", NarrationLine, NarrationScript)


def model_for(table: str) -> Row:
    """The row model of a table kind (`video`, `image`, `image_project`); anything else is
    refused."""
    try:
        return MODELS[table]
    except KeyError:
        raise StudioError(f"no row table {table!r}; studio has {', '.join(MODELS)}") from None


def get(session: Session, model: Row, row_id: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{LABELS[model]} {row_id!r} not found")
    return row


def find_kind(session: Session, row_id: str) -> str:
    """`video`, `image` or `image_project`, for commands that take any id."""
    for table, model in MODELS.items():
        if session.get(model, row_id) is not None:
            return table
    raise NotFound(f"no video project, image or image project with id {row_id!r}")


def _moved(session: Session, model: Row, row_id: str, result: Any) -> bool:
    """Whether an UPDATE moved the row; a photo of an image project that moved moves its
    project too (`image_projects.follow`), and a row that ended has its webhook event in the
    outbox (`outbox.record`), all in the same transaction."""
    moved = bool(result.rowcount)
    if not moved:
        return False
    tell(session, model, row_id)
    if model is ImageGeneration:
        project_id = session.scalar(
            select(ImageGeneration.image_project_id).where(ImageGeneration.id == row_id)
        )
        if project_id:
            image_projects.follow(session, project_id)
            tell(session, ImageProject, project_id)
    return True


def tell(session: Session, model: Row, row_id: str) -> None:
    """A moved row's status event in its feed and, if it ended, its webhook event."""
    row: Any = session.execute(
        select(model).where(model.id == row_id).execution_options(populate_existing=True)
    ).scalar_one()
    feed.add(
        session,
        row_id,
        "status",
        {
            "status": row.status,
            "step": row.step,
            "progress": row.progress,
            "label": row.label,
            "error": row.error_message,
            "submission": row.submission,
        },
    )
    outbox.record(session, row)


def clips(session: Session, project_id: str) -> list[VideoClip]:
    return list(
        session.scalars(
            select(VideoClip)
            .where(VideoClip.video_project_id == project_id)
            .order_by(VideoClip.sequence_order)
        )
    )


def get_clip(session: Session, clip_id: str) -> VideoClip:
    clip = session.get(VideoClip, clip_id)
    if clip is None:
        raise NotFound(f"clip {clip_id!r} not found")
    return clip


def narration_lines(session: Session, project_id: str) -> list[NarrationLine]:
    """Every line a paid voice was asked to speak for the project, edited ones included."""
    return _narration_slots(session, NarrationLine, project_id)


def add_once(session: Session, line: NarrationLine | NarrationScript) -> None:
    """The line's (or the script's) slot, unless it exists (another run of the project may add
    it first)."""
    if session.get(type(line), line.id) is not None:
        return
    try:
        with session.begin_nested():
            session.add(line)
    except IntegrityError:
        pass  # a concurrent run inserted the same slot: one slot, bought once


def keep_script(session: Session, script_id: str, lines: list[str], warnings: list[str]) -> None:
    """The script writer's lines as checked, stored before they are spoken."""
    script = session.get(NarrationScript, script_id)
    if script is not None:
        script.lines, script.warnings = lines, warnings


def narration_scripts(session: Session, project_id: str) -> list[NarrationScript]:
    """Every rewrite the paid script writer was asked for, the newest last."""
    return _narration_slots(session, NarrationScript, project_id)


def _narration_slots(session: Session, model: type[S], project_id: str) -> list[S]:
    return list(
        session.scalars(
            select(model)
            .where(model.video_project_id == project_id)
            .order_by(model.created_at, model.id)
        )
    )


def _queued(model: Row, label: str = "Waiting for a worker…") -> dict[str, Any]:
    """The columns of a new submission waiting for the sensor."""
    return {
        "status": RowStatus.QUEUED,
        "submission": model.submission + 1,
        "run_id": None,
        "queued_at": now(),
        "error_message": None,
        "step": "queued",
        "progress": 0,
        "label": label,
    }


def queue(session: Session, model: Row, row_id: str) -> int:
    """Mark a row `queued` for the sensor (a new submission); returns the submission number."""
    result = session.execute(
        update(model).where(model.id == row_id, model.status.in_(LAUNCHABLE)).values(_queued(model))
    )
    if not _moved(session, model, row_id, result):
        row = get(session, model, row_id)
        raise StudioError(f"{row_id} is {row.status}; only {', '.join(LAUNCHABLE)} can be queued")
    return int(get(session, model, row_id).submission)


def approve(session: Session, project_id: str) -> int:
    """A previewed project is bought for real: `preview` cleared, queued as a new submission
    (its run forgets the preview's free clips). The submission number."""
    result = session.execute(
        update(VideoProject)
        .where(VideoProject.id == project_id, VideoProject.status == RowStatus.PREVIEWED)
        .values(preview=False, **_queued(VideoProject, "Approved: waiting for a worker…"))
    )
    row = get(session, VideoProject, project_id)
    if not result.rowcount:  # type: ignore[attr-defined]
        raise StudioError(f"{project_id} is {row.status}; only a previewed project can be approved")
    return int(row.submission)


EDITABLE = (*RESTING, RowStatus.DRAFT)
"""A project is edited only while nothing runs: a draft, or a made, failed or canceled one."""


def edited(session: Session, project_id: str, **values: Any) -> bool:
    """An edit's columns on a project at rest, in one guarded UPDATE; queued as a new
    submission (its re-render) unless it is a draft. False if it started meanwhile."""
    row = get(session, VideoProject, project_id)
    if row.status != RowStatus.DRAFT:
        values |= _queued(VideoProject, "Edited: waiting for a worker…")
    result = session.execute(
        update(VideoProject)
        .where(VideoProject.id == project_id, VideoProject.status.in_(EDITABLE))
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Queued:
    id: str
    submission: int
    queued_at: datetime
    kind: str  # "video", "enhance" or "inpaint"
    workspace_id: str = ""
    image_project_id: str | None = None
    priority: int = 0


def queued(
    session: Session, model: Row, after: tuple[datetime, str] | None, limit: int
) -> list[Queued]:
    """One page of queued rows in submission order (the sensors' single indexed query)."""
    image = model is ImageGeneration
    kind_col = ImageGeneration.kind if image else literal("video")
    project_col = ImageGeneration.image_project_id if image else literal(None)
    query = select(
        model.id,
        model.submission,
        model.queued_at,
        kind_col,
        model.workspace_id,
        project_col,
        model.priority,
    ).where(model.status == RowStatus.QUEUED)
    if after is not None:
        query = query.where(
            tuple_(model.queued_at, model.id) > tuple_(literal(after[0]), literal(after[1]))
        )
    rows = session.execute(query.order_by(model.queued_at, model.id).limit(limit))
    return [Queued(*r) for r in rows]


ACTIVE = (
    RowStatus.QUEUED,
    RowStatus.PROCESSING,
    RowStatus.GENERATING,
    RowStatus.COMPILING,
)


def ahead_in_workspace(
    session: Session, model: Row, row_id: str, workspace_id: str, queued_at: datetime | None
) -> int:
    """How many of the workspace's rows (same table) were queued before this one and are
    still waiting or running: the row's place in its own workspace's backlog."""
    if queued_at is None:
        return 0
    before = tuple_(model.queued_at, model.id) < tuple_(literal(queued_at), literal(row_id))
    return int(
        session.execute(
            select(func.count()).where(
                model.workspace_id == workspace_id, model.status.in_(ACTIVE), before
            )
        ).scalar_one()
    )


def start(
    session: Session, model: Row, row_id: str, run_id: str, status: str, redo: bool = False
) -> bool:
    """A run takes the row: from any state but `completed` (unless `redo`) or `canceled`.
    A canceled row runs again only through `queue` (`studio retry`): a run that was already
    on its way, or a step Dagster retries after terminating it, must not revive it.
    Whether it took it."""
    query = update(model).where(model.id == row_id, model.status != RowStatus.CANCELED)
    if not redo:
        query = query.where(model.status != RowStatus.COMPLETED)
    result = session.execute(query.values(status=status, run_id=run_id, error_message=None))
    if not _moved(session, model, row_id, result):
        get(session, model, row_id)  # NotFound when there is no such row
        return False
    return True


def set_status(
    session: Session,
    model: Row,
    row_id: str,
    status: str,
    from_states: tuple[str, ...] | None = None,
    **values: Any,
) -> bool:
    query = update(model).where(model.id == row_id)
    if from_states is not None:
        query = query.where(model.status.in_(from_states))
    result = session.execute(query.values(status=status, **values))
    return _moved(session, model, row_id, result)


def progress(
    session: Session, model: Row, row_id: str, step: str, percent: int, label: str, **values: Any
) -> None:
    session.execute(
        update(model)
        .where(model.id == row_id)
        .values(step=step, progress=percent, label=label, **values)
    )
    shown = {k: v for k, v in values.items() if isinstance(v, int | float | str | bool)}
    feed.add(
        session, row_id, "progress", {"step": step, "progress": percent, "label": label} | shown
    )


def fail(
    session: Session, model: Row, row_id: str, message: str, run_id: str | None = None
) -> bool:
    """Mark a row failed with the reason, unless it already reached a terminal state."""
    query = update(model).where(model.id == row_id, model.status.not_in(TERMINAL))
    if run_id is not None:
        query = query.where(model.run_id == run_id)
    result = session.execute(
        query.values(
            status=RowStatus.FAILED,
            error_message=message[:2000],
            step="failed",
            label=message[:500],
        )
    )
    return _moved(session, model, row_id, result)


def cancel(session: Session, model: Row, row_id: str) -> bool:
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.status.not_in(TERMINAL))
        .values(status=RowStatus.CANCELED, step="canceled", label="Canceled")
    )
    return _moved(session, model, row_id, result)


def add(session: Session, row: Any) -> Any:
    """Insert a new row (a project, a clip, a music track, an image generation)."""
    session.add(row)
    session.flush()
    return row


def get_music(session: Session, track_id: str) -> MusicTrack:
    track = session.get(MusicTrack, track_id)
    if track is None:
        raise NotFound(f"music track {track_id!r} not found")
    return track
