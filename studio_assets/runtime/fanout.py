"""Bounded fan-out inside one asset: each item retried on its own, failures collected."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

import dagster as dg

from resources.errors import InputRejected, NotFound, ProviderError, StudioError
from studio_assets.runtime.failures import user_message
from studio_assets.runtime.stopping import StopFlag

log = dg.get_dagster_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ItemRetry:
    """Exponential backoff with full jitter, like Dagster's RetryPolicy, per item."""

    attempts: int = 2
    base_delay_s: float = 2.0
    max_delay_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class ItemResult(Generic[T, R]):
    item: T
    value: R | None
    error: str | None
    attempts: int


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, InputRejected | NotFound):
        return False
    return not isinstance(exc, ProviderError) or exc.retryable


def run_with_retry(
    work: Callable[[T], R],
    item: T,
    retry: ItemRetry,
    on_retry: Callable[[T, int, str], None] | None,
    stop: StopFlag,
) -> ItemResult[T, R]:
    for attempt in range(1, retry.attempts + 1):
        try:
            return ItemResult(item, work(item), None, attempt)
        except Exception as exc:
            if not isinstance(exc, StudioError):
                log.warning(f"attempt {attempt} on {item!r:.80} raised", exc_info=True)  # a bug?
            if attempt == retry.attempts or not retryable(exc) or stop.is_set():
                return ItemResult(item, None, user_message(exc), attempt)
            if on_retry:
                on_retry(item, attempt, user_message(exc))
            if stop.wait(retry.delay(attempt)):
                return ItemResult(item, None, user_message(exc), attempt)
    raise AssertionError("unreachable")


def fan_out(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    max_workers: int,
    retry: ItemRetry,
    on_done: Callable[[ItemResult[T, R]], None],
    on_retry: Callable[[T, int, str], None] | None = None,
    stop: StopFlag | None = None,
    follow: Callable[[ItemResult[T, R]], Sequence[T]] = lambda _result: (),
) -> list[ItemResult[T, R]]:
    """Run `work` over `items`, at most `max_workers` at a time; `on_done` as each finishes.

    `follow(result)` names the items a finished one makes possible (a transition, once both
    its clips exist): they start next, ahead of the items still waiting. The results come back
    in that order: `items`, then each follower as it became ready.

    When this thread is interrupted (Dagster stopping the run) or `on_done` raises, `stop` is
    halted — the items still running cancel their requests if an operator asked for it, and
    otherwise leave them running for a resumed run — and once they have returned it re-raises.
    """
    stop = stop or StopFlag()
    order = list(items)
    ready = deque(range(len(order)))
    results: dict[int, ItemResult[T, R]] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="gen") as pool:
        running: dict[Future[ItemResult[T, R]], int] = {}
        try:
            while ready or running:
                while ready and len(running) < max(1, max_workers):
                    index = ready.popleft()
                    item = order[index]
                    running[pool.submit(run_with_retry, work, item, retry, on_retry, stop)] = index
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    result = future.result()
                    results[running.pop(future)] = result
                    on_done(result)
                    new = follow(result)
                    order.extend(new)
                    ready.extendleft(reversed(range(len(order) - len(new), len(order))))
        except BaseException:
            stop.halt()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [results[i] for i in range(len(order))]
