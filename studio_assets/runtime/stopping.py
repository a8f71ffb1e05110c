"""When work inside a run must stop, and whether its in-flight requests go with it.

A `StopSignal` is asked by every generation of one row, from the fan-out's threads too. Two
ways to stop:

- **cancel** — an operator asked (`studio cancel` marked the row, or the run was terminated
  from Dagit or GraphQL): nothing more is submitted and in-flight requests are canceled.
- **abandon** — the run worker is going away for another reason (SIGTERM from Kubernetes,
  which Dagster turns into the same interrupt, or a step failing around the fan-out): the
  waits end but the requests go on, their slots stay `submitted`, and the resumed run picks
  them up — paying once is worth more than stopping at once.

The run's main thread decides when Dagster interrupts it (`halt`); otherwise the signal looks
at the row and the run (at most every few seconds), so a `studio cancel` that could not reach
the run still stops it, and a step that Dagster retries after terminating the run (its retry
policy applies to interrupts) stops too.
"""

from __future__ import annotations

import threading
import time

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from resources.database import AppDatabase, is_outage
from resources.errors import Abandoned
from resources.repository import rows

CHECK_INTERVAL_S = 2.0
TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


class StopFlag:
    """Set once, asked often, slept on: the fan-out's own stop (it knows no operator)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._abandon = False

    def set(self) -> None:
        """Stop, canceling in-flight requests."""
        self._event.set()

    def abandon(self) -> None:
        """Stop waiting, leaving in-flight requests to a resumed run."""
        if not self._event.is_set():
            self._abandon = True
            self._event.set()

    def halt(self) -> None:
        """The run's main thread is leaving the fan-out: nobody asked to cancel, so abandon."""
        self.abandon()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        """A `StopCheck`: true to cancel; raises `Abandoned` to stop waiting without it."""
        if not self._event.is_set():
            return False
        if self._abandon:
            raise Abandoned("the run worker is stopping; the request goes on for a resumed run")
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when told to stop; whether to stop."""
        self._event.wait(seconds)
        return self.is_set()


class StopSignal(StopFlag):
    """A `StopFlag` that cancels when the row is `canceled` or the run is being terminated,
    looked up at most every `CHECK_INTERVAL_S`."""

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

    def halt(self) -> None:
        """Cancel if an operator asked for it (looked up now), else abandon."""
        if self.reason():
            self.set()
        else:
            self.abandon()

    def __call__(self) -> bool:
        if not self._event.is_set():
            now = time.monotonic()
            if now - self._checked_at >= CHECK_INTERVAL_S:
                self._checked_at = now
                if self.reason():
                    self.set()
        return super().__call__()

    def reason(self) -> str | None:
        """Why an operator stopped the work, looked up now; None when nobody did (or the app DB
        cannot say right now: a DB blip must not stop paid work)."""
        try:
            with self._db.session() as session:
                if rows.get(session, self._model, self._row_id).status == rows.RowStatus.CANCELED:
                    self._run_canceling()
                    return "canceled by an operator"
        except SQLAlchemyError as exc:
            if not is_outage(exc):
                raise
            dg.get_dagster_logger().warning("app DB unreachable; cannot check for a cancel now")
        run = self._instance.get_run_by_id(self._run_id)
        if run is not None and run.status in TERMINATING:
            return "the run is being terminated"
        return None

    def _run_canceling(self) -> None:
        """The row was canceled (by `studio cancel` or by the app writing the row): the run is
        stopping for that reason, so it ends CANCELED in Dagit, not FAILURE."""
        run = self._instance.get_run_by_id(self._run_id)
        if run is not None and not run.is_finished and run.status not in TERMINATING:
            self._instance.report_run_canceling(run, message="its row was canceled")
