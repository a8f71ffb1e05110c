"""GraphQL launches against a real `dagster-webserver` (the `webserver` fixture, always stopped)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.errors import StudioError
from studio_assets.app import launching
from studio_assets.app.demo import demo_spec
from studio_assets.app.samples import room_photo
from studio_assets.cli.wiring import Wiring
from tests.support.dagster_processes import free_port

# `studio_home` and `webserver` come from tests/support/dagster_processes.py (a conftest plugin).
RUN_QUERY = """query Run($id: ID!) { runOrError(runId: $id) {
  __typename ... on Run { status jobName tags { key value } } } }"""


def test_launch_adds_the_partition_and_queues_a_tagged_run(
    webserver: str, studio_home: Path
) -> None:
    wiring = Wiring()
    wiring.db.upgrade()
    project_id = wiring.submit_project(demo_spec(studio_home / "inputs"), draft=True)

    [run_id] = wiring.launch(project_id, webserver)

    run = launching.graphql(webserver, RUN_QUERY, {"id": run_id})["runOrError"]
    assert run["__typename"] == "Run" and run["jobName"] == "video_job"
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == project_id and tags["studio/queue"] == "video"
    assert run["status"] in ("QUEUED", "STARTING", "STARTED")  # no daemon: it waits queued
    assert wiring.status(project_id)["run_id"] == run_id
    assert wiring.instance.has_dynamic_partition("video_projects", project_id)


def test_graphql_errors_are_specific(webserver: str) -> None:
    with pytest.raises(launching.LaunchError, match="no_such_job"):
        launching.launch(webserver, "no_such_job", "video_projects", "vp_x")
    with pytest.raises(launching.LaunchError, match="unreachable"):
        launching.launch(f"http://127.0.0.1:{free_port()}", "video_job", "video_projects", "x")


def test_only_launchable_rows_are_launched(studio_home: Path) -> None:
    wiring = Wiring()
    wiring.db.upgrade()
    with pytest.raises(StudioError, match="no video project, image or image project"):
        wiring.launch("vp_missing", "http://127.0.0.1:9")


def test_one_run_per_submission_whoever_launches_it(webserver: str, studio_home: Path) -> None:
    """A second launch of the same submission (the app retrying its call, or the sensor's run
    already there) returns that run instead of starting another."""
    wiring = Wiring()
    wiring.db.upgrade()
    project_id = wiring.submit_project(demo_spec(studio_home / "inputs"), draft=True)

    [first] = wiring.launch(project_id, webserver)
    [again] = wiring.launch(project_id, webserver)

    assert again == first
    runs = wiring.instance.get_runs(dg.RunsFilter(tags={"dagster/partition": project_id}))
    assert [r.run_id for r in runs] == [first]
    submission = runs[0].tags["studio/submission"]

    wiring.instance.report_run_canceled(wiring.instance.get_run_by_id(first))
    with pytest.raises(launching.LaunchError, match="already ran"):
        launching.launch(
            webserver, "video_job", "video_projects", project_id, {"studio/submission": submission}
        )


def test_an_image_project_launches_one_image_run_per_photo(
    webserver: str, studio_home: Path
) -> None:
    wiring = Wiring()
    wiring.db.upgrade()
    folder = studio_home / "photos"
    folder.mkdir()
    photos = [
        {"image": str(room_photo(folder / f"{room}.jpg", room, (320, 180))), "room_type": room}
        for room in ("kitchen", "bedroom")
    ]
    project_id = wiring.submit_image_project({"name": "Two rooms", "photos": photos}, draft=True)

    run_ids = wiring.launch(project_id, webserver)

    status = wiring.status(project_id)
    assert len(run_ids) == 2
    for run_id, photo in zip(run_ids, status["photos"], strict=True):
        run = launching.graphql(webserver, RUN_QUERY, {"id": run_id})["runOrError"]
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert run["jobName"] == "image_job" and tags["dagster/partition"] == photo["id"]
        assert tags["studio/queue"] == "image"
        assert wiring.instance.has_dynamic_partition("images", photo["id"])
    assert wiring.launch(project_id, webserver) == run_ids  # the app retrying: the same runs
    runs = wiring.instance.get_runs(dg.RunsFilter(job_name="image_job"))
    assert sorted(r.run_id for r in runs) == sorted(run_ids)
