"""Submission sensors on a real instance: partitions added and runs requested in one tick."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import dagster as dg
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._core.utils import make_new_run_id

from resources.models import ImageGeneration, VideoProject
from resources.repository import rows
from sensors.run_health import CONFIRM_S, GRACE_S, QUIET_S, dead_run_sensor, sweep
from sensors.run_status import _belongs_to, run_failed_sensor
from sensors.submissions import PAGE, image_submission_sensor, video_submission_sensor
from studio_assets.assets.final_video import final_video
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.assets.video import transition_clips, video_clips
from studio_assets.jobs import TIER, image_job, inpaint_job, max_runtime_seconds, video_job
from studio_assets.runtime.run_owner import OWNER_TAG, owner_tag
from tests.support.fakes import fake
from tests.support.projects import make_project, project
from tests.support.studio_fixtures import Studio


def add_image(
    studio: Studio,
    image_id: str,
    kind: str = "enhance",
    queue: bool = True,
    workspace: str = "ws",
    priority: int = 0,
) -> None:
    with studio.db.session() as session:
        rows.add(
            session,
            ImageGeneration(
                id=image_id,
                workspace_id=workspace,
                kind=kind,
                original_image_url="file:///nowhere.jpg",
                priority=priority,
            ),
        )
        if queue:
            rows.queue(session, ImageGeneration, image_id)


def tick(studio: Studio, cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    defs = dg.Definitions(
        assets=[enhanced_image, inpainted_image],
        jobs=[image_job, inpaint_job],
        sensors=[image_submission_sensor],
        resources=studio.resources(),
    )
    context = dg.build_sensor_context(
        instance=studio.instance,
        instance_ref=studio.instance.get_ref(),
        definitions=defs,
        cursor=cursor,
        resources=studio.resources(),
    )
    return image_submission_sensor(context)


def test_queued_rows_become_partitions_and_one_run_each(studio: Studio) -> None:
    add_image(studio, "img_a")
    add_image(studio, "img_b", kind="inpaint")
    add_image(studio, "img_draft", queue=False)

    result = tick(studio)

    assert isinstance(result, dg.SensorResult)
    requests = {r.partition_key: r for r in result.run_requests or []}
    assert set(requests) == {"img_a", "img_b"}
    assert requests["img_a"].job_name == "image_job" and requests["img_a"].run_key == "img_a:1"
    assert requests["img_b"].job_name == "inpaint_job"
    added = {
        (r.partitions_def_name, tuple(r.partition_keys))
        for r in result.dynamic_partitions_requests or []
    }
    assert added == {("images", ("img_a",)), ("image_edits", ("img_b",))}


def test_the_run_queue_takes_each_workspace_s_first_before_anyone_s_second(
    studio: Studio,
) -> None:
    """Dagster dequeues by `dagster/priority`: minus the workspace's backlog ahead of the row,
    so a one-photo workspace is not behind another's three; a paid tier goes before both."""
    for n in range(3):
        add_image(studio, f"img_big_{n}", workspace="ws_big")
    add_image(studio, "img_small", workspace="ws_small")
    add_image(studio, "img_paid", workspace="ws_big", priority=1)

    result = tick(studio)

    order = {r.partition_key: int(r.tags.get("dagster/priority", 0)) for r in result.run_requests}
    assert order == {
        "img_big_0": 0,
        "img_big_1": -1,
        "img_big_2": -2,
        "img_small": 0,
        "img_paid": TIER - 3,
    }


def test_a_resubmission_gets_a_new_run_key(studio: Studio) -> None:
    add_image(studio, "img_a")
    with studio.db.session() as session:
        rows.fail(session, ImageGeneration, "img_a", "boom")
        rows.queue(session, ImageGeneration, "img_a")
    result = tick(studio)
    assert [r.run_key for r in result.run_requests] == ["img_a:2"]


def test_nothing_queued_is_a_skip_with_a_reason(studio: Studio) -> None:
    add_image(studio, "img_draft", queue=False)
    result = tick(studio)
    assert isinstance(result, dg.SkipReason) and "no queued" in result.skip_message


def test_the_cursor_pages_through_a_long_queue_and_starts_over(studio: Studio) -> None:
    for i in range(PAGE + 5):
        add_image(studio, f"img_{i:03d}")
    first = tick(studio)
    assert len(first.run_requests) == PAGE
    second = tick(studio, first.cursor)
    assert len(second.run_requests) == 5
    assert json.loads(second.cursor) == {"after": None}  # the sweep starts over next tick


