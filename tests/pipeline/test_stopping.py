"""Stopping without an operator (SIGTERM from Kubernetes, a step failing around the fan-out):
the waits end, the paid requests go on, and the resumed run picks them up — bought once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from resources.errors import Abandoned
from resources.provider.base import GenerationJob, Kind, MediaInput
from resources.repository import ledger
from studio_assets.runtime.fanout import ItemRetry, fan_out
from studio_assets.runtime.generation import Outcome, generate_once
from studio_assets.runtime.stopping import StopFlag
from tests.support.fakes import FakeProvider, fake, journal
from tests.support.projects import clips, make_project, run
from tests.support.studio_fixtures import Studio


def buy(studio: Studio, provider: FakeProvider, clip_id: str, stop: StopFlag) -> Outcome:
    job = GenerationJob(
        kind=Kind.IMAGE_TO_VIDEO,
        prompt="Slow push in.",
        image=MediaInput(Path("unused.jpg")),
        label="clip 1 (exterior)",
        width=320,
        height=180,
    )
    workdir = studio.tmp / clip_id
    workdir.mkdir(exist_ok=True)
    return generate_once(
        db=studio.db,
        slot=ledger.CLIP,
        row_id=clip_id,
        provider=provider,
        storage=studio.storage,
        job=job,
        key=f"workspaces/ws/videos/p/clips/{clip_id}.mp4",
        owner="run-1",
        workdir=workdir,
        timeout_s=600,
        should_stop=stop,
    )


def test_a_halted_fan_out_leaves_the_request_running_for_the_resumed_run(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=(), music=False)
    clip_id = clips(studio, project_id)[0].id
    provider = fake(latency_s=120.0)
    log = journal(provider.journal_name)
    stop = StopFlag()

    def work(item: str) -> Outcome | None:
        return buy(studio, provider, clip_id, stop) if item == "slow" else None

    def on_done(result: object) -> None:
        while not log.waits:  # the slow one is waiting on its request by now
            time.sleep(0.05)
        raise RuntimeError("the app database went away")  # the step fails around the fan-out

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="went away"):
        fan_out(
            work, ["fast", "slow"], max_workers=2, retry=ItemRetry(), on_done=on_done, stop=stop
        )
    assert time.monotonic() - started < 60  # the wait ended; the two minutes did not pass

    assert log.cancels == []  # nobody asked to cancel: the request goes on at the provider
    with studio.db.session() as session:
        state = ledger.read(session, ledger.CLIP, clip_id)
    assert (state.status, state.request_id) == ("submitted", log.waits[0])

    # The retried step (or run) resumes it: nothing bought twice.
    assert run(studio, project_id, FakeProvider(journal_name=provider.journal_name)).success
    assert log.submits == ["clip 1 (exterior)", "clip 2 (kitchen)"]
    assert log.waits.count(state.request_id) == 2


def test_an_abandoned_wait_is_retryable_and_keeps_the_request() -> None:
    stop = StopFlag()
    assert stop() is False
    stop.halt()  # no operator behind a plain flag
    with pytest.raises(Abandoned) as raised:
        stop()
    assert raised.value.retryable and not raised.value.request_gone
    canceling = StopFlag()
    canceling.set()
    assert canceling() is True
    canceling.abandon()  # a cancel, once asked, stays a cancel
    assert canceling() is True
