"""The promises under faults: each paid item bought at most once, every project ends with a reason.

A video project runs on the fal stand-in with its app DB on a Postgres cluster of the test's
own, which the stand-in stops at one point of a clip's life:

- `accept`  — fal has accepted the job, our client has not yet heard its id (the submit window);
- `waiting` — at the first status poll;
- `storing` — when the result is fetched, so the `completed` write meets the outage (and, with
  clips bought one at a time, the next clip's claim — "before submit" — meets it too).

Then: the worker killed inside the submit window (with and without the id journaled), provider
faults (429 storms, 500 and a dropped connection on submit, a stuck job), counting what the
stand-in was asked for.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import uvicorn
from sqlalchemy import update

from resources.database import AppDatabase
from resources.models import NarrationLine, NarrationScript, VideoClip, VideoProject
from resources.provider.fal import FalProvider
from resources.provider.pricing import ANY_LLM, KLING_I2V, KOKORO_TTS
from resources.repository import feed, rows
from resources.storage import LocalStorage, S3Storage
from studio_assets.app import control, submission
from studio_assets.app.callbacks import callback_app
from studio_assets.app.samples import room_photo
from studio_assets.domain.motion import TRANSITION_PROMPT
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import parse_spec
from studio_assets.runtime import buying
from tests.pipeline.test_cli import STUDIO
from tests.support.fal_standin import FAL_KEY, FalStandin, Job
from tests.support.outage_proxy import OutageProxy, outage_proxy
from tests.support.projects import ROOMS, clips, make_project, project, run, spec_file
from tests.support.studio_fixtures import Studio
from tests.support.throwaway_pg import ThrowawayPostgres, throwaway_pg  # noqa: F401 (fixture)

CLIP_CENTS = 70  # Kling v2.6 Pro, 5 s, with audio


@pytest.fixture
def faulty(
    standin: FalStandin,
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
    dagster_instance: dg.DagsterInstance,
    tmp_path: Path,
) -> Studio:
    """Studio on the stand-in, local storage, and an app DB that the test can stop."""
    provider = fal_provider()
    storage = LocalStorage(root=str(tmp_path / "storage"))
    db = AppDatabase(url=throwaway_pg.url, outage_patience_s=120)
    return Studio(db, storage, provider, dagster_instance, tmp_path)


def fal_provider(**overrides: Any) -> FalProvider:
    settings = {
        "poll_interval_s": 1.0,
        "fetch_allow_hosts": os.environ["STUDIO_FETCH_ALLOW_HOSTS"],  # the stand-in
        "max_concurrency": 1,
    }
    return FalProvider(fal_key=FAL_KEY, **{**settings, **overrides})


def once(action: Callable[[], None]) -> Callable[[Job], None]:
    """A stand-in hook that acts the first time only."""
    fired: list[bool] = []

    def hook(_job: Job) -> None:
        if not fired:
            fired.append(True)
            action()

    return hook


@pytest.mark.parametrize(
    ("point", "outage_s"),
    [
        ("accept", 2),
        ("waiting", 2),
        ("storing", 2),
        pytest.param("accept", 30, marks=pytest.mark.slow),
        pytest.param("storing", 30, marks=pytest.mark.slow),
    ],
)
def test_an_app_db_outage_buys_nothing_twice(
    faulty: Studio,
    standin: FalStandin,
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
    point: str,
    outage_s: float,
) -> None:
    studio = faulty
    project_id = make_project(studio, ROOMS[:3], seamless=())
    hook = once(lambda: throwaway_pg.outage(outage_s))
    setattr(
        standin.script, {"accept": "on_accept", "waiting": "on_poll"}.get(point, "on_result"), hook
    )

    result = run(studio, project_id)

    throwaway_pg.wait_up()
    assert result.success
    assert len(standin.jobs) == len(standin.posts) == 3, "each clip bought exactly once"
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count) == ("completed", 3)
    assert done.actual_cost == 3 * CLIP_CENTS
    assert {c.provider_request_id.split("::")[1] for c in clips(studio, project_id)} == {
        j.request_id for j in standin.jobs
    }


@pytest.mark.parametrize("point", ["accept", "storing"])
def test_a_transition_bought_beside_the_clips_survives_an_app_db_outage(
    faulty: Studio,
    standin: FalStandin,
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
    point: str,
) -> None:
    """The seamless transition is bought inside the clips' fan-out, under the provider
    budget; the app DB goes down as fal accepts it (before its id is written) or as its
    result is fetched (before it is stored): it is still bought once, and so is each clip."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=(0,))
    fired: list[str] = []

    def outage_at_the_transition(job: Job) -> None:
        if TRANSITION_PROMPT in str(job.input.get("prompt")) and not fired:
            fired.append(job.request_id)
            throwaway_pg.outage(2)

    setattr(
        standin.script, {"accept": "on_accept"}.get(point, "on_result"), outage_at_the_transition
    )

    result = run(studio, project_id)

    throwaway_pg.wait_up()
    assert result.success and len(fired) == 1
    assert len(standin.jobs) == len(standin.posts) == 3, "2 clips + 1 transition, each once"
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count) == ("completed", 2)
    assert done.actual_cost == done.estimated_cost == 2 * CLIP_CENTS + 35  # transition: 5 s, 7 ¢/s
    first = clips(studio, project_id)[0]
    assert first.transition_status == "completed"
    assert first.transition_request_id.split("::")[1] == fired[0]


