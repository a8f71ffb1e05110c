"""The product registry: every kind of thing studio makes, and what follows from it.

A product is one row table, one dynamic partition set, one job and the assets that buy its
generations. Every door — the submission and run-status sensors, `studio run`, GraphQL
launches, `--force`, the status JSON and the webhooks — finds its way through `product()`;
an unknown kind is an error, never a default. Adding a product is one entry here plus its
asset, its job and (if it is a new table) its row model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
from sqlalchemy.orm import Session

from resources.errors import StudioError
from resources.models import ImageGeneration
from resources.repository import rows
from studio_assets.jobs import image_job, inpaint_job, video_job
from studio_assets.partitions import image_edits, images, video_projects


@dataclass(frozen=True)
class Product:
    kind: str
    """What a row asks for: `video`, `enhance`, `inpaint` (an image row's `kind` column)."""
    table: str
    """Its row table, as `rows.model_for` names it: `video` or `image`."""
    partitions: dg.DynamicPartitionsDefinition
    job: dg.UnresolvedAssetJobDefinition
    buying_assets: tuple[str, ...]
    """The assets that buy generations: `force` (buy again) is their run config."""

    @property
    def model(self) -> rows.Row:
        return rows.model_for(self.table)

    def force_config(self) -> dict[str, Any]:
        """Run config that buys every finished generation of the row again."""
        return {"ops": {name: {"config": {"force": True}} for name in self.buying_assets}}


PRODUCTS = (
    Product("enhance", "image", images, image_job, ("enhanced_image",)),
    Product("inpaint", "image", image_edits, inpaint_job, ("inpainted_image",)),
    Product(
        "video",
        "video",
        video_projects,
        video_job,
        ("video_clips", "transition_clips", "final_video"),
    ),
)
_BY_KIND = {p.kind: p for p in PRODUCTS}
_BY_JOB = {p.job.name: p for p in PRODUCTS}


def product(kind: str) -> Product:
    """The product of `kind`; an unknown kind is refused, naming the known ones."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        known = ", ".join(_BY_KIND)
        raise StudioError(f"unknown kind {kind!r}: studio makes {known}") from None


def product_of_job(job_name: str) -> Product | None:
    """The product a job makes; None for a job that is not a product's (Dagit's ad-hoc ones)."""
    return _BY_JOB.get(job_name)


def product_of_row(session: Session, row_id: str) -> Product:
    """The product a project or image id is for."""
    table = rows.find_kind(session, row_id)
    if table == "image":
        return product(rows.get(session, ImageGeneration, row_id).kind)
    return product(table)


def jobs_of_table(table: str) -> list[dg.UnresolvedAssetJobDefinition]:
    """The jobs a table's rows are launched with (what its submission sensor may target)."""
    return [p.job for p in PRODUCTS if p.table == table]
