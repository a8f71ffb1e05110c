"""Image enhancement and inpainting: one `image_generation` row per partition."""

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from resources.database import AppDatabase
from resources.engine.photo import normalise_mask, normalise_photo
from resources.errors import InputRejected
from resources.keys import image_key
from resources.models import ImageGeneration
from resources.provider.base import GenerationJob, Kind, MediaInput, ProviderResource
from resources.repository import ledger, rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.domain.rooms import INPAINT_NEGATIVE
from studio_assets.domain.validation import ImageFacts, check_mask, inspect_image
from studio_assets.partitions import image_edits, images
from studio_assets.runtime.failures import row_fails_with_step
from studio_assets.runtime.generation import Outcome, generate_once
from studio_assets.runtime.metadata import inline_preview
from studio_assets.runtime.notifications import notify
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.provider_budget import budget_for
from studio_assets.runtime.row_validation import image_spec_of

IMAGE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)
PROVIDER_TIMEOUT_S = 300.0


class ImageRunConfig(dg.Config):
    force: bool = False
    """Buy the generation again even if it is done."""


@dataclass(frozen=True)
class Inputs:
    image: MediaInput
    facts: ImageFacts
    mask: MediaInput | None = None


@dg.asset(
    partitions_def=images,
    retry_policy=IMAGE_RETRY,
    group_name="images",
    kinds={"fal", "image"},
)
def enhanced_image(
    context: dg.AssetExecutionContext,
    config: ImageRunConfig,
    app_db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
) -> dg.MaterializeResult:
    """An enhanced copy of one photo: exposure, colour and style, architecture untouched."""
    return process_image(context, config.force, app_db, storage, provider, webhooks, "enhance")


@dg.asset(
    partitions_def=image_edits,
    retry_policy=IMAGE_RETRY,
    group_name="images",
    kinds={"fal", "image"},
)
def inpainted_image(
    context: dg.AssetExecutionContext,
    config: ImageRunConfig,
    app_db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
) -> dg.MaterializeResult:
    """A new version of a photo with the masked area removed (filled) or something added."""
    return process_image(context, config.force, app_db, storage, provider, webhooks, "inpaint")


def process_image(
    context: dg.AssetExecutionContext,
    force: bool,
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    webhooks: WebhookResource,
    kind: str,
) -> dg.MaterializeResult:
    """Load the row → fetch and validate → generate once → store → record → report."""
    image_id = context.partition_key
    tracker = Tracker(context, db, "image", image_id)
    with row_fails_with_step(context, db, "image", image_id, IMAGE_RETRY.max_retries, webhooks):
        row = _start(db, image_id, kind, context.run.run_id, force)
        if row.status == "completed":
            return _cached(row)
        provider.check_ready()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="studio-image-") as tmp:
            workdir = Path(tmp)
            tracker.stage("fetching")
            inputs = _fetch_inputs(storage, row, workdir)
            tracker.stage("uploading")
            job = _job(row, inputs)
            tracker.stage("processing")
            outcome = generate_once(
                db=db,
                slot=ledger.IMAGE,
                row_id=image_id,
                provider=provider,
                storage=storage,
                job=job,
                key=image_key(row.workspace_id, image_id, "result.jpg"),  # a photo: JPEG
                owner=context.run.run_id,
                workdir=workdir,
                timeout_s=PROVIDER_TIMEOUT_S,
                force=force,
                on_stage=tracker.stage,
                on_update=lambda msg: context.log.info(f"{image_id}: {msg}"),
                should_stop=tracker.stop,
                budget=budget_for(db, provider, row, context.run.run_id),
            )
            result_facts = _result_facts(storage, outcome, workdir)
            _finish(db, image_id, outcome)
            tracker.stage("completed")
            notify(db, webhooks, "image", image_id, context.log)
            return dg.MaterializeResult(
                metadata=_metadata(
                    provider,
                    outcome,
                    inputs.facts,
                    result_facts,
                    workdir,
                    time.monotonic() - started,
                )
            )