def test_a_project_whose_run_died_is_failed_by_the_run_failure_sensor(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("kitchen",), seamless=(), music=False)
    studio.provider = fake(fail_labels=["clip"])
    defs = dg.Definitions(
        assets=[video_clips, transition_clips, final_video],
        jobs=[video_job],
        resources=studio.resources(),
    )
    studio.instance.add_dynamic_partitions("video_projects", [project_id])
    result = defs.resolve_job_def("video_job").execute_in_process(
        instance=studio.instance, partition_key=project_id, raise_on_error=False
    )
    assert not result.success
    with studio.db.session() as session:  # as if the worker was killed before finalising
        rows.set_status(session, VideoProject, project_id, "generating", error_message=None)

    run = studio.instance.get_run_by_id(result.run_id)
    failure = studio.instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failed_sensor",
        dagster_instance=studio.instance,
        dagster_run=run,
        dagster_event=failure[0].dagster_event,
        resources=studio.resources(),
    ).for_run_failure()
    run_failed_sensor(context)

    failed = project(studio, project_id)
    assert failed.status == "failed"
    assert "All clip generations failed" in failed.error_message


def test_the_sensor_leaves_a_row_that_a_newer_run_owns(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("kitchen",), seamless=(), music=False)
    with studio.db.session() as session:
        rows.start(session, VideoProject, project_id, "newer-run", "generating")
    old = dg.DagsterRun(
        job_name="video_job", run_id="old-run", tags={"dagster/partition": project_id}
    )
    assert _belongs_to(project(studio, project_id), old) is False


def test_a_retry_is_not_claimed_by_the_run_it_replaces(sqlite_studio: Studio) -> None:
    """`studio retry` before the canceled run's sensor tick: the new submission is not its."""
    studio = sqlite_studio
    project_id = make_project(studio, ("kitchen",), seamless=(), music=False)
    first = dg.DagsterRun(
        job_name="video_job",
        run_id="first-run",
        tags={"dagster/partition": project_id, "studio/submission": "1"},
    )
    with studio.db.session() as session:
        rows.start(session, VideoProject, project_id, first.run_id, "generating")
        assert _belongs_to(rows.get(session, VideoProject, project_id), first)
        rows.cancel(session, VideoProject, project_id)
        rows.queue(session, VideoProject, project_id)  # studio retry: submission 2

    retried = project(studio, project_id)
    assert (retried.status, retried.submission, retried.run_id) == ("queued", 2, None)
    assert _belongs_to(retried, first) is False


def test_a_canceled_row_is_not_taken_back_by_a_run(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("kitchen",), seamless=(), music=False)
    with studio.db.session() as session:
        assert rows.start(session, VideoProject, project_id, "run-1", "generating")
        rows.cancel(session, VideoProject, project_id)
        # the same run's step, retried by Dagster after termination, or a run on its way
        assert not rows.start(session, VideoProject, project_id, "run-1", "generating")
        assert not rows.start(session, VideoProject, project_id, "run-2", "compiling", redo=True)
    assert project(studio, project_id).status == "canceled"


def test_queued_projects_launch_video_job(sqlite_studio: Studio) -> None:
    project_id = make_project(sqlite_studio, ("kitchen",), seamless=(), music=False)
    defs = dg.Definitions(
        assets=[video_clips, transition_clips, final_video],
        jobs=[video_job],
        sensors=[video_submission_sensor],
        resources=sqlite_studio.resources(),
    )
    context = dg.build_sensor_context(
        instance=sqlite_studio.instance,
        instance_ref=sqlite_studio.instance.get_ref(),
        definitions=defs,
        resources=sqlite_studio.resources(),
    )
    result = video_submission_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests
    assert (request.job_name, request.partition_key, request.run_key) == (
        "video_job",
        project_id,
        f"{project_id}:1",
    )
    assert request.tags["studio/submission"] == "1"
    assert request.tags["dagster/max_runtime"] == str(max_runtime_seconds(1))
    assert request.tags["studio/workspace"] == "ws_default"  # whose run it is (fair share)
    (added,) = result.dynamic_partitions_requests
    assert (added.partitions_def_name, list(added.partition_keys)) == (
        "video_projects",
        [project_id],
    )


def test_the_time_budget_grows_with_the_project() -> None:
    assert max_runtime_seconds(1) < max_runtime_seconds(4) < max_runtime_seconds(20)
    assert max_runtime_seconds(1) < 1800 < max_runtime_seconds(20)  # not 30 min for every size


