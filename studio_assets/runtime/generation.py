"""Buying a generation at most once: claim → submit → store the request id → wait → store.

Every asset that pays a provider goes through `generate_once`, which moves the slot through
`resources.repository.ledger`'s state machine. A re-run (step retry, run retry after a crash, a
manual re-materialization) reuses a finished result whose media is still in storage, resumes
waiting on a stored request id, reconciles a submit whose id was never stored, and submits only
what was never submitted.

The window between the provider accepting a job and our storing its id is closed three ways:
the id is journaled in storage at once, the DB write is retried across an outage
(`AppDatabase.outage_patience_s`), and a slot left `submitting` by a dead holder becomes
`ambiguous` and is looked up by its submit token instead of being submitted again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from resources.database import AppDatabase
from resources.errors import (
    Abandoned,
    Canceled,
    InputRejected,
    NeedsForce,
    ProviderError,
    RequestStuck,
    SubmitAmbiguous,
)
from resources.provider.base import (
    GenerationJob,
    GenerationResult,
    ProgressCallback,
    ProviderResource,
    StopCheck,
)
from resources.repository import ledger
from resources.repository.ledger import SlotState, SlotStatus
from resources.storage import StorageResource
from studio_assets.runtime import submit_journal
from studio_assets.runtime.provider_budget import Budget

GENERATION_TIMEOUT_S = 900.0  # the old product gave up on a clip after 10 minutes
SUBMIT_LEASE_S = 180.0
"""Covers one submit call plus the patient store of its id; past it the slot is ambiguous."""
RECONCILE_POLL_S = 2.0


@dataclass(frozen=True)
class Outcome:
    uri: str
    cost_cents: int
    request_id: str | None
    model: str
    how: str  # "generated", "resumed" (an earlier run's request) or "reused" (already stored)
    seconds: float

    @property
    def bought_now(self) -> bool:
        return self.how != "reused"


@dataclass(frozen=True)
class Purchase:
    """One slot's generation and everything needed to buy it."""

    db: AppDatabase
    slot: ledger.Slot
    row_id: str
    provider: ProviderResource
    storage: StorageResource
    job: GenerationJob
    owner: str

    def read(self) -> SlotState:
        return self.db.patiently(lambda s: ledger.read(s, self.slot, self.row_id))

    def move(self, move: Callable[..., bool], *args: object) -> bool:
        """One ledger move, retried across a DB outage."""
        return self.db.patiently(lambda s: move(s, self.slot, self.row_id, *args))


def generate_once(
    *,
    db: AppDatabase,
    slot: ledger.Slot,
    row_id: str,
    provider: ProviderResource,
    storage: StorageResource,
    job: GenerationJob,
    key: str,
    owner: str,
    workdir: Path,
    timeout_s: float,
    force: bool = False,
    on_update: ProgressCallback | None = None,
    on_stage: Callable[[str], None] | None = None,
    should_stop: StopCheck | None = None,
    budget: Budget | None = None,
) -> Outcome:
    """Make sure the slot's media exists in storage under `key`, paying for it at most once.

    `should_stop` is asked before submitting and while waiting: once it is true nothing more
    is bought and an in-flight request is canceled (`Canceled`). `budget`: the request holds a
    place in the provider budget from before its submit until its result is downloaded."""
    started = time.monotonic()
    buy = Purchase(db, slot, row_id, provider, storage, job, owner)
    if force:
        buy.move(ledger.reset)
    state = _settle(buy, buy.read(), timeout_s, should_stop)
    model = provider.model_for(job.kind)
    if state.status is SlotStatus.COMPLETED:
        if state.url and storage.exists(state.url):
            return Outcome(state.url, state.cost_cents, state.request_id, model, "reused", 0.0)
        if not provider.resubmit_is_free:
            message = (
                f"{job.label}: it was bought, but its media is gone from storage "
                f"({state.url}); re-run with force for {row_id} to buy it again"
            )
            buy.move(ledger.lost, message)
            raise NeedsForce(message)
        buy.move(ledger.reset)  # free to make again
        state = buy.read()
    resumed = state.request_id if state.status is SlotStatus.SUBMITTED else None
    place = budget.place if budget else _no_budget
    with place(job.label, at_provider=bool(resumed), should_stop=should_stop, on_wait=on_update):
        if resumed:
            request_id, how = resumed, "resumed"
        elif should_stop and should_stop():
            raise Canceled(f"{job.label}: stopped before submitting; nothing was bought")
        else:
            request_id, how = _submit(buy), "generated"
        result = _wait(buy, request_id, workdir, timeout_s, on_update, should_stop)
    # Stored outside the place: the provider is done with it, the next request can go.
    if on_stage:
        on_stage("saving")
    uri = storage.put_file(key, result.path, result.content_type)
    if not buy.move(ledger.completed, uri, result.cost_cents):
        uri = buy.read().url or uri  # another executor of the same request finished first
    return Outcome(
        uri, result.cost_cents, request_id, result.model, how, time.monotonic() - started
    )