def _start(db: AppDatabase, image_id: str, kind: str, run_id: str, force: bool) -> ImageGeneration:
    with db.session() as session:
        row = rows.get(session, ImageGeneration, image_id)
        if row.kind != kind:
            raise InputRejected(f"image {image_id} is a {row.kind!r} request, not {kind!r}")
        if row.status == "completed" and not force:
            return row
        image_spec_of(row)  # a row written straight to the DB is checked as a spec would be
        rows.start(session, ImageGeneration, image_id, run_id, "processing", redo=force)
        return rows.get(session, ImageGeneration, image_id)


def _fetch_inputs(storage: StorageResource, row: ImageGeneration, workdir: Path) -> Inputs:
    """The photo (and mask) checked, normalised once (upright, 8-bit sRGB JPEG; the mask at the
    upright photo's size) and stored with the row: the provider reads these, not the originals."""
    raw = storage.fetch_input(row.original_image_url, workdir / "original", row.workspace_id)
    facts = inspect_image(raw, "image")
    photo = normalise_photo(raw, workdir / "photo.jpg")
    image = _stored(storage, row, photo, "input.jpg", "image/jpeg")
    if row.kind != "inpaint":
        return Inputs(image, facts)
    if not row.mask_url:
        raise InputRejected("inpainting needs a mask")
    raw_mask = storage.fetch_input(row.mask_url, workdir / "original-mask", row.workspace_id)
    check_mask(inspect_image(raw_mask, "mask"), facts)
    mask = normalise_mask(raw_mask, (facts.width, facts.height), workdir / "mask.png")
    return Inputs(image, facts, _stored(storage, row, mask, "input-mask.png", "image/png"))


def _stored(
    storage: StorageResource, row: ImageGeneration, path: Path, name: str, content_type: str
) -> MediaInput:
    uri = storage.put_file(image_key(row.workspace_id, row.id, name), path, content_type)
    return MediaInput(path, storage.remote_url(uri))


def _job(row: ImageGeneration, inputs: Inputs) -> GenerationJob:
    if row.kind == "inpaint":
        return GenerationJob(
            kind=Kind.INPAINT,
            prompt=row.prompt or "",
            image=inputs.image,
            mask=inputs.mask,
            mode=row.mode,
            negative_prompt=INPAINT_NEGATIVE,
            label=f"inpaint {row.id}",
        )
    return GenerationJob(
        kind=Kind.IMAGE_EDIT, prompt=row.prompt or "", image=inputs.image, label=f"enhance {row.id}"
    )


def _result_facts(storage: StorageResource, outcome: Outcome, workdir: Path) -> ImageFacts:
    local = storage.fetch(outcome.uri, workdir / "result-check", max_bytes=100 * 1024 * 1024)
    return inspect_image(local, "result image")


def _finish(db: AppDatabase, image_id: str, outcome: Outcome) -> None:
    with db.session() as session:
        rows.set_status(
            session,
            ImageGeneration,
            image_id,
            "completed",
            from_states=("processing",),
            result_image_url=outcome.uri,
            cost_cents=outcome.cost_cents,
            error_message=None,
        )


def _cached(row: ImageGeneration) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "status": "cached",
            "result_uri": dg.MetadataValue.url(row.result_image_url or ""),
            "cost_cents": dg.MetadataValue.int(0),
        }
    )


def _metadata(
    provider: ProviderResource,
    outcome: Outcome,
    source: ImageFacts,
    result: ImageFacts,
    workdir: Path,
    seconds: float,
) -> dict[str, Any]:
    return {
        "status": outcome.how,
        "provider": provider.name,
        "model": outcome.model,
        "request_id": outcome.request_id or "",
        "cost_cents": dg.MetadataValue.int(outcome.cost_cents if outcome.bought_now else 0),
        "input_size_bytes": dg.MetadataValue.int(source.size_bytes),
        "input_px": f"{source.width}x{source.height}",
        "output_size_bytes": dg.MetadataValue.int(result.size_bytes),
        "output_px": f"{result.width}x{result.height}",
        "result_uri": dg.MetadataValue.url(outcome.uri),
        "duration_s": dg.MetadataValue.float(round(seconds, 3)),
        "preview": inline_preview(workdir / "result-check"),
    }
