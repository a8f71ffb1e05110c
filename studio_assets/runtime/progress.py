"""Progress stages and where they are shown: the app DB row, the run's tags, one log line."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from resources.database import AppDatabase, is_outage
from resources.models import ImageProject, VideoProject
from resources.repository import rows
from studio_assets.runtime.stopping import StopSignal

_REPORTING = threading.Lock()
NAME_TAG = "studio/name"
NAME_MAX = 120

# The old product's image stages.
IMAGE_STAGES = {
    "fetching": (10, "Loading image…"),
    "uploading": (25, "Preparing for AI…"),
    "processing": (50, "Enhancing image…"),
    "saving": (80, "Saving result…"),
    "completed": (100, "Complete"),
}


@dataclass
class Tracker:
    """Reports one row's progress from inside a run."""

    context: dg.AssetExecutionContext
    db: AppDatabase
    kind: str  # "video" or "image"
    row_id: str
    stop: StopSignal = field(init=False)
    """Asked by the row's generations: the run is being terminated or the row was canceled."""

    _named: bool = field(default=False, init=False)

    def _name(self) -> str | None:
        """The listing's name (a project, or an image project's photo), or what the photo is
        (an image), for people."""
        try:
            with self.db.session() as session:
                row = rows.get(session, rows.model_for(self.kind), self.row_id)
                if isinstance(row, VideoProject):
                    return str(row.name)[:NAME_MAX]
                project_id = row.image_project_id
                if project_id and (project := session.get(ImageProject, project_id)):
                    order = int(row.project_order or 0) + 1
                    return f"{project.name}: photo {order} ({row.room_type})"[:NAME_MAX]
                photo = PurePosixPath(urlsplit(row.original_image_url).path).name
                return f"{row.room_type or 'photo'} {row.kind} of {photo}"[:NAME_MAX]
        except SQLAlchemyError as exc:
            if not is_outage(exc):
                raise
            return None

    def __post_init__(self) -> None:
        self.stop = StopSignal(
            self.db, self.kind, self.row_id, self.context.instance, self.context.run.run_id
        )

    def report(
        self,
        step: str,
        percent: int,
        label: str,
        cost_cents: int | None = None,
        **row_values: object,
    ) -> None:
        """Show progress: the row, the run's tags, a log line (safe from the fan-out's threads);
        raises `Failure` when the work was stopped (row canceled, run terminated)."""
        with _REPORTING:
            self._report(step, percent, label, cost_cents, **row_values)

    def _report(
        self, step: str, percent: int, label: str, cost_cents: int | None, **row_values: object
    ) -> None:
        if why := self.stop.reason():
            self.stop.set()  # the fan-out's threads cancel their requests as the step ends
            raise dg.Failure(description=why, allow_retries=False)
        model = rows.model_for(self.kind)
        try:
            with self.db.session() as session:
                rows.progress(session, model, self.row_id, step, percent, label, **row_values)
        except SQLAlchemyError as exc:
            if not is_outage(exc):
                raise
            # Progress is shown, not kept: a DB blip loses one report, never the run.
            self.context.log.warning(f"progress of {self.row_id} not recorded: app DB unreachable")
        self.publish(step, percent, label, cost_cents)

    def publish(self, step: str, percent: int, label: str, cost_cents: int | None = None) -> None:
        """Show progress the row already records: the run's tags and one log line."""
        tags = {"studio/step": step, "studio/progress": str(percent)}
        if not self._named:  # once per step: which listing this is, in Dagit
            self._named = True
            if name := self._name():
                tags[NAME_TAG] = name
                self.context.add_asset_metadata({"name": name})
        if cost_cents is not None:
            tags["studio/cost_cents"] = str(cost_cents)
        self.context.instance.add_run_tags(self.context.run.run_id, tags)
        self.context.log.info(
            f"progress id={self.row_id} step={step} progress={percent} label={label!r}"
            + (f" cost_cents={cost_cents}" if cost_cents is not None else "")
        )

    def stage(self, step: str) -> None:
        """Report one of the image stages by name."""
        percent, label = IMAGE_STAGES[step]
        self.report(step, percent, label)
