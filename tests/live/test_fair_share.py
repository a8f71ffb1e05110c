"""A small version of the throughput benchmark's load, through the real daemon: one workspace
submits eight projects before two others submit one each, with room in the provider budget for
two requests. Not timed: the stand-in's own log and the rows' order of completion are checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.throughput import Load, run_load

SMALL_LOAD = Load(
    projects={"ws_agency": 8, "ws_solo_a": 1, "ws_solo_b": 1},
    clips=2,
    seamless=1,
    latency_s=5.0,
    budget=2,
)


@pytest.mark.slow
def test_the_budget_holds_and_a_one_listing_workspace_is_not_queued_behind_a_backlog(
    tmp_path: Path, pg_url: str
) -> None:
    outcome = run_load(SMALL_LOAD, tmp_path, timeout_s=600)

    assert [p.status for p in outcome.projects] == ["completed"] * 10, tmp_path / "daemon.log"
    assert len(outcome.spans) == SMALL_LOAD.requests  # 2 clips + 1 transition each, once
    assert outcome.max_in_flight == SMALL_LOAD.budget  # used in full, never exceeded
    # Each one-listing workspace is done before half of the agency's backlog is.
    assert outcome.small_p95_s() < outcome.big_median_s(), outcome.projects
