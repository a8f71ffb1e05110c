"""When work inside a run must stop: its run is being terminated, or an operator canceled its row.

A `StopSignal` is asked by every generation of one row, from the fan-out's threads too; once it
turns true nothing more is submitted and in-flight requests are canceled. The run's main thread
sets it when Dagster interrupts it; otherwise it looks at the row and the run (at most every
few seconds), so a `studio cancel` that could not reach the run still stops it, and a step that
Dagster retries after terminating the run (its retry policy applies to interrupts) stops too.
"""

from __future__ import annotations

import threading
import time

import dagster as dg

from resources.database import AppDatabase
from resources.repository import rows

CHECK_INTERVAL_S = 2.0
TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


class StopFlag:
    """Set once, asked often, slept on: the fan-out's own stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        """True once the work must stop (a `StopCheck`)."""
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when told to stop; whether to stop."""
        self._event.wait(seconds)
        return self()


class StopSignal(StopFlag):
    """A `StopFlag` that also turns true when the row is `canceled` or the run is being
    terminated (from Dagit, say), looked up at most every `CHECK_INTERVAL_S`."""

    def __init__(
        self,
        db: AppDatabase,
        kind: str,
        row_id: str,
        instance: dg.DagsterInstance,
        run_id: str,
    ) -> None:
        super().__init__()
        self._db, self._model, self._row_id = db, rows.model_for(kind), row_id
        self._instance, self._run_id = instance, run_id
        self._checked_at = float("-inf")

    def __call__(self) -> bool:
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_S:
            self._checked_at = now
            if self.reason():
                self._event.set()
        return self._event.is_set()

    def reason(self) -> str | None:
        """Why the work must stop, looked up now; None when it may go on."""
        with self._db.session() as session:
            if rows.get(session, self._model, self._row_id).status == "canceled":
                return "canceled by an operator"
        run = self._instance.get_run_by_id(self._run_id)
        if run is not None and run.status in TERMINATING:
            return "the run is being terminated"
        return None