def test_a_submission_launched_over_graphql_is_not_launched_again(studio: Studio) -> None:
    """The app launched img_a's submission itself (GraphQL: no run_key): one run, not two."""
    add_image(studio, "img_a")
    add_image(studio, "img_b")
    studio.instance.add_run(
        dg.DagsterRun(
            job_name="image_job",
            run_id=make_new_run_id(),
            status=dg.DagsterRunStatus.NOT_STARTED,
            tags={"dagster/partition": "img_a", "studio/submission": "1"},
        )
    )
    result = tick(studio)
    assert [r.partition_key for r in result.run_requests or []] == ["img_b"]

    studio.instance.add_run(
        dg.DagsterRun(
            job_name="image_job",
            run_id=make_new_run_id(),
            status=dg.DagsterRunStatus.NOT_STARTED,
            tags={"dagster/partition": "img_b", "studio/submission": "1"},
        )
    )
    result = tick(studio)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert "already have their runs" in (result.skip_reason.skip_message or "")
    with studio.db.session() as session:  # a new submission of img_a is launched again
        rows.fail(session, ImageGeneration, "img_a", "boom")
        rows.queue(session, ImageGeneration, "img_a")
    assert [r.run_key for r in tick(studio).run_requests] == ["img_a:2"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def started_run(
    instance: dg.DagsterInstance, grpc_info: bool = True, **extra: str
) -> dg.DagsterRun:
    tags = {"dagster/partition": "vp_dead", "studio/queue": "video", "studio/submission": "1"}
    tags |= extra
    if grpc_info:  # launched by the default run launcher through a code server now gone
        tags[GRPC_INFO_TAG] = json.dumps({"host": "127.0.0.1", "port": closed_port()})
    run = dg.DagsterRun(
        job_name="video_job",
        run_id=make_new_run_id(),
        status=dg.DagsterRunStatus.STARTED,
        tags=tags,
    )
    return instance.add_run(run)


def test_a_started_run_whose_worker_and_code_server_died_is_failed_and_retried() -> None:
    retries = {"run_retries": {"enabled": True, "max_retries": 1}}
    with dg.instance_for_test(overrides=retries) as instance:
        dead = started_run(instance)
        in_process = started_run(instance, grpc_info=False)  # `studio run`: no code server
        now = time.time()

        suspects, failed = sweep(instance, {}, now + 10)  # too young to judge
        assert (suspects, failed) == ({}, [])
        suspects, failed = sweep(instance, {}, now + GRACE_S + 1)  # gone once: watched
        assert failed == [] and list(suspects) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED
        suspects, failed = sweep(instance, suspects, now + GRACE_S + CONFIRM_S + QUIET_S + 2)

        assert failed == [dead.run_id] and suspects == {}
        ended = instance.get_run_by_id(dead.run_id)
        assert ended.status == dg.DagsterRunStatus.FAILURE  # the video queue slot is free
        assert ended.tags.get("dagster/will_retry") == "true"  # run_retries launches it again
        assert instance.get_run_by_id(in_process.run_id).status == dg.DagsterRunStatus.STARTED


def _owner_of_an_ended_process() -> str:
    """The owner tag a `studio run` process had, taken from a process that has now exited."""
    code = (
        "from studio_assets.runtime.run_owner import OWNER_TAG, owner_tag; "
        "print(owner_tag()[OWNER_TAG])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_studio_run_whose_process_is_gone_is_failed_at_once() -> None:
    with dg.instance_for_test() as instance:
        orphan = started_run(instance, grpc_info=False, **{OWNER_TAG: _owner_of_an_ended_process()})
        alive = started_run(instance, grpc_info=False, **owner_tag())  # this test's own process
        elsewhere = started_run(instance, grpc_info=False, **{OWNER_TAG: "other-host:1:1"})

        suspects, failed = sweep(instance, {}, time.time())

        assert failed == [orphan.run_id] and suspects == {}
        ended = instance.get_run_by_id(orphan.run_id)
        assert ended.status == dg.DagsterRunStatus.FAILURE
        for run in (alive, elsewhere):  # alive, or not ours to judge
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED


def test_the_dead_run_sensor_keeps_its_suspects_in_the_cursor() -> None:
    with dg.instance_for_test() as instance:
        dead = started_run(instance)
        context = dg.build_sensor_context(instance=instance)
        result = dead_run_sensor(context)
        assert isinstance(result, dg.SkipReason)
        # Too young yet: nobody is suspected, and the cursor is valid JSON either way.
        assert json.loads(context.cursor or "{}") == {"suspects": {}}
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED
