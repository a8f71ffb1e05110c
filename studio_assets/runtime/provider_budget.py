"""Holding a place in the provider budget while a request is at the provider.

`Budget.place(item)` waits until `resources.repository.places` grants a place (fairly across
workspaces), keeps it alive with a heartbeat thread while the request is submitted and waited
on, and gives it back when the result is stored or the attempt fails. A request already at the
provider (a resumed wait) takes its place at once: it is in flight whether we wait or not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from resources.database import AppDatabase
from resources.errors import Canceled
from resources.models import ImageGeneration, VideoProject
from resources.provider.base import ProgressCallback, ProviderResource, StopCheck
from resources.repository import places
from resources.repository.places import Claimant

PLACE_LEASE_S = 30.0
"""A place whose holder stops beating this long is reaped and given to the next waiter."""
HEARTBEAT_S = 5.0
POLL_S = 0.2
"""How often a waiter looks whether it was granted (grants happen as places are released)."""
DISPATCH_EVERY_S = 2.0
"""How often a waiter reaps dead holders' places itself."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """The provider budget as one run's requests see it."""

    db: AppDatabase
    provider: str
    size: int
    """Places at the provider across every run (0: no cap)."""
    claimant: Claimant
    owner: str

    @contextmanager
    def place(
        self,
        item: str,
        *,
        at_provider: bool = False,
        should_stop: StopCheck | None = None,
        on_wait: ProgressCallback | None = None,
    ) -> Iterator[None]:
        """Hold a place for `item` for the duration of the block."""
        if self.size <= 0:
            yield
            return
        held = _Held(self._request(item, at_provider))
        beat = _heartbeat(self.db, held)
        try:
            if not at_provider:
                self._await(held, item, should_stop, on_wait)
            yield
        finally:
            beat()
            self._release(held.id)

    def _request(self, item: str, at_provider: bool) -> str:
        return self.db.patiently(
            lambda s: places.request(
                s,
                provider=self.provider,
                budget=self.size,
                claimant=self.claimant,
                owner=self.owner,
                item=item,
                lease_s=PLACE_LEASE_S,
                at_provider=at_provider,
            )
        )

    def _await(
        self,
        held: _Held,
        item: str,
        should_stop: StopCheck | None,
        on_wait: ProgressCallback | None,
    ) -> None:
        told = False
        last_dispatch = time.monotonic()
        while True:
            state = self.db.patiently(lambda s: places.granted(s, held.id))
            if state:
                return
            if state is None:  # reaped while the DB was unreachable: ask again
                held.id = self._request(item, at_provider=False)
            if should_stop and should_stop():
                raise Canceled(f"{item}: stopped while waiting for the provider; nothing bought")
            if not told and on_wait:
                ahead = self.db.patiently(lambda s: places.waiting_ahead(s, held.id))
                on_wait(
                    f"waiting for one of {self.size} places at {self.provider} "
                    f"({ahead} requests queued ahead)"
                )
                told = True
            if time.monotonic() - last_dispatch > DISPATCH_EVERY_S:
                self.db.patiently(lambda s: places.dispatch(s, self.provider, self.size))
                last_dispatch = time.monotonic()
            time.sleep(POLL_S)

    def _release(self, place_id: str) -> None:
        try:
            self.db.patiently(
                lambda s: places.release(s, place_id, self.provider, self.size), patience_s=10
            )
        except Exception as exc:  # the place expires by itself once the heartbeat has stopped
            log.warning(f"could not give back provider place {place_id}: {exc}")


def budget_for(
    db: AppDatabase, provider: ProviderResource, row: VideoProject | ImageGeneration, owner: str
) -> Budget:
    """The budget `row`'s requests share: its workspace, its project (a photo's image project),
    when it was queued, its priority."""
    project = getattr(row, "image_project_id", None) or row.id
    since = places.aware(row.queued_at or row.created_at)
    claimant = Claimant(row.workspace_id, project, since, row.priority or 0)
    return Budget(db, provider.name, provider.provider_concurrency, claimant, owner)


@dataclass
class _Held:
    id: str


def _heartbeat(db: AppDatabase, held: _Held) -> Callable[[], None]:
    """Renew the place every HEARTBEAT_S until the returned stop function is called."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                with db.session() as session:
                    places.renew(session, [held.id], PLACE_LEASE_S)
            except Exception as exc:  # an outage: the next beat tries again
                log.warning(f"provider place heartbeat failed: {exc}")

    thread = threading.Thread(target=beat, name="place-heartbeat", daemon=True)
    thread.start()

    def stop_beating() -> None:
        stop.set()
        thread.join(timeout=HEARTBEAT_S)

    return stop_beating
