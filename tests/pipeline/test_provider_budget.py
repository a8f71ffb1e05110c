"""The provider budget: never more requests in flight than STUDIO_PROVIDER_CONCURRENCY across
runs, and the places shared round-robin across workspaces (a paid tier first)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from resources.database import AppDatabase
from resources.errors import Canceled
from resources.models import ProviderPlace
from resources.repository import places
from resources.repository.places import Claimant
from studio_assets.assets.video import transition_clips, video_clips
from studio_assets.runtime import provider_budget
from studio_assets.runtime.provider_budget import Budget
from tests.support.fakes import FakeProvider, fake, journal
from tests.support.projects import ROOMS, clips, make_project
from tests.support.studio_fixtures import Studio

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Meter:
    """Counts holders inside the budget at once, and the order they got in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = self.peak = 0
        self.order: list[str] = []

    def hold(self, budget: Budget, item: str, seconds: float) -> None:
        with budget.place(item):
            with self.lock:
                self.current += 1
                self.peak = max(self.peak, self.current)
                self.order.append(item)
            time.sleep(seconds)
            with self.lock:
                self.current -= 1


def budget(
    db: AppDatabase, size: int, workspace: str, minute: int = 0, priority: int = 0
) -> Budget:
    """One project's budget: `minute` says when the project was queued."""
    since = T0 + timedelta(minutes=minute)
    claimant = Claimant(workspace, f"vp_{workspace}_{minute}", since, priority)
    return Budget(db, "fake", size, claimant, owner=f"run-{workspace}-{minute}")


class Requests:
    """Counts each workspace's place requests as they are recorded (`Budget._request`
    returned: the request is in the DB), so a test starts work behind them on the fact, not
    after a sleep."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: dict[str, int] = {}
        self.changed = threading.Condition()
        original = Budget._request

        def counted(budget: Budget, item: str, at_provider: bool) -> str:
            place_id = original(budget, item, at_provider)
            with self.changed:
                workspace = budget.claimant.workspace_id
                self.made[workspace] = self.made.get(workspace, 0) + 1
                self.changed.notify_all()
            return place_id

        monkeypatch.setattr(Budget, "_request", counted)

    def after(self, workspace: str, count: int, work: Callable[[], None]) -> Callable[[], None]:
        """`work`, once `workspace` has made `count` requests."""

        def when_made() -> None:
            with self.changed:
                made = self.changed.wait_for(lambda: self.made.get(workspace, 0) >= count, 30)
            assert made, f"{workspace} made {self.made.get(workspace, 0)} requests, not {count}"
            work()

        return when_made


def test_a_small_workspace_is_not_queued_behind_a_big_ones_backlog(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter, size, requests = Meter(), 3, Requests(monkeypatch)
    big = [budget(app_db, size, "big", minute=i // 4) for i in range(12)]  # 3 projects of 4
    small = [budget(app_db, size, f"small{n}", minute=10) for n in (1, 2) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        work = [pool.submit(meter.hold, b, f"big-{i}", 0.4) for i, b in enumerate(big)]
        work += [
            pool.submit(
                requests.after("big", 12, lambda b=b, i=i: meter.hold(b, f"small-{i}", 0.4))
            )
            for i, b in enumerate(small)
        ]
        for future in work:
            future.result()

    assert meter.peak == size
    assert len(meter.order) == 16
    # The small ones arrived while the big workspace held every place with nine waiting: each
    # freed place went to a small workspace until both had their turn.
    last_small = max(meter.order.index(f"small-{i}") for i in range(4))
    assert last_small <= 8, meter.order
    with app_db.session() as session:
        assert places.in_flight(session, "fake") == 0  # every place given back


def test_a_paid_tier_request_jumps_the_queue(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter, requests = Meter(), Requests(monkeypatch)
    normal = [budget(app_db, 1, "agency", minute=0) for _ in range(4)]
    high = budget(app_db, 1, "premium", minute=30, priority=1)
    with ThreadPoolExecutor(max_workers=5) as pool:
        work = [pool.submit(meter.hold, b, f"normal-{i}", 0.3) for i, b in enumerate(normal)]
        work.append(pool.submit(requests.after("agency", 4, lambda: meter.hold(high, "high", 0.3))))
        for future in work:
            future.result()
    assert meter.order[:2][1] == "high", meter.order  # right after the one that held the place


def test_a_dead_holders_place_is_given_to_the_next_waiter(
    app_db: AppDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app_db.session() as session:  # a run that took the only place, then died
        places.request(
            session,
            provider="fake",
            budget=1,
            claimant=Claimant("ws_a", "vp_dead", T0),
            owner="run-dead",
            item="clip 1",
            lease_s=1.0,
        )
        assert places.in_flight(session, "fake") == 1
    monkeypatch.setattr(provider_budget, "DISPATCH_EVERY_S", 0.2)
    meter = Meter()
    meter.hold(budget(app_db, 1, "ws_b"), "after", 0.0)  # waits out the lease, then goes
    assert meter.order == ["after"]


def test_a_stopped_waiter_buys_nothing_and_leaves_no_place(app_db: AppDatabase) -> None:
    holder, waiter = budget(app_db, 1, "ws_a"), budget(app_db, 1, "ws_b")
    with holder.place("clip 1"):
        with (
            pytest.raises(Canceled, match="nothing bought"),
            waiter.place("clip 2", should_stop=lambda: True),
        ):
            raise AssertionError("granted past the budget")
        with app_db.session() as session:
            assert places.in_flight(session, "fake") == 1
            assert places.waiting_ahead(session, "none") == 0
    with app_db.session() as session:
        assert session.query(ProviderPlace).count() == 0


def test_a_transition_starts_as_soon_as_both_its_clips_exist(sqlite_studio: Studio) -> None:
    provider = fake(latency_s=0.2, max_concurrency=1)
    project_id = make_project(sqlite_studio, rooms=ROOMS, seamless=(0, 1, 2), music=False)
    assert _generate(sqlite_studio, provider, project_id).success
    assert [label.split(" (")[0] for label in journal(provider.journal_name).submits] == [
        "clip 1",
        "clip 2",
        "transition 1→2",
        "clip 3",
        "transition 2→3",
        "clip 4",
        "transition 3→4",
    ]
    assert all(c.transition_status == "completed" for c in clips(sqlite_studio, project_id)[:3])


def _generate(studio: Studio, provider: FakeProvider, project_id: str) -> dg.ExecuteInProcessResult:
    """The project's clips and transitions (the compile is not what the budget is about), on
    a Dagster instance of its own so the runs are truly side by side."""
    with dg.instance_for_test() as instance:
        own = dataclasses.replace(studio, provider=provider, instance=instance)
        return own.materialize([video_clips, transition_clips], "video_projects", project_id)
