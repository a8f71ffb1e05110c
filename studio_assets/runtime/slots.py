"""Buying a batch of one project's slots — its clips, or its transitions — a few at a time.

`buy_batch` is what `video_clips` and `transition_clips` share: each item bought at most once
(the `buy` the asset gives, `generate_once` underneath), retried per item, a failure recorded
on its slot, and progress reported as each item ends, counted from what the batch already
knows (no re-reading of the project). `video_clips` buys its transitions in the same fan-out
(`Followers`): each starts as soon as both its clips exist. `slot_table` is the batch's
detail for Dagit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import dagster as dg

from resources.models import VideoClip
from resources.repository import ledger
from studio_assets.domain.video_plan import span
from studio_assets.domain.wording import plural
from studio_assets.runtime.fanout import ItemResult, ItemRetry, fan_out
from studio_assets.runtime.generation import Outcome
from studio_assets.runtime.progress import Tracker

T = TypeVar("T")
P = TypeVar("P")

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


@dataclass(frozen=True)
class Followers(Generic[T, P]):
    """A second batch whose items become possible as the first batch's succeed (transitions,
    once both neighbouring clips exist): bought in the same fan-out, each as soon as it can."""

    batch: SlotBatch[P]
    """Every item it may buy (`batch.items`: for the progress count)."""
    ready: Callable[[T], Sequence[P]]
    """The items a success of the first batch makes possible now."""


@dataclass(frozen=True)
class Bought(Generic[T, P]):
    items: list[ItemResult[T, Outcome]]
    followers: list[ItemResult[P, Outcome]]


def buy_batch(
    batch: SlotBatch[T],
    tracker: Tracker,
    max_workers: int,
    then: Followers[T, P] | None = None,
) -> Bought[T, P]:
    """Every item of the batch — and of `then` as they become possible — `max_workers` at a
    time; `tracker` reports as each ends."""
    db, log = tracker.db, tracker.context.log
    batches: list[SlotBatch[Any]] = [batch] if then is None else [batch, then.batch]
    finished = {id(b): 0 for b in batches}
    succeeded = {id(b): 0 for b in batches}
    billed = batch.billed_elsewhere if then is None else 0  # both batches: every cost is ours
    planned = sum(len(b.items) for b in batches)

    def on_done(result: ItemResult[Work, Outcome]) -> None:  # on the calling thread
        nonlocal billed
        owner, item = result.item
        finished[id(owner)] += 1
        if result.value is None:
            slot_row, error = owner.slot_id(item), result.error or "failed"
            db.patiently(lambda session: ledger.give_up(session, owner.slot, slot_row, error))
            log.warning(f"{owner.label(item)} failed{owner.if_failed}: {error}")
        else:
            succeeded[id(owner)] += 1
            billed += result.value.cost_cents
        counts = {"completed_clip_count": succeeded[id(batch)]} if batch.counts_clips else {}
        done = ", ".join(
            f"{succeeded[id(b)]} of {plural(len(b.items), b.noun)}" for b in batches if b.items
        )
        tracker.report(
            "generating",
            span(batch.band, sum(finished.values()), planned),
            f"Generated {done}",
            cost_cents=billed,
            actual_cost=billed,
            **counts,
        )

    def follow(result: ItemResult[Work, Outcome]) -> Sequence[Work]:
        owner, item = result.item
        if then is None or owner is not batch or result.value is None:
            return ()
        return [(then.batch, follower) for follower in then.ready(item)]

    results = fan_out(
        lambda work: work[0].buy(work[1]),
        [(batch, item) for item in batch.items],
        max_workers=max_workers,
        retry=ITEM_RETRY,
        on_done=on_done,
        on_retry=lambda work, n, msg: log.warning(
            f"{work[0].label(work[1])} attempt {n} failed, retrying: {msg}"
        ),
        stop=tracker.stop,
        follow=follow,
    )

    def of(which: SlotBatch[Any]) -> list[ItemResult[Any, Outcome]]:
        return [
            ItemResult(r.item[1], r.value, r.error, r.attempts)
            for r in results
            if r.item[0] is which
        ]

    return Bought(of(batch), of(then.batch) if then else [])


Work = tuple["SlotBatch[Any]", Any]
"""One item of a fan-out and the batch it belongs to."""


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
