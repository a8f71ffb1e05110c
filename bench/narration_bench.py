"""Benchmark: what narration adds to a 4-room compile, and how fast the offline voice speaks.

Run from the repository root: `.venv/bin/python bench/narration_bench.py` (in `make bench`).
Two projects of the same four 1600×900 rooms (listing, branding, music, the default branded
16:9 video and its unbranded cut) have their clips made once on the offline engine; then
`final_video` — probe, speak, mix, join, cards, captions, checks, store — is timed for each,
alternately, ROUNDS times, in one run:

- `narration_plain_seconds` / `narration_narrated_seconds`: the median `final_video` of each;
- `narration_overhead_ratio`: narrated / plain (target ≤ 1.25);
- `voice_realtime_factor`: seconds of speech per second of synthesis, for the narrated
  project's six lines spoken in one batch, the voice's start-up included (target ≥ 5).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources.database import AppDatabase, upgrade  # noqa: E402
from resources.engine.voice import speak  # noqa: E402
from resources.provider.local import LocalProvider  # noqa: E402
from resources.storage import LocalStorage  # noqa: E402
from resources.webhooks import WebhookResource  # noqa: E402
from studio_assets.app import submission  # noqa: E402
from studio_assets.app.samples import music_bed, room_photo  # noqa: E402
from studio_assets.assets.final_video import final_video  # noqa: E402
from studio_assets.assets.video import transition_clips, video_clips  # noqa: E402
from studio_assets.domain.project_spec import ProjectSpec  # noqa: E402
from studio_assets.domain.validation import parse_spec  # noqa: E402

ROUNDS = 3
ROOMS = ("exterior", "living-room", "kitchen", "bedroom")
LISTING = {"address": "12 Elm Street", "price": 1250000, "beds": 4, "baths": 2.5, "area": 2400}
BRANDING = {"agent_name": "Jane Morrison", "agent_phone": "555-0142", "brokerage": "Acme Realty"}
ASSETS = [video_clips, transition_clips, final_video]


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="studio-narration-bench-") as tmp,
        dg.instance_for_test() as instance,
    ):
        work = Path(tmp)
        url = f"sqlite:///{work / 'app.db'}"
        upgrade(url)
        resources = {
            "app_db": AppDatabase(url=url),
            "storage": LocalStorage(root=str(work / "storage")),
            "provider": LocalProvider(),
            "webhooks": WebhookResource(),
        }
        spec = _spec(work)
        plain = _submit(resources, spec)
        narrated = _submit(resources, _narrated(spec))
        for project_id in (plain, narrated):
            _materialize(instance, resources, project_id, ASSETS)
        times: dict[str, list[float]] = {plain: [], narrated: []}
        for _ in range(ROUNDS):
            for project_id in (plain, narrated):
                started = time.perf_counter()
                _materialize(instance, resources, project_id, [final_video])
                times[project_id].append(time.perf_counter() - started)
        plain_s, narrated_s = (statistics.median(times[p]) for p in (plain, narrated))
        print(f"narration_plain_seconds={plain_s:.2f}")
        print(f"narration_narrated_seconds={narrated_s:.2f}")
        print(f"narration_overhead_ratio={narrated_s / plain_s:.3f}")
        lines = [line.text for line in parse_spec(ProjectSpec, _narrated(spec)).script()]
        started = time.perf_counter()
        spoken = speak(lines, "joe", 1.0, work / "voice")
        took = time.perf_counter() - started
        print(f"voice_lines={len(spoken)}")
        print(f"voice_speech_seconds={sum(s.seconds for s in spoken):.2f}")
        print(f"voice_synthesis_seconds={took:.2f}")
        print(f"voice_realtime_factor={sum(s.seconds for s in spoken) / took:.2f}")


def _spec(work: Path) -> dict[str, Any]:
    clips = [
        {"image": str(room_photo(work / f"{r}.jpg", r, (1600, 900), dull=False)), "room_type": r}
        for r in ROOMS
    ]
    music = {"audio_url": str(music_bed(work / "music.mp3", 12.0)), "volume": 40}
    return {"name": "Elm house", "clips": clips, "music": music, "listing": LISTING,
            "branding": BRANDING}  # fmt: skip


def _narrated(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "narration": {"script": "auto"}}


def _submit(resources: dict[str, Any], spec: dict[str, Any]) -> str:
    return submission.submit_project(
        resources["app_db"], resources["storage"], parse_spec(ProjectSpec, spec)
    )


def _materialize(
    instance: dg.DagsterInstance, resources: dict[str, Any], project_id: str, selection: list
) -> None:
    instance.add_dynamic_partitions("video_projects", [project_id])
    done = dg.materialize(
        ASSETS, selection=selection, partition_key=project_id, instance=instance,
        resources=resources, raise_on_error=False,
    )  # fmt: skip
    if not done.success:
        raise SystemExit(f"{project_id}: the run failed")


if __name__ == "__main__":
    main()