def test_an_approved_preview_survives_an_app_db_outage_at_accept(
    faulty: Studio,
    standin: FalStandin,
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
) -> None:
    """The paid run after `approve` first forgets the preview's free clips; the app DB goes
    down just as fal accepts the first paid clip: each clip is still bought exactly once."""
    studio = faulty
    photos = [
        {"image": str(room_photo(studio.tmp / f"{r}.jpg", r, (480, 270))), "room_type": r}
        for r in ROOMS[:2]
    ]
    spec = parse_spec(ProjectSpec, {"name": "Approved", "preview": True, "clips": photos})
    project_id = submission.submit_project(studio.db, studio.storage, spec, model=KLING_I2V)
    assert run(studio, project_id).success
    assert project(studio, project_id).status == "previewed" and standin.posts == []

    control.approve(studio.db, project_id)
    standin.script.on_accept = once(lambda: throwaway_pg.outage(2))
    result = run(studio, project_id)

    throwaway_pg.wait_up()
    assert result.success
    assert len(standin.jobs) == len(standin.posts) == 2, "each clip bought exactly once"
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count) == ("completed", 2)
    assert done.actual_cost == done.estimated_cost == 2 * 35  # 5 s of Kling, no audio


def assert_completed(studio: Studio, project_id: str, clips: int) -> None:
    """The project ended `completed` with `clips` clips, each billed once."""
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count, done.actual_cost) == (
        "completed",
        clips,
        clips * CLIP_CENTS,
    )


def _run_in_child(studio: Studio, project_id: str) -> multiprocessing.Process:
    child = multiprocessing.get_context("fork").Process(
        target=_run_forked, args=(studio, project_id)
    )
    child.start()
    return child


def _run_forked(studio: Studio, project_id: str) -> None:
    """`run` in a forked worker: it opens connections of its own rather than use the parent's
    pooled ones (one Postgres session in two processes mixes their prepared statements)."""
    studio.db.engine.dispose(close=False)
    run(studio, project_id)


def _expire_leases(studio: Studio, project_id: str) -> None:
    """Let the dead worker's submit lease run out (it would, 3 minutes later)."""
    with studio.db.session() as session:
        session.execute(
            update(VideoClip)
            .where(VideoClip.video_project_id == project_id, VideoClip.status == "submitting")
            .values(lease_expires_at=VideoClip.created_at)
        )


