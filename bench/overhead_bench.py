"""Benchmark: orchestration overhead of `video_job` against the ideal critical path.

A 6-clip project with one seamless transition runs on a fake provider with a fixed 2 s latency
per generation (3 clips at a time). The ideal is two waves of clips + one transition + the
compile itself; `overhead_ratio` = wall time ÷ that ideal (target ≤ 1.10).
Run from the repository root: `.venv/bin/python bench/overhead_bench.py`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources.database import AppDatabase, upgrade  # noqa: E402
from resources.provider.base import GenerationJob, Kind, MediaInput  # noqa: E402
from resources.storage import LocalStorage  # noqa: E402
from tests.support.fakes import FakeProvider, fake  # noqa: E402
from tests.support.projects import make_project, run  # noqa: E402
from tests.support.studio_fixtures import Studio  # noqa: E402

LATENCY_S = 2.0
ROOMS = ("exterior", "hallway", "living-room", "kitchen", "bedroom", "bathroom")


def warm_up(provider: FakeProvider, home: Path) -> None:
    """Make the fake's media once up front: its "generation" happens at the provider."""
    image = MediaInput(home / "unused.jpg")
    for audio in (True, False):
        job = GenerationJob(kind=Kind.IMAGE_TO_VIDEO, prompt="", image=image, generate_audio=audio)
        provider.render(job, home / f"warm-{audio}.mp4")


def run_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    """The run's own wall time, RUN_START → RUN_SUCCESS (job construction excluded)."""
    stamps = {}
    for kind in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS):
        stamps[kind] = instance.all_logs(run_id, of_type=kind)[0].timestamp
    return stamps[dg.DagsterEventType.RUN_SUCCESS] - stamps[dg.DagsterEventType.RUN_START]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        home = Path(tmp)
        url = f"sqlite:///{home / 'app.db'}"
        upgrade(url)
        studio = Studio(
            AppDatabase(url=url),
            LocalStorage(root=str(home / "storage")),
            fake(latency_s=LATENCY_S),
            instance,
            home,
        )
        project_id = make_project(studio, ROOMS, seamless=(0,), audio=True)
        warm_up(studio.provider, home)
        started = time.monotonic()
        result = run(studio, project_id)
        wall = time.monotonic() - started
        assert result.success, "the benchmark project failed"
        final = result.asset_materializations_for_node("final_video")[0].metadata
        compile_s = float(final["compile_s"].value)  # type: ignore[arg-type]
        ideal = 2 * LATENCY_S + LATENCY_S + compile_s
        run_s = run_seconds(instance, result.run_id)
        print(f"overhead_ideal_seconds={ideal:.2f}")
        print(f"overhead_run_seconds={run_s:.2f}")
        print(f"overhead_wall_seconds={wall:.2f}")
        print(f"overhead_ratio={run_s / ideal:.3f}")
        print(f"overhead_ratio_with_setup={wall / ideal:.3f}")


if __name__ == "__main__":
    main()
