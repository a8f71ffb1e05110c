"""Benchmark: many listings at once through the real daemon, within one provider budget.

24 video projects from 4 workspaces (`ws_agency` owns 15 and submits them first; three others
own 3 each), 4 clips + 1 seamless transition each (120 paid requests), on fal's queue protocol
(the stand-in) with a fixed latency per request, `STUDIO_PROVIDER_CONCURRENCY=8`, Postgres and
S3 — see tests/support/throughput.py. It prints:

- `makespan_ratio`: wall time from the first submit to the last project completed ÷ the ideal
  (total provider-seconds ÷ budget). Target ≤ 1.25.
- `max_in_flight`: the most requests running at the stand-in at once, from its own log.
  Target ≤ budget (8).
- `small_p95_s` / `big_median_s`: p95 submit→completed of the small workspaces' projects
  against the median of the big one's. Target: small p95 < big median.

Run from the repository root: `.venv/bin/python bench/throughput_bench.py [latency_s]`
(default 30 s a request — Kling takes 120–300 s — so a run worker's start-up and the final
compile weigh no more than they would next to real clips).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.throughput import Load, run_load  # noqa: E402

LATENCY_S = 30.0


def main() -> int:
    latency_s = float(sys.argv[1]) if len(sys.argv) > 1 else LATENCY_S
    load = Load(
        projects={"ws_agency": 15, "ws_north": 3, "ws_south": 3, "ws_east": 3},
        clips=4,
        seamless=1,
        latency_s=latency_s,
        budget=8,
    )
    with tempfile.TemporaryDirectory() as tmp:
        outcome = run_load(load, Path(tmp), timeout_s=3600)
    failed = [p for p in outcome.projects if p.status != "completed"]
    print(f"projects={len(outcome.projects)} requests={len(outcome.spans)} failed={len(failed)}")
    print(f"latency_s={latency_s:.1f} budget={load.budget}")
    print(f"ideal_s={load.ideal_s:.1f} makespan_s={outcome.makespan_s:.1f}")
    print(f"makespan_ratio={outcome.makespan_ratio:.3f}")
    print(f"max_in_flight={outcome.max_in_flight}")
    print(f"budget_busy_ratio={outcome.busy_ratio:.3f}")
    print(f"mean_request_s={outcome.mean_request_s:.2f}")
    print(f"small_p95_s={outcome.small_p95_s():.1f}")
    print(f"big_median_s={outcome.big_median_s():.1f}")
    print("targets: makespan_ratio<=1.25 max_in_flight<=8 small_p95_s<big_median_s")
    return 1 if failed or len(outcome.spans) != load.requests else 0


if __name__ == "__main__":
    sys.exit(main())