@contextmanager
def _no_budget(*_args: object, **_kwargs: object) -> Iterator[None]:
    yield


def _settle(
    buy: Purchase, state: SlotState, timeout_s: float, should_stop: StopCheck | None
) -> SlotState:
    """Resolve what an earlier attempt left behind before anything is bought."""
    label = buy.job.label
    if state.status is SlotStatus.SUBMITTING:
        if not state.lease_expired:
            raise ProviderError(f"{label}: another run is submitting it right now", retryable=True)
        buy.move(ledger.expire_submitting)
        state = buy.read()
    if state.status is SlotStatus.AMBIGUOUS:
        state = _reconcile(buy, state, timeout_s, should_stop)
    if state.status is SlotStatus.HELD:
        raise NeedsForce(f"{label}: {state.error}")
    return state


def _reconcile(
    buy: Purchase, state: SlotState, timeout_s: float, should_stop: StopCheck | None
) -> SlotState:
    """An ambiguous slot: find the request the provider may have accepted, by submit token.

    A provider that calls back (fal with `STUDIO_FAL_CALLBACK_URL`) names the request when the
    job ends, so its callback is awaited as long as the job itself would be."""
    found = _journaled(buy, state)
    if not found and buy.provider.reports_requests and state.submit_started_at:
        deadline = ledger.aware(state.submit_started_at).timestamp() + timeout_s
        while not found and time.time() < deadline:
            if should_stop and should_stop():
                raise Canceled(f"{buy.job.label}: stopped while waiting to reconcile its submit")
            time.sleep(RECONCILE_POLL_S)
            found = _journaled(buy, state)
    if found:
        buy.move(ledger.reconciled, found)
    elif buy.provider.resubmit_is_free:
        buy.move(ledger.reconciled, None)  # nothing can have been billed: submit, once
    else:
        started = state.submit_started_at
        when = f"{started:%Y-%m-%d %H:%M:%S} UTC" if started else "an unknown time"
        raise NeedsForce(
            f"{buy.job.label}: {state.error}. The provider may have accepted a job submitted at "
            f"{when} (submit token {state.token}) whose request id was never stored, and no "
            f"record of it was found. Check {buy.provider.name}'s request history for "
            f"{buy.provider.model_for(buy.job.kind)} around that time; re-run with force for "
            f"{buy.row_id} to buy it again"
        )
    return buy.read()


def _journaled(buy: Purchase, state: SlotState) -> str | None:
    return submit_journal.lookup(buy.storage, state.token) if state.token else None


def _submit(buy: Purchase) -> str:
    token = buy.db.patiently(
        lambda s: ledger.claim(s, buy.slot, buy.row_id, buy.owner, SUBMIT_LEASE_S)
    )
    if token is None:
        raise ProviderError(f"{buy.job.label}: another run took it first", retryable=True)
    try:
        request_id = buy.provider.submit(dataclasses.replace(buy.job, submit_token=token))
    except SubmitAmbiguous as exc:
        buy.move(ledger.ambiguous, str(exc))
        raise
    except Exception as exc:
        buy.move(ledger.not_taken, token, str(exc))
        raise
    journaled = submit_journal.record(buy.storage, token, request_id)
    try:
        stored = buy.move(ledger.submitted, token, request_id)
    except Exception as exc:
        kept = "kept in the submit journal" if journaled else "kept nowhere"
        raise ProviderError(
            f"{buy.job.label}: the app DB did not take request {request_id} ({kept}); the "
            "next attempt reconciles it",
            retryable=journaled,
        ) from exc
    if not stored and buy.read().request_id != request_id:
        # Someone else reconciled or reset the slot meanwhile: stop our request rather than
        # pay for two.
        buy.provider.cancel(request_id)
        raise ProviderError(
            f"{buy.job.label}: lost the slot while submitting; canceled request {request_id}",
            retryable=True,
        )
    if journaled:
        submit_journal.forget(buy.storage, token)
    return request_id


def _wait(
    buy: Purchase,
    request_id: str,
    workdir: Path,
    timeout_s: float,
    on_update: ProgressCallback | None,
    should_stop: StopCheck | None,
) -> GenerationResult:
    try:
        return buy.provider.wait(request_id, buy.job, workdir, timeout_s, on_update, should_stop)
    except Abandoned:
        raise  # the request goes on: the slot stays `submitted` for the resumed run
    except Canceled as exc:
        buy.move(ledger.canceled, str(exc))
        raise
    except RequestStuck as exc:
        buy.move(ledger.held, str(exc))
        raise
    except InputRejected as exc:  # the provider refused the job: nothing was billed
        buy.move(ledger.gone, request_id, str(exc))
        raise
    except ProviderError as exc:
        # A job the provider failed (and did not bill) may be bought anew; anything else —
        # a poll that failed, a result we could not download — keeps the request to resume.
        if exc.request_gone:
            buy.move(ledger.gone, request_id, str(exc))
        else:
            buy.move(ledger.note_error, str(exc))
        raise
