"""Production shape end to end: Fal (stand-in) + S3 (local server) + Postgres for both stores.

A 3-clip project with one seamless transition runs twice: the stand-in sees exactly the
3 clips and the 1 transition, and nothing at all on the re-run. Inputs reach fal as presigned
S3 URLs — no photo is downloaded and re-uploaded.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.database import AppDatabase
from resources.provider.fal import FalProvider
from resources.storage import S3Storage
from studio_assets import status
from studio_assets.pricing import KLING_I2V
from tests.fal_standin import FAL_KEY, FalStandin
from tests.projects import make_project, project, run
from tests.studio_fixtures import Studio


def test_a_project_on_fal_s3_and_postgres_is_bought_once(
    standin: FalStandin,
    pg_app_url: str,
    pg_dagster_instance: dg.DagsterInstance,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
    caplog,
) -> None:
    provider = FalProvider(fal_key=FAL_KEY, poll_interval_s=1.0, fetch_allow_hosts="127.0.0.1")
    storage = S3Storage(bucket=s3_bucket, prefix="prod", endpoint_url=s3_server)
    studio = Studio(AppDatabase(url=pg_app_url), storage, provider, pg_dagster_instance, tmp_path)
    project_id = make_project(studio, ("exterior", "living-room", "kitchen"), seamless=(0,))

    assert run(studio, project_id).success

    jobs = list(standin.jobs)
    assert [j.model for j in jobs] == [KLING_I2V] * 4  # 3 clips + 1 transition
    for job in jobs:
        assert job.input["generate_audio"] in (True, False) and job.input["duration"] == "5"
        for url in job.input_urls:  # presigned S3 URLs, not uploads or data URIs
            assert url.startswith(s3_server) and "X-Amz-Signature" in url
    assert not standin.uploads
    done = project(studio, project_id)
    assert done.status == "completed" and done.actual_cost == done.estimated_cost == 3 * 70 + 35
    assert done.final_video_url.startswith(f"s3://{s3_bucket}/prod/")
    assert status.video_status(studio.db, storage, project_id)["output"]["video_url"].startswith(
        "http"
    )

    assert run(studio, project_id).success  # an operator re-materializes it
    assert len(standin.jobs) == 4  # nothing bought again
    assert FAL_KEY not in caplog.text
