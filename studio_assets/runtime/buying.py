"""Buying one project's generations: the `buy` its video assets hand their batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from resources.database import AppDatabase
from resources.keys import video_key
from resources.models import VideoProject
from resources.provider.base import GenerationJob, ProviderResource
from resources.repository import ledger
from resources.storage import StorageResource
from studio_assets.runtime.generation import GENERATION_TIMEOUT_S, Outcome, generate_once
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.provider_budget import budget_for

Buy = Callable[[ledger.Slot, str, GenerationJob, str, Path], Outcome]


def buyer(
    context: dg.AssetExecutionContext,
    forced: Callable[[str], bool],
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    project: VideoProject,
    tracker: Tracker,
) -> Buy:
    """`buy(slot, row_id, job, name, workdir)`: one clip, transition or narration line of this
    project, stored under the project's `name` and paid for at most once (see
    `generate_once`), in the provider budget every run shares; `forced(row_id)`: buy it
    again."""
    budget = budget_for(db, provider, project, context.run.run_id)

    def buy(
        slot: ledger.Slot, row_id: str, job: GenerationJob, name: str, workdir: Path
    ) -> Outcome:
        return generate_once(
            db=db,
            slot=slot,
            row_id=row_id,
            provider=provider,
            storage=storage,
            job=job,
            key=video_key(project.workspace_id, project.id, name),
            owner=context.run.run_id,
            workdir=workdir,
            timeout_s=GENERATION_TIMEOUT_S,
            force=forced(row_id),
            on_update=lambda msg: context.log.info(f"{job.label}: {msg}"),
            should_stop=tracker.stop,
            budget=budget,
        )

    return buy
