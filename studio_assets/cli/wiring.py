"""What CLI commands share: settings, resources, the Dagster instance, error reporting."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import typer

from resources.database import AppDatabase
from resources.errors import StudioError
from resources.models import ImageGeneration
from resources.provider.base import Kind, ProviderResource
from resources.repository import rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.app import control, image_projects, image_versions, launching, submission
from studio_assets.app import status as status_json
from studio_assets.app.instance import PROJECT_ROOT, local_instance
from studio_assets.app.running import launch_tags, product_for, run_in_process
from studio_assets.cli.output import fail
from studio_assets.domain.image_project_spec import ImageProjectSpec
from studio_assets.domain.project_spec import ProjectSpec, spec_with_paths_from
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, parse_spec
from studio_assets.products import product
from studio_assets.settings import Settings, database_file, load_settings

# An image project's photos that `studio run` / `studio launch` take (a canceled one needs
# `studio retry` first, as a canceled image does).
RUNNABLE_PHOTO = (rows.RowStatus.DRAFT, rows.RowStatus.QUEUED, rows.RowStatus.FAILED)
LAUNCHABLE_PHOTO = RUNNABLE_PHOTO


@dataclass
class Wiring:
    settings: Settings = field(default_factory=load_settings)
    project_root: Path = PROJECT_ROOT

    @classmethod
    @contextmanager
    def guard(cls, migrate: bool = True, existing: bool = False) -> Iterator[Wiring]:
        """Build the wiring; report any StudioError on stderr with a non-zero exit.

        `existing`: the command reads rows, so a missing database is an error that says where
        it looked, not a new empty database."""
        try:
            wiring = cls()
            if existing:
                check_database_exists(wiring.settings)
            if migrate:
                wiring.db.upgrade()
            yield wiring
        except typer.Exit:
            raise
        except StudioError as exc:
            fail(str(exc))
        except dg.DagsterError as exc:
            fail(f"Dagster: {exc}")

    @cached_property
    def defs(self) -> dg.Definitions:
        from studio_assets.definitions import build_defs

        return build_defs(self.settings)

    @cached_property
    def db(self) -> AppDatabase:
        return AppDatabase(url=self.settings.database_url)

    @cached_property
    def storage(self) -> StorageResource:
        from studio_assets.definitions import build_resources

        storage = build_resources(self.settings)["storage"]
        assert isinstance(storage, StorageResource)
        return storage

    @cached_property
    def provider(self) -> ProviderResource:
        from studio_assets.definitions import build_provider

        # Resolves dg.EnvVar fields (FAL_KEY) as Dagster would inside a run.
        return build_provider(self.settings).process_config_and_initialize()

    @cached_property
    def webhooks(self) -> WebhookResource:
        from studio_assets.definitions import build_webhooks

        return build_webhooks(self.settings).process_config_and_initialize()

    @cached_property
    def instance(self) -> dg.DagsterInstance:
        return local_instance(self.settings)

    def status(self, row_id: str) -> dict[str, Any]:
        """The row's status JSON, once a row whose `studio run` process died is ended."""
        control.settle_orphan(self.db, lambda: self.instance, row_id)
        offline = self.settings.provider == "local"
        return status_json.status_of(self.db, self.storage, row_id, offline)

    def retry(self, row_id: str) -> int:
        control.settle_orphan(self.db, lambda: self.instance, row_id)
        return control.retry(self.db, row_id)

    def submit_enhance(self, data: dict[str, Any], draft: bool = False) -> str:
        spec = parse_spec(EnhanceSpec, data)
        return submission.submit_enhance(self.db, self.storage, spec, draft=draft)

    def submit_inpaint(
        self, data: dict[str, Any], draft: bool = False, replace_newer: bool = False
    ) -> str:
        """An inpainting edit; with `replace_newer` (of an earlier image id), the versions
        made after that image are deleted once the edit is written, and it takes their place."""
        spec = parse_spec(InpaintSpec, data)
        if not replace_newer:
            return submission.submit_inpaint(self.db, self.storage, spec, draft=draft)
        parent = spec.parent_id or spec.image
        if not parent.startswith("img_"):
            raise StudioError("--replace-newer edits an earlier version: give its id (img_…)")
        doomed = image_versions.newer_than(self.db, parent)  # refused now if one is running
        image_id = submission.submit_inpaint(self.db, self.storage, spec, draft=True)
        image_versions.replace_newer(self.db, self.storage, doomed)
        with self.db.session() as session:  # it takes the place of the versions it replaced
            made = rows.get(session, ImageGeneration, image_id)
            made.version = rows.get(session, ImageGeneration, parent).version + 1
            if not draft:
                rows.queue(session, ImageGeneration, image_id)
        return image_id

    def submit_project(self, data: dict[str, Any], draft: bool = False) -> str:
        """The project's rows, with the estimate of the provider that will run it."""
        spec = parse_spec(ProjectSpec, data)
        return submission.submit_project(
            self.db,
            self.storage,
            spec,
            draft=draft,
            model=self.provider.model_for(Kind.IMAGE_TO_VIDEO),
            speech_model=self.provider.model_for(Kind.SPEECH),
            writer_model=self.provider.model_for(Kind.SCRIPT),
        )

    def submit_image_project(self, data: dict[str, Any], draft: bool = False) -> str:
        """The project's photos, with the estimate of the image model that will run them."""
        if "clips" in data and "photos" not in data:
            raise StudioError("this is a video project spec (it has `clips`): use `studio submit`")
        spec = parse_spec(ImageProjectSpec, data)
        model = self.provider.model_for(Kind.IMAGE_EDIT)
        return image_projects.submit_image_project(
            self.db, self.storage, spec, draft=draft, model=model
        )

    def launch(self, row_id: str, url: str) -> list[str]:
        """GraphQL launch of the row (an image project: of each photo not yet done); the run
        ids. Each row must be launchable and records its run id."""
        if self._is_image_project(row_id):
            photos = image_projects.photo_ids(self.db, row_id, LAUNCHABLE_PHOTO)
            if not photos:
                raise StudioError(f"{row_id} has no photo left to launch")
            return [run_id for photo in photos for run_id in self.launch(photo, url)]
        made = product_for(self.db, row_id)
        with self.db.session() as session:
            row = rows.get(session, made.model, row_id)
            if row.status not in rows.LAUNCHABLE:
                raise StudioError(
                    f"{row_id} is {row.status}; only {', '.join(rows.LAUNCHABLE)} can be launched"
                )
        run_id = launching.launch(
            url, made.job.name, str(made.partitions.name), row_id, launch_tags(self.db, row_id)
        )
        with self.db.session() as session:
            rows.set_status(session, made.model, row_id, row.status, run_id=run_id)
        return [run_id]

    def force_config(self, row_id: str) -> dict[str, Any]:
        if self._is_image_project(row_id):
            return product("enhance").force_config()
        return product_for(self.db, row_id).force_config()

    def run(
        self,
        row_id: str,
        run_config: dict[str, Any] | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> list[dg.ExecuteInProcessResult]:
        """Run the row's job here; an image project queues its draft photos, then runs each
        photo not yet done, one after another (the finished ones too with `--force`), going on
        past a photo that fails."""
        if not self._is_image_project(row_id):
            return [run_in_process(self.defs, self.instance, self.db, row_id, run_config, on_poll)]
        wanted = (*RUNNABLE_PHOTO, rows.RowStatus.COMPLETED) if run_config else RUNNABLE_PHOTO
        photos = image_projects.photo_ids(self.db, row_id, wanted)
        if not photos:
            raise StudioError(f"{row_id} has no photo left to run: {self._why_none(row_id)}")
        for draft in image_projects.photo_ids(self.db, row_id, (rows.RowStatus.DRAFT,)):
            with self.db.session() as session:  # submitted now: the project reads as queued
                rows.queue(session, ImageGeneration, draft)
        results = []
        for photo in photos:
            if photo not in image_projects.photo_ids(self.db, row_id, wanted):
                continue  # canceled (or taken by another run) while the ones before it ran
            results.append(
                run_in_process(self.defs, self.instance, self.db, photo, run_config, on_poll)
            )
        return results

    def _why_none(self, project_id: str) -> str:
        if image_projects.photo_ids(self.db, project_id, (rows.RowStatus.CANCELED,)):
            return f"`studio retry {project_id}` queues its canceled photos"
        if image_projects.photo_ids(self.db, project_id, (rows.RowStatus.PROCESSING,)):
            return "its photos are running elsewhere (`studio status` follows them)"
        return "every photo is finished (`--force` buys them all again)"

    def _is_image_project(self, row_id: str) -> bool:
        with self.db.session() as session:
            return rows.find_kind(session, row_id) == "image_project"


def read_spec(path: Path) -> dict[str, Any]:
    """A spec file's JSON object, its relative paths made absolute against its folder."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StudioError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StudioError(f"{path} must hold one JSON object")
    return spec_with_paths_from(data, path.resolve().parent)


def check_database_exists(settings: Settings) -> None:
    """A SQLite database that is not there: say where we looked and how to look elsewhere."""
    path = database_file(settings.database_url)
    if path is None or path.is_file():
        return
    raise StudioError(
        f"no studio database at {path} (STUDIO_HOME is {settings.home}): point STUDIO_HOME "
        "at the folder that holds studio.db, or STUDIO_DATABASE_URL at the database"
    )