def test_worker_killed_while_storing_the_id_resumes_from_the_journal(
    faulty: Studio,
    standin: FalStandin,
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
) -> None:
    """fal accepted, the DB was down, the worker died before the DB took the id: the retry
    finds the id in the storage journal and waits on that job instead of buying another."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.on_accept = once(throwaway_pg.stop)
    child = _run_in_child(studio, project_id)
    journal = Path(studio.storage.root) / "journal" / "submits"  # type: ignore[attr-defined]
    for _ in range(600):
        if journal.exists() and any(journal.iterdir()):
            break
        child.join(timeout=0.1)
    assert journal.exists() and any(journal.iterdir()), "the accepted submit was not journaled"
    os.kill(child.pid or 0, signal.SIGKILL)  # killed while the DB is down: the id is nowhere else
    child.join()
    throwaway_pg.start()
    _expire_leases(studio, project_id)
    known = {c.provider_request_id for c in clips(studio, project_id)} - {None}
    journaled = {json.loads(p.read_text())["request_id"] for p in journal.iterdir()}
    assert journaled - known, "the journal holds an id the DB never took"

    assert run(studio, project_id).success

    assert len(standin.posts) == 2, "the killed worker's clip was resumed, not bought again"
    assert_completed(studio, project_id, clips=2)


def test_worker_killed_before_hearing_the_id_is_never_bought_blindly(
    faulty: Studio, standin: FalStandin
) -> None:
    """fal accepted, the worker died before it heard the id: nobody can know whether that job
    runs, so the clip fails saying what to check, and only `force` buys it again."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    child = _run_in_child(studio, project_id)
    standin.script.on_accept = once(lambda: os.kill(child.pid or 0, signal.SIGKILL))
    child.join(timeout=120)
    _expire_leases(studio, project_id)

    assert run(studio, project_id).success

    assert len(standin.posts) == 2, "the ambiguous clip was not submitted again"
    first = clips(studio, project_id)[0]
    assert first.status == "ambiguous"
    assert "check fal's request history" in (first.error_message or "").lower()
    assert "re-run with force" in (first.error_message or "")
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count) == ("completed", 1)

    forced = {"ops": {"video_clips": {"config": {"clip_ids": [first.id]}}}}
    assert run(studio, project_id, config=forced).success
    assert len(standin.posts) == 3 and clips(studio, project_id)[0].status == "completed"


NARRATED = {"listing": {"address": "12 Elm Street"}, "narration": {"voice": "am_adam"}}
"""Two rooms spoken by fal's Kokoro: an intro and a line per room (no branding: no outro)."""


def _spoken(standin: FalStandin) -> list[str]:
    return [job.input["prompt"] for job in standin.jobs if job.model == KOKORO_TTS]


def _on_first_line(kill: Callable[[], None]) -> Callable[[Job], None]:
    fired: list[bool] = []

    def hook(job: Job) -> None:
        if job.model == KOKORO_TTS and not fired:
            fired.append(True)
            kill()

    return hook


def test_worker_killed_while_a_line_is_spoken_resumes_it(
    faulty: Studio, standin: FalStandin
) -> None:
    """kill -9 while fal speaks the first narration line (its id stored): the retry waits on
    that request; every line is bought once and the cost is the estimate."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=(), audio=False, **NARRATED)
    child = _run_in_child(studio, project_id)
    standin.script.on_poll = _on_first_line(lambda: os.kill(child.pid or 0, signal.SIGKILL))
    child.join(timeout=300)
    assert child.exitcode == -signal.SIGKILL
    assert len(_spoken(standin)) == 1  # killed while its first line was at fal

    assert run(studio, project_id).success

    lines = _stored_spec(studio, project_id).paid_lines()
    assert len(lines) == 3
    assert sorted(_spoken(standin)) == sorted(lines), "each line bought once"
    assert [j.model for j in standin.jobs].count(KLING_I2V) == 2
    done = project(studio, project_id)
    assert done.status == "completed"
    assert done.actual_cost == done.estimated_cost == 2 * 35 + 3  # 1 ¢ a line (rounded up)


def test_worker_killed_before_hearing_a_lines_id_is_never_bought_blindly(
    faulty: Studio, standin: FalStandin
) -> None:
    """kill -9 between fal accepting a line and our hearing its id: that line is not bought
    again on its own; the compile fails naming it, and only forcing that line buys it anew."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=(), audio=False, **NARRATED)
    child = _run_in_child(studio, project_id)
    standin.script.on_accept = _on_first_line(lambda: os.kill(child.pid or 0, signal.SIGKILL))
    child.join(timeout=300)
    with studio.db.session() as session:
        session.execute(update(NarrationLine).values(lease_expires_at=NarrationLine.created_at))

    assert not run(studio, project_id).success

    failed = project(studio, project_id)
    assert failed.status == "failed"
    assert "narration" in (failed.error_message or "") and "force" in (failed.error_message or "")
    with studio.db.session() as session:
        (ambiguous,) = [
            line for line in rows.narration_lines(session, project_id) if line.status == "ambiguous"
        ]
    assert len(_spoken(standin)) == 3  # the ambiguous one was not submitted again

    forced = {"ops": {"final_video": {"config": {"clip_ids": [ambiguous.id]}}}}
    assert run(studio, project_id, config=forced).success
    assert len(_spoken(standin)) == 4 and _spoken(standin).count(ambiguous.text) == 2
    assert project(studio, project_id).status == "completed"


