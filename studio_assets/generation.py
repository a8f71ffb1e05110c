"""Buying a generation at most once: claim → submit → store the request id → wait → store.

Every asset that pays a provider goes through `generate_once`. A re-run (step retry, run
retry after a crash, a manual re-materialization) reuses a finished result whose media is still
in storage, resumes waiting on a stored request id, and submits only what was never submitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from resources.database import AppDatabase
from resources.errors import Canceled, InputRejected, ProviderError, SubmitAmbiguous
from resources.provider.base import GenerationJob, ProgressCallback, ProviderResource, StopCheck
from resources.repository import ledger
from resources.storage import StorageResource

SUBMIT_LEASE_S = 180.0


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
) -> Outcome:
    """Make sure the slot's media exists in storage under `key`, paying for it at most once.

    `should_stop` is asked before submitting and while waiting: once it is true nothing more
    is bought and an in-flight request is canceled (`Canceled`)."""
    started = time.monotonic()
    with db.session() as session:
        if force:
            ledger.reset(session, slot, row_id)
        state = ledger.read(session, slot, row_id)
    model = provider.model_for(job.kind)
    if state.status == "completed" and state.url and storage.exists(state.url):
        return Outcome(state.url, state.cost_cents, state.request_id, model, "reused", 0.0)
    if state.status == "ambiguous":
        raise InputRejected(
            f"{job.label}: an earlier submit may have been accepted by the provider without "
            f"our learning its id ({state.error}); reconcile it, or re-run with force"
        )
    if state.status == "submitted" and state.request_id:
        request_id, how = state.request_id, "resumed"
    elif should_stop and should_stop():
        raise Canceled(f"{job.label}: stopped before submitting; nothing was bought")
    else:
        request_id, how = _submit(db, slot, row_id, provider, job, owner), "generated"
    result = _wait(
        db, slot, row_id, provider, job, request_id, workdir, timeout_s, on_update, should_stop
    )
    if on_stage:
        on_stage("saving")
    uri = storage.put_file(key, result.path, result.content_type)
    with db.session() as session:
        if not ledger.completed(session, slot, row_id, uri, result.cost_cents):
            state = ledger.read(session, slot, row_id)  # another executor finished first
            uri = state.url or uri
    return Outcome(
        uri, result.cost_cents, request_id, result.model, how, time.monotonic() - started
    )


def _submit(
    db: AppDatabase,
    slot: ledger.Slot,
    row_id: str,
    provider: ProviderResource,
    job: GenerationJob,
    owner: str,
) -> str:
    with db.session() as session:
        if not ledger.claim(session, slot, row_id, owner, SUBMIT_LEASE_S):
            raise ProviderError(
                f"{job.label}: another run is submitting it right now", retryable=True
            )
    try:
        request_id = provider.submit(job)
    except SubmitAmbiguous as exc:
        with db.session() as session:
            ledger.failed(session, slot, row_id, str(exc), ambiguous=True)
        raise
    except Exception as exc:
        with db.session() as session:
            ledger.failed(session, slot, row_id, str(exc))
        raise
    with db.session() as session:
        stored = ledger.submitted(session, slot, row_id, owner, request_id)
    if not stored:
        # Our lease expired mid-submit and another executor took the slot: stop our request
        # rather than pay for two.
        provider.cancel(request_id)
        raise ProviderError(
            f"{job.label}: lost the submit lease; canceled request {request_id}", retryable=True
        )
    return request_id


def _wait(
    db: AppDatabase,
    slot: ledger.Slot,
    row_id: str,
    provider: ProviderResource,
    job: GenerationJob,
    request_id: str,
    workdir: Path,
    timeout_s: float,
    on_update: ProgressCallback | None,
    should_stop: StopCheck | None,
):  # type: ignore[no-untyped-def]
    try:
        return provider.wait(request_id, job, workdir, timeout_s, on_update, should_stop)
    except ProviderError as exc:
        # A live request stays `submitted` so the retry resumes it instead of paying again.
        if exc.request_gone or not exc.retryable:
            with db.session() as session:
                ledger.failed(session, slot, row_id, str(exc))
        raise
    except InputRejected as exc:
        with db.session() as session:
            ledger.failed(session, slot, row_id, str(exc))
        raise
