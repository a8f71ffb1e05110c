"""The statuses of the rows the app submits (DESIGN.md §4), and the groups the moves use."""

from __future__ import annotations

from enum import StrEnum


class RowStatus(StrEnum):
    """`video_project.status` and `image_generation.status` (DESIGN.md §4)."""

    DRAFT = "draft"
    QUEUED = "queued"
    PROCESSING = "processing"  # an image's run
    GENERATING = "generating"  # a project's clips and transitions
    COMPILING = "compiling"  # a project's final video
    PREVIEWED = "previewed"  # a project's free preview is ready: `approve` buys it
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


LAUNCHABLE = (RowStatus.DRAFT, RowStatus.QUEUED, RowStatus.FAILED, RowStatus.CANCELED)
TERMINAL = (RowStatus.COMPLETED, RowStatus.FAILED, RowStatus.CANCELED)
RETRYABLE = (RowStatus.FAILED, RowStatus.CANCELED)
WAITING = (RowStatus.DRAFT, RowStatus.QUEUED)
RESTING = (*TERMINAL, RowStatus.PREVIEWED)
"""Nothing runs until someone acts: what `--watch` and `studio run` wait for."""
