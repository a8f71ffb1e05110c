"""When work inside a run must stop: its run is being terminated, or an operator canceled its row.

A `StopSignal` is asked by every generation of one row, from the fan-out's threads too; once it
turns true nothing more is submitted and in-flight requests are canceled. The run's main thread
sets it when Dagster interrupts it; otherwise it looks at the row (at most every few seconds),
so a `studio cancel` that could not reach the run still stops it.
"""

from __future__ import annotations

import threading
import time

from resources.database import AppDatabase
from resources.repository import rows

ROW_CHECK_INTERVAL_S = 2.0


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
    """A `StopFlag` that also turns true when the row is `canceled`."""

    def __init__(self, db: AppDatabase, kind: str, row_id: str) -> None:
        super().__init__()
        self._db, self._model, self._row_id = db, rows.model_for(kind), row_id
        self._checked_at = float("-inf")

    def __call__(self) -> bool:
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now - self._checked_at >= ROW_CHECK_INTERVAL_S:
            self._checked_at = now
            with self._db.session() as session:
                if rows.get(session, self._model, self._row_id).status == "canceled":
                    self._event.set()
        return self._event.is_set()
