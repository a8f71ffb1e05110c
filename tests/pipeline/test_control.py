"""Cancel and retry: a canceled project keeps its finished clips and a retry buys the rest."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import dagster as dg
import pytest
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._core.utils import make_new_run_id

from resources.errors import StudioError
from resources.models import VideoProject
from resources.repository import ledger, rows
from studio_assets.app import control
from studio_assets.assets.video import video_clips
from tests.support.fakes import FakeProvider, fake, journal
from tests.support.projects import clips, make_project, project, run
from tests.support.studio_fixtures import Studio


def test_cancel_stops_in_flight_requests_and_retry_reuses_finished_clips(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen", "bedroom"), seamless=())
    studio.provider = fake(fail_labels=["(bedroom)"])
    assert studio.materialize([video_clips], "video_projects", project_id).success
    bedroom = clips(studio, project_id)[2]
    with studio.db.session() as session:  # mid-run: the bedroom clip is in flight again
        token = ledger.claim(session, ledger.CLIP, bedroom.id, "run-2", 60)
        assert token and ledger.submitted(session, ledger.CLIP, bedroom.id, token, "fake-inflight")
    assert project(studio, project_id).status == "generating"
    provider = fake()

    canceled = control.cancel(studio.db, provider, studio.instance, project_id)

    assert canceled == ["fake-inflight"]
    assert project(studio, project_id).status == "canceled"
    with pytest.raises(StudioError, match="only a queued or running one"):
        control.cancel(studio.db, provider, studio.instance, project_id)

    assert control.retry(studio.db, project_id) == 2  # the second submission
    assert run(studio, project_id, provider).success
    assert journal(provider.journal_name).submits == ["clip 3 (bedroom)"]
    assert project(studio, project_id).completed_clip_count == 3


@contextmanager
def generating(
    studio: Studio, project_id: str, provider: FakeProvider
) -> Iterator[Future[dg.ExecuteInProcessResult]]:
    """The project's run, in a thread, once its first request is in flight at the provider."""
    log = journal(provider.journal_name)
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run, studio, project_id, provider)
        deadline = time.monotonic() + 60
        while not log.waits and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.waits, "the run never started a generation"
        yield running


def test_cancel_during_a_generation_stops_the_run_without_buying_more(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen", "bedroom"), seamless=(), music=False)
    provider = fake(latency_s=120.0, max_concurrency=1)  # the first clip takes two minutes
    log = journal(provider.journal_name)
    with generating(studio, project_id, provider) as running:
        in_flight = log.waits[0]

        control.cancel(studio.db, provider, studio.instance, project_id)

        result = running.result(timeout=30)  # stopped within seconds, not after two minutes
    assert not result.success
    assert log.submits == ["clip 1 (exterior)"]  # nothing retried, nothing more bought
    assert in_flight in log.cancels
    assert project(studio, project_id).status == "canceled"
    # Dagit says so too: the run ended CANCELED, not FAILURE
    assert studio.instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.CANCELED
    with studio.db.session() as session:
        first = ledger.read(session, ledger.CLIP, clips(studio, project_id)[0].id)
    assert first.status == "failed"  # its request is gone: a retry submits it anew


def test_a_row_canceled_by_the_app_ends_its_run_canceled(sqlite_studio: Studio) -> None:
    """The app cancels by writing the row (no CLI): the run stops buying and ends CANCELED."""
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=(), music=False)
    provider = fake(latency_s=120.0, max_concurrency=1)
    log = journal(provider.journal_name)
    with generating(studio, project_id, provider) as running:
        with studio.db.session() as session:
            rows.cancel(session, VideoProject, project_id)

        result = running.result(timeout=30)
    assert not result.success
    assert log.submits == ["clip 1 (exterior)"] and log.cancels == log.waits
    assert studio.instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.CANCELED
    assert project(studio, project_id).status == "canceled"


def test_a_run_terminated_from_dagit_stops_buying_too(sqlite_studio: Studio) -> None:
    """No `studio cancel`: the run alone is terminated; its generations stop all the same."""
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=(), music=False)
    provider = fake(latency_s=120.0, max_concurrency=1)
    log = journal(provider.journal_name)
    with generating(studio, project_id, provider) as running:
        (live,) = studio.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))

        studio.instance.report_run_canceling(live)  # what Dagit's "Terminate" records

        result = running.result(timeout=30)
    assert not result.success
    assert log.submits == ["clip 1 (exterior)"] and log.cancels == log.waits
    assert studio.instance.get_run_by_id(live.run_id).status == dg.DagsterRunStatus.CANCELED


def test_retry_refuses_a_running_or_completed_project(sqlite_studio: Studio) -> None:
    project_id = make_project(sqlite_studio, ("kitchen",), seamless=(), music=False)
    with pytest.raises(StudioError, match="only failed or canceled"):
        control.retry(sqlite_studio.db, project_id)  # it is queued
    assert run(sqlite_studio, project_id, fake()).success
    with pytest.raises(StudioError, match="is completed"):
        control.retry(sqlite_studio.db, project_id)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cancel_when_the_code_server_is_gone_still_cancels_the_row_and_the_requests(
    sqlite_studio: Studio,
) -> None:
    """The run worker and its code server died together: Dagster cannot reach the run to
    terminate it, yet the row ends `canceled` and the paid request is canceled via the ledger."""
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=(), music=False)
    dead = dg.DagsterRun(
        job_name="video_job",
        run_id=make_new_run_id(),
        status=dg.DagsterRunStatus.STARTED,
        tags={
            "dagster/partition": project_id,
            "studio/submission": "1",
            GRPC_INFO_TAG: json.dumps({"host": "127.0.0.1", "port": closed_port()}),
        },
    )
    studio.instance.add_run(dead)
    first = clips(studio, project_id)[0]
    with studio.db.session() as session:
        assert rows.start(session, VideoProject, project_id, dead.run_id, "generating")
        token = ledger.claim(session, ledger.CLIP, first.id, dead.run_id, 60)
        assert token and ledger.submitted(session, ledger.CLIP, first.id, token, "fake-orphan")
    provider = fake()

    canceled = control.cancel(studio.db, provider, studio.instance, project_id)

    assert canceled == ["fake-orphan"]
    assert journal(provider.journal_name).cancels == ["fake-orphan"]
    assert project(studio, project_id).status == "canceled"
    with studio.db.session() as session:
        assert ledger.read(session, ledger.CLIP, first.id).status == "failed"
    run_status = studio.instance.get_run_by_id(dead.run_id).status
    assert run_status in (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)