def test_worker_killed_while_the_script_is_written_buys_it_once(
    faulty: Studio, standin: FalStandin
) -> None:
    """kill -9 while fal's any-llm rewrites the script (its id stored): the retry waits on that
    request, speaks the lines it wrote — each bought once — and costs the estimate."""
    studio = faulty
    narrated = {**NARRATED, "narration": {"voice": "am_adam", "writer": "llm"}}
    project_id = make_project(studio, ROOMS[:2], seamless=(), audio=False, **narrated)
    child = _run_in_child(studio, project_id)
    fired: list[bool] = []

    def kill_while_writing(job: Job) -> None:
        if job.model == ANY_LLM and not fired:
            fired.append(True)
            os.kill(child.pid or 0, signal.SIGKILL)

    standin.script.on_poll = kill_while_writing
    child.join(timeout=300)
    assert child.exitcode == -signal.SIGKILL
    assert _spoken(standin) == []  # killed before any line was spoken

    assert run(studio, project_id).success

    assert [j.model for j in standin.jobs].count(ANY_LLM) == 1, "the script was bought once"
    spoken = _spoken(standin)
    assert len(spoken) == len(set(spoken)) == 3
    assert "Welcome home to 12 Elm Street." in spoken  # the writer's lines, not the facts'
    assert "Come and see the living room." in spoken
    done = project(studio, project_id)
    assert done.status == "completed"
    assert done.actual_cost == done.estimated_cost == 2 * 35 + 3 + 2  # clips, lines, script


def test_worker_killed_before_hearing_the_scripts_id_never_buys_it_again(
    faulty: Studio, standin: FalStandin
) -> None:
    """kill -9 between fal accepting the script request and our hearing its id: nobody knows
    whether it runs, so it is not asked again; the written lines are spoken (the writer is
    optional) and the video completes."""
    studio = faulty
    narrated = {**NARRATED, "narration": {"voice": "am_adam", "writer": "llm"}}
    project_id = make_project(studio, ROOMS[:2], seamless=(), audio=False, **narrated)
    child = _run_in_child(studio, project_id)
    fired: list[bool] = []

    def kill_in_the_submit_window(job: Job) -> None:
        if job.model == ANY_LLM and not fired:
            fired.append(True)
            os.kill(child.pid or 0, signal.SIGKILL)

    standin.script.on_accept = kill_in_the_submit_window
    child.join(timeout=300)
    assert child.exitcode == -signal.SIGKILL
    with studio.db.session() as session:
        session.execute(update(NarrationScript).values(lease_expires_at=NarrationScript.created_at))

    assert run(studio, project_id).success

    assert [j.model for j in standin.jobs].count(ANY_LLM) == 1, "not asked again blindly"
    with studio.db.session() as session:
        (script,) = rows.narration_scripts(session, project_id)
    assert script.status == "ambiguous" and script.lines is None
    written = _stored_spec(studio, project_id).paid_lines()
    assert sorted(_spoken(standin)) == sorted(written)  # the facts' lines, each once
    assert project(studio, project_id).status == "completed"


def _stored_spec(studio: Studio, project_id: str) -> ProjectSpec:
    from studio_assets.runtime.row_validation import stored_spec

    row = project(studio, project_id)
    return stored_spec(studio.db, row, clips(studio, project_id))


