"""Buying a batch of one project's slots — its clips, or its transitions — a few at a time.

`buy_batch` is what `video_clips` and `transition_clips` share: each item bought at most once
(the `buy` the asset gives, `generate_once` underneath), retried per item, a failure recorded
on its slot, and progress reported as each item ends, counted from what the batch already
knows (no re-reading of the project). `slot_table` is the batch's detail for Dagit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import dagster as dg

from resources.models import VideoClip
from resources.repository import ledger
from studio_assets.domain.video_plan import span
from studio_assets.domain.wording import plural
from studio_assets.runtime.fanout import ItemResult, ItemRetry, fan_out
from studio_assets.runtime.generation import Outcome
from studio_assets.runtime.progress import Tracker

T = TypeVar("T")

ITEM_RETRY = ItemRetry(attempts=2, base_delay_s=2.0, max_delay_s=30.0)


@dataclass(frozen=True)
class SlotBatch(Generic[T]):
    slot: ledger.Slot
    noun: str
    """What an item is, for labels: `clip`, `transition`."""
    band: tuple[int, int]
    """The batch's progress band (`video_plan`)."""
    items: Sequence[T]
    slot_id: Callable[[T], str]
    """The row that holds an item's slot."""
    label: Callable[[T], str]
    buy: Callable[[T], Outcome]
    billed_elsewhere: int
    """Cents the project's other slots were billed (the project's cost is that plus ours)."""
    counts_clips: bool = False
    """Report the project's `completed_clip_count` (the clips' batch)."""
    if_failed: str = ""
    """What a failure means for the project, added to its log line."""


def buy_batch(
    batch: SlotBatch[T], tracker: Tracker, max_workers: int
) -> list[ItemResult[T, Outcome]]:
    """Every item of the batch, `max_workers` at a time; `tracker` reports as each ends."""
    db, log = tracker.db, tracker.context.log
    total = len(batch.items)
    finished = succeeded = 0
    billed = batch.billed_elsewhere

    def on_done(result: ItemResult[T, Outcome]) -> None:  # on the calling thread
        nonlocal finished, succeeded, billed
        finished += 1
        if result.value is None:
            slot_row, error = batch.slot_id(result.item), result.error or "failed"
            db.patiently(lambda session: ledger.give_up(session, batch.slot, slot_row, error))
            log.warning(f"{batch.label(result.item)} failed{batch.if_failed}: {error}")
        else:
            succeeded += 1
            billed += result.value.cost_cents
        counts = {"completed_clip_count": succeeded} if batch.counts_clips else {}
        tracker.report(
            "generating",
            span(batch.band, finished, total),
            f"Generated {succeeded} of {plural(total, batch.noun)}",
            cost_cents=billed,
            actual_cost=billed,
            **counts,
        )

    return fan_out(
        batch.buy,
        batch.items,
        max_workers=max_workers,
        retry=ITEM_RETRY,
        on_done=on_done,
        on_retry=lambda item, n, msg: log.warning(
            f"{batch.label(item)} attempt {n} failed, retrying: {msg}"
        ),
        stop=tracker.stop,
    )


def bought_now(results: list[ItemResult[T, Outcome]]) -> int:
    """Cents this batch paid (not what it reused)."""
    return sum(r.value.cost_cents for r in results if r.value and r.value.bought_now)


def completed(results: list[ItemResult[T, Outcome]]) -> int:
    return sum(1 for r in results if r.value is not None)


def slot_table(batch: SlotBatch[T], results: list[ItemResult[T, Outcome]]) -> dg.MetadataValue:
    """Per-item detail for Dagit: what it is, status, how, seconds, cost, request id, error."""
    records = [
        dg.TableRecord(
            {
                "item": batch.label(r.item),
                "status": "completed" if r.value else "failed",
                "how": r.value.how if r.value else "",
                "seconds": round(r.value.seconds, 1) if r.value else 0.0,
                "cost_cents": r.value.cost_cents if r.value else 0,
                "request_id": (r.value.request_id if r.value else None) or "",
                "error": (r.error or "")[:200],
            }
        )
        for r in results
    ]
    columns = [
        dg.TableColumn("item"),
        dg.TableColumn("status"),
        dg.TableColumn("how"),
        dg.TableColumn("seconds", "float"),
        dg.TableColumn("cost_cents", "int"),
        dg.TableColumn("request_id"),
        dg.TableColumn("error"),
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def clips_billed(clips: Sequence[VideoClip]) -> int:
    return sum(c.cost_cents or 0 for c in clips if c.status == ledger.SlotStatus.COMPLETED)


def transitions_billed(clips: Sequence[VideoClip]) -> int:
    return sum(
        c.transition_cost_cents or 0
        for c in clips
        if c.transition_status == ledger.SlotStatus.COMPLETED
    )