@pytest.fixture
def callbacks(faulty: Studio) -> Iterator[str]:
    """`studio callbacks`'s app on a free port; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(callback_app(faulty.storage), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(timeout=0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_worker_killed_before_hearing_the_id_is_reconciled_from_fal_webhook(
    faulty: Studio, standin: FalStandin, callbacks: str
) -> None:
    """The same death, with STUDIO_FAL_CALLBACK_URL set: fal's webhook names the request the
    submit token bought, and the retry waits on it — bought once, nothing lost."""
    studio = faulty
    studio.provider = fal_provider(callback_url=callbacks)
    project_id = make_project(studio, ROOMS[:2], seamless=())
    child = _run_in_child(studio, project_id)
    standin.script.on_accept = once(lambda: os.kill(child.pid or 0, signal.SIGKILL))
    child.join(timeout=120)
    for _ in range(100):
        if standin.webhooks:
            break
        time.sleep(0.1)
    assert standin.webhooks, (standin.webhook_errors, standin.posts)
    assert standin.webhooks[0].startswith(f"{callbacks}/fal/")
    _expire_leases(studio, project_id)

    assert run(studio, project_id).success

    assert len(standin.posts) == 2, "the killed worker's job was found and waited on"
    assert_completed(studio, project_id, clips=2)


def test_callbacks_refuse_what_is_not_a_studio_submit(callbacks: str) -> None:
    token = "0" * 32
    bad = [
        (f"{callbacks}/fal/not-a-token?model=fal-ai/x", {"request_id": "abcdef12"}),
        (f"{callbacks}/fal/{token}?model=../../etc", {"request_id": "abcdef12"}),
        (f"{callbacks}/fal/{token}?model=fal-ai/x", {"request_id": "../../x"}),
    ]
    for url, body in bad:
        assert httpx.post(url, json=body).status_code == 400
    assert httpx.post(f"{callbacks}/fal/{token}?model=fal-ai/x", content=b"{").status_code == 400


def test_429_storm_and_500_on_submit_buy_each_clip_once(
    faulty: Studio, standin: FalStandin
) -> None:
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.submit = ["429"] * 6 + ["500"]

    assert run(studio, project_id).success

    assert len(standin.jobs) == 2, "refused submits are free; each clip was accepted once"
    assert project(studio, project_id).status == "completed"


def test_a_dropped_submit_is_ambiguous_not_resubmitted(faulty: Studio, standin: FalStandin) -> None:
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.submit = ["drop"]

    assert run(studio, project_id).success
    assert run(studio, project_id).success  # a retry does not buy it either

    assert len(standin.jobs) == 2  # the dropped one (ran at fal, id unknown) + clip 2
    first = clips(studio, project_id)[0]
    assert first.status == "ambiguous" and "reconciled" in (first.error_message or "")
    assert project(studio, project_id).completed_clip_count == 1


@pytest.mark.parametrize("answer", ["drop", "delay"])
def test_an_unanswered_submit_is_reconciled_by_fal_webhook(
    faulty: Studio, standin: FalStandin, callbacks: str, answer: str
) -> None:
    """fal took the job but our client never read its id (connection dropped, or answered past
    our timeout): the webhook names it, the item retry waits on it — one job, clip done."""
    studio = faulty
    # "delay" answers after 3 s, past this submit timeout
    studio.provider = fal_provider(callback_url=callbacks, submit_timeout_s=1.0)
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.submit = [answer]

    assert run(studio, project_id).success

    assert len(standin.posts) == len(standin.jobs) == 2
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count) == ("completed", 2)


def test_a_stuck_job_is_canceled_and_not_bought_again(
    faulty: Studio, standin: FalStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio = faulty
    monkeypatch.setattr(buying, "GENERATION_TIMEOUT_S", 3.0)
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=())
    standin.script.hold = "kitchen counters"  # only the kitchen clip's prompt

    assert run(studio, project_id).success
    assert run(studio, project_id).success  # the retry does not buy the stuck one again

    assert len(standin.posts) == 2
    assert len(standin.cancels) == 1
    kitchen = clips(studio, project_id)[1]
    assert kitchen.status == "held"
    assert "did not finish within 3 s" in (kitchen.error_message or "")
    done = project(studio, project_id)
    assert (done.status, done.completed_clip_count, done.actual_cost) == (
        "completed",
        1,
        CLIP_CENTS,
    )


def test_studio_run_survives_a_db_blip(
    throwaway_pg: ThrowawayPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`studio run` as users run it, with the app DB gone for 3 s mid-generation: the run and
    the CLI's progress poller keep going, and the project ends `completed`."""
    rooms = ("exterior", "living-room", "kitchen")
    spec_file(tmp_path, "Blip house", rooms)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FAL_KEY")},
        "STUDIO_HOME": str(tmp_path / "home"),
        "STUDIO_DATABASE_URL": throwaway_pg.url,
    }
    submitted = subprocess.run(
        [STUDIO, "submit", str(tmp_path / "spec.json"), "--draft", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    project_id = json.loads(submitted.stdout.strip().splitlines()[-1])["id"]
    db = AppDatabase(url=throwaway_pg.url)
    running = subprocess.Popen(
        [STUDIO, "run", project_id, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    for _ in range(600):
        with db.session() as session:
            row = rows.get(session, VideoProject, project_id)
            if row.status == "generating" and (row.completed_clip_count or 0) >= 1:
                break
        time.sleep(0.1)
    throwaway_pg.outage(3)

    out, err = running.communicate(timeout=600)

    throwaway_pg.wait_up()
    assert running.returncode == 0, err[-3000:]
    status = json.loads(out.strip().splitlines()[-1])
    assert (status["status"], status["progress"]["completed"]) == ("completed", 3)


@pytest.fixture
def on_s3(faulty: Studio, s3_server: str, s3_bucket: str) -> Iterator[OutageProxy]:
    """`faulty` with its media on the local S3 server, reached through a proxy that can fail."""
    with outage_proxy(s3_server) as proxy:
        endpoint = f"http://127.0.0.1:{proxy.port}"
        faulty.storage = S3Storage(bucket=s3_bucket, prefix="prod", endpoint_url=endpoint)
        yield proxy


def test_s3_down_while_fal_fetches_inputs(
    faulty: Studio, standin: FalStandin, on_s3: OutageProxy
) -> None:
    """fal cannot read the presigned input: its job fails unbilled, and the retry buys it once
    S3 is back — one billed job per clip."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.fetch_inputs = True
    standin.script.on_poll = once(lambda: on_s3.outage(1.0))

    assert run(studio, project_id).success

    assert standin.input_failures, "the outage hit fal's input download"
    billed = [j for j in standin.jobs if j.delivered]
    assert len(billed) == 2 and len(standin.jobs) == 3  # the failed one was not billed
    done = project(studio, project_id)
    assert (done.status, done.actual_cost) == ("completed", 2 * CLIP_CENTS)


def test_s3_down_while_storing_a_result(
    faulty: Studio, standin: FalStandin, on_s3: OutageProxy
) -> None:
    """The result cannot be stored: the slot stays `submitted` and the retry fetches the same
    request's result again — nothing bought twice."""
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    standin.script.on_result = once(lambda: on_s3.outage(3.0))

    assert run(studio, project_id).success

    assert len(standin.posts) == 2
    assert standin.jobs[0].polls >= 2, "the first clip's request was resumed after the outage"
    assert_completed(studio, project_id, clips=2)


def test_a_bought_clip_whose_media_vanished_is_not_bought_silently(
    faulty: Studio, standin: FalStandin
) -> None:
    studio = faulty
    project_id = make_project(studio, ROOMS[:2], seamless=())
    assert run(studio, project_id).success
    lost = clips(studio, project_id)[0]
    studio.storage.delete(lost.clip_url or "")

    assert run(studio, project_id).success

    assert len(standin.posts) == 2
    again = clips(studio, project_id)[0]
    assert again.status == "held" and "gone from storage" in (again.error_message or "")
    done = project(studio, project_id)  # the video is made of the clip that is still there
    assert (done.status, done.completed_clip_count) == ("completed", 1)


def test_a_killed_studio_run_ends_failed_and_runs_again_buying_nothing_twice(
    tmp_path: Path,
) -> None:
    """`studio run` killed mid-generation: `studio status` says the row failed and why (not
    `generating` forever), and `studio run` again finishes it reusing the finished clips."""
    rooms = ("exterior", "living-room", "kitchen", "bedroom")
    spec_file(tmp_path, "Killed house", rooms)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FAL_KEY")},
        "STUDIO_HOME": str(tmp_path / "home"),
    }

    def studio(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [STUDIO, *args, "--json"], capture_output=True, text=True, env=env, timeout=600
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    project_id = studio("submit", str(tmp_path / "spec.json"), "--draft")["id"]
    running = subprocess.Popen(
        [STUDIO, "run", project_id, "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    db = AppDatabase(url=f"sqlite:///{tmp_path / 'home' / 'studio.db'}")
    for _ in range(1200):
        with db.session() as session:
            row = session.get(VideoProject, project_id)
            if row is not None and (row.completed_clip_count or 0) >= 1:
                break
        time.sleep(0.05)
    running.kill()
    running.wait()
    with db.session() as session:
        finished_before = {
            c.id: (c.provider_request_id, c.clip_url)
            for c in rows.clips(session, project_id)
            if c.status == "completed"
        }
    assert 1 <= len(finished_before) < len(rooms)  # killed mid-generation

    after_kill = studio("status", project_id)

    assert after_kill["status"] == "failed"
    assert f"pid {running.pid}" in after_kill["error"] and "studio retry" in after_kill["error"]
    done = studio("run", project_id)
    assert (done["status"], done["progress"]["completed"]) == ("completed", len(rooms))
    with db.session() as session:
        now = {c.id: (c.provider_request_id, c.clip_url) for c in rows.clips(session, project_id)}
    # the clips finished before the kill are the same generations, not made again
    assert {c: now[c] for c in finished_before} == finished_before
    with db.session() as session:  # each clip was made and stored once across both runs
        stored = [e.data["clip_id"] for e in feed.after(session, project_id) if e.event == "clip"]
    assert sorted(stored) == sorted(now), "a clip stored twice was bought twice"
