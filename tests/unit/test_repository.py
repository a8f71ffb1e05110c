"""The app database on SQLite and Postgres: row lifecycles and the paid-generation ledger."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.errors import NotFound, StudioError
from resources.models import ImageGeneration, VideoClip, VideoProject
from resources.repository import ledger, rows


def add_project(session: Session, project_id: str = "vp_1", clips: int = 3) -> VideoProject:
    project = VideoProject(
        id=project_id, workspace_id="ws_1", name="12 Elm Street", clip_count=clips
    )
    session.add(project)
    session.flush()
    for order in reversed(range(clips)):
        session.add(
            VideoClip(
                id=f"{project_id}_c{order}",
                video_project_id=project_id,
                sequence_order=order,
                source_image_url=f"file:///in/{order}.jpg",
                room_type="kitchen",
                transition_type="seamless",
            )
        )
    return project


def add_image(session: Session, image_id: str = "img_1") -> ImageGeneration:
    image = ImageGeneration(
        id=image_id,
        workspace_id="ws_1",
        kind="enhance",
        room_type="kitchen",
        style="modern",
        original_image_url="file:///in/kitchen.jpg",
    )
    session.add(image)
    return image


def status_of(app_db: AppDatabase, model: rows.Row, row_id: str) -> str:
    with app_db.session() as session:
        return str(rows.get(session, model, row_id).status)


def test_orm_rows_and_defaults(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_project(session)
        add_image(session)
    with app_db.session() as session:
        project = rows.get(session, VideoProject, "vp_1")
        assert (project.status, project.submission, project.progress) == ("draft", 0, 0)
        assert (project.music_volume, project.aspect_ratio) == (50, "16:9")
        assert [c.sequence_order for c in rows.clips(session, "vp_1")] == [0, 1, 2]
        assert rows.clips(session, "vp_1")[0].status == "pending"
        image = rows.get(session, ImageGeneration, "img_1")
        assert (image.status, image.request_status, image.version) == ("draft", "pending", 1)
        assert rows.find_kind(session, "vp_1") == "video"
        assert rows.find_kind(session, "img_1") == "image"
        with pytest.raises(NotFound, match="no video project, image or image project with id"):
            rows.find_kind(session, "nope")
        with pytest.raises(NotFound, match="video project 'nope' not found"):
            rows.get(session, VideoProject, "nope")


def test_raw_insert_gets_server_defaults(app_db: AppDatabase) -> None:
    """Another program inserting only the required columns gets the documented defaults."""
    with app_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO video_project (id, workspace_id, name) VALUES ('vp_raw', 'ws', 'Raw')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO video_clip (id, video_project_id, sequence_order, "
                "source_image_url, room_type) "
                "VALUES ('c_raw', 'vp_raw', 0, 's3://b/a.jpg', 'garden')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO image_generation (id, workspace_id, kind, "
                "original_image_url) VALUES ('img_raw', 'ws', 'enhance', 'x')"
            )
        )
        project = conn.execute(
            text(
                "SELECT status, submission, progress, music_volume, aspect_ratio, "
                "generate_native_audio, clip_count, estimated_cost, created_at "
                "FROM video_project WHERE id = 'vp_raw'"
            )
        ).one()
        clip = conn.execute(
            text("SELECT status, transition_type, duration_seconds, cost_cents FROM video_clip")
        ).one()
        image = conn.execute(
            text(
                "SELECT status, request_status, version, submission, progress FROM image_generation"
            )
        ).one()
    assert tuple(project[:5]) == ("draft", 0, 0, 50, "16:9")
    assert not project.generate_native_audio and project.clip_count == 0
    assert project.estimated_cost == 0 and project.created_at is not None
    assert tuple(clip) == ("pending", "cut", 5, 0)
    assert tuple(image) == ("draft", "pending", 1, 0, 0)
    with app_db.session() as session:
        assert rows.queue(session, VideoProject, "vp_raw") == 1


def test_queue_counts_submissions(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_project(session)
    before = datetime.now(UTC)
    for expected in (1, 2):
        with app_db.session() as session:
            assert rows.queue(session, VideoProject, "vp_1") == expected
    with app_db.session() as session:
        project = rows.get(session, VideoProject, "vp_1")
        assert (project.status, project.submission, project.step) == ("queued", 2, "queued")
        queued_at = project.queued_at
        assert queued_at.replace(tzinfo=queued_at.tzinfo or UTC) >= before - timedelta(seconds=1)


@pytest.mark.parametrize("status", ["completed", "generating"])
def test_queue_refuses_rows_that_cannot_launch(app_db: AppDatabase, status: str) -> None:
    with app_db.session() as session:
        add_project(session)
        rows.set_status(session, VideoProject, "vp_1", status)
    refused = pytest.raises(StudioError, match=f"vp_1 is {status}; only draft, queued")
    with refused, app_db.session() as session:
        rows.queue(session, VideoProject, "vp_1")
    with app_db.session() as session:
        assert rows.get(session, VideoProject, "vp_1").submission == 0
        with pytest.raises(NotFound):
            rows.queue(session, VideoProject, "missing")


def test_queued_pages_in_submission_order(app_db: AppDatabase) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    times = {
        "img_c": t0,
        "img_a": t0 + timedelta(seconds=1),
        "img_b": t0 + timedelta(seconds=1),
        "img_d": t0 + timedelta(seconds=2),
    }
    with app_db.session() as session:
        for image_id in [*times, "img_draft"]:
            add_image(session, image_id)
        session.flush()
        for image_id, at in times.items():
            rows.queue(session, ImageGeneration, image_id)
            rows.set_status(session, ImageGeneration, image_id, "queued", queued_at=at)
        rows.set_status(session, ImageGeneration, "img_d", "processing")
    pages: list[list[str]] = []
    after = None
    with app_db.session() as session:
        while page := rows.queued(session, ImageGeneration, after, limit=2):
            pages.append([q.id for q in page])
            after = (page[-1].queued_at, page[-1].id)
        first = rows.queued(session, ImageGeneration, None, limit=1)[0]
    assert pages == [["img_c", "img_a"], ["img_b"]]
    assert (first.kind, first.submission) == ("enhance", 1)


def test_video_projects_page_with_kind_video(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_project(session, "vp_1")
        add_project(session, "vp_2", clips=1)
        session.flush()
        rows.queue(session, VideoProject, "vp_2")
        rows.queue(session, VideoProject, "vp_1")
    with app_db.session() as session:
        page = rows.queued(session, VideoProject, None, limit=10)
    assert [(q.id, q.kind) for q in page] == [("vp_2", "video"), ("vp_1", "video")]


def test_fail_keeps_terminal_states_and_guards_the_run(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_project(session, "vp_1")
        add_project(session, "vp_done")
        session.flush()
        rows.start(session, VideoProject, "vp_1", "run-new", "generating")
        rows.set_status(session, VideoProject, "vp_done", "completed")
    with app_db.session() as session:
        assert not rows.fail(session, VideoProject, "vp_done", "late failure")
        assert not rows.fail(session, VideoProject, "vp_1", "stale run", run_id="run-old")
    assert status_of(app_db, VideoProject, "vp_done") == "completed"
    assert status_of(app_db, VideoProject, "vp_1") == "generating"
    with app_db.session() as session:
        assert rows.fail(session, VideoProject, "vp_1", "boom " * 1000, run_id="run-new")
        assert not rows.fail(session, VideoProject, "vp_1", "second opinion")
        project = rows.get(session, VideoProject, "vp_1")
        assert (project.status, project.step) == ("failed", "failed")
        assert len(project.error_message) == 2000 and len(project.label) == 500


def test_start_and_cancel(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_image(session, "img_1")
        add_image(session, "img_done")
        session.flush()
        rows.set_status(session, ImageGeneration, "img_done", "completed")
        rows.start(session, ImageGeneration, "img_done", "run-2", "processing")
        rows.start(session, ImageGeneration, "img_1", "run-1", "processing")
        with pytest.raises(NotFound, match="image 'missing' not found"):
            rows.start(session, ImageGeneration, "missing", "run-3", "processing")
        assert rows.cancel(session, ImageGeneration, "img_1")
        assert not rows.cancel(session, ImageGeneration, "img_done")
    assert status_of(app_db, ImageGeneration, "img_done") == "completed"
    assert status_of(app_db, ImageGeneration, "img_1") == "canceled"
    with app_db.session() as session:
        assert rows.queue(session, ImageGeneration, "img_1") == 1  # canceled can be re-queued


CLIP_ID = "vp_1_c0"


@pytest.fixture
def clip_db(app_db: AppDatabase) -> AppDatabase:
    """`app_db` holding one project with three pending clips."""
    with app_db.session() as session:
        add_project(session)
    return app_db


def ledger_call(db: AppDatabase, fn: object, *args: object, **kwargs: object) -> object:
    """Run one ledger operation in its own transaction, as executors do."""
    with db.session() as session:
        return fn(session, *args, **kwargs)  # type: ignore[operator]


def state(
    db: AppDatabase, slot: ledger.Slot = ledger.CLIP, row_id: str = CLIP_ID
) -> ledger.SlotState:
    with db.session() as session:
        return ledger.read(session, slot, row_id)


def claim(
    db: AppDatabase, owner: str, lease_s: float = 180, slot: ledger.Slot = ledger.CLIP
) -> str:
    token = ledger_call(db, ledger.claim, slot, CLIP_ID, owner, lease_s)
    assert isinstance(token, str), f"{owner} could not claim"
    return token


def status(db: AppDatabase, slot: ledger.Slot = ledger.CLIP) -> str:
    return state(db, slot).status


def test_claim_first_owner_wins(clip_db: AppDatabase) -> None:
    """A live lease keeps everyone out, its own holder too: a step retry that finds its own
    `submitting` slot cannot know whether its submit was accepted."""
    claim(clip_db, "run-a")
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-a", 180) is None
    assert status(clip_db) == "submitting"


def test_note_error_keeps_a_live_request(clip_db: AppDatabase) -> None:
    token = claim(clip_db, "run-a")
    ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    ledger_call(clip_db, ledger.note_error, ledger.CLIP, CLIP_ID, "poll timed out")
    now = state(clip_db)
    assert (now.status, now.request_id, now.error) == ("submitted", "req-1", "poll timed out")


def test_expired_submitting_slot_becomes_ambiguous_never_claimable(clip_db: AppDatabase) -> None:
    """The holder died between submit and store: the slot is reconciled, never resubmitted."""
    token = claim(clip_db, "dead-run", lease_s=-1)
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    assert ledger_call(clip_db, ledger.expire_submitting, ledger.CLIP, CLIP_ID)
    assert status(clip_db) == "ambiguous" and state(clip_db).token == token
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    # The dead holder's id, found later (journal), is stored by its token.
    assert ledger_call(clip_db, ledger.reconciled, ledger.CLIP, CLIP_ID, "req-1")
    assert (status(clip_db), state(clip_db).request_id) == ("submitted", "req-1")


def test_live_submitting_lease_does_not_expire(clip_db: AppDatabase) -> None:
    claim(clip_db, "run-a")
    assert not ledger_call(clip_db, ledger.expire_submitting, ledger.CLIP, CLIP_ID)
    assert status(clip_db) == "submitting"


def test_late_store_by_token_after_lease_expiry(clip_db: AppDatabase) -> None:
    """The id stored after a long DB outage still lands: it is keyed by the submit token."""
    token = claim(clip_db, "run-a", lease_s=-1)
    ledger_call(clip_db, ledger.expire_submitting, ledger.CLIP, CLIP_ID)
    assert not ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, "other", "req-x")
    assert ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    assert (status(clip_db), state(clip_db).request_id) == ("submitted", "req-1")


def test_submitted_request_is_never_claimed_again(clip_db: AppDatabase) -> None:
    """Once a request id is stored, even an expired lease cannot lead to a second purchase."""
    token = claim(clip_db, "run-a", lease_s=-1)
    assert ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    assert not ledger_call(clip_db, ledger.expire_submitting, ledger.CLIP, CLIP_ID)
    assert state(clip_db).request_id == "req-1"


def test_completed_first_wins(clip_db: AppDatabase) -> None:
    assert not ledger_call(clip_db, ledger.completed, ledger.CLIP, CLIP_ID, "s3://b/x.mp4", 35)
    token = claim(clip_db, "run-a")
    ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    assert ledger_call(clip_db, ledger.completed, ledger.CLIP, CLIP_ID, "s3://b/first.mp4", 35)
    assert not ledger_call(clip_db, ledger.completed, ledger.CLIP, CLIP_ID, "s3://b/2nd.mp4", 70)
    assert not ledger_call(clip_db, ledger.gone, ledger.CLIP, CLIP_ID, "req-1", "late error")
    ledger_call(clip_db, ledger.give_up, ledger.CLIP, CLIP_ID, "late error")
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    done = state(clip_db)
    assert (done.status, done.url, done.cost_cents, done.error, done.request_id) == (
        "completed",
        "s3://b/first.mp4",
        35,
        None,
        "req-1",
    )


@pytest.mark.parametrize("parking", ["ambiguous", "held"])
def test_maybe_paid_slots_are_parked_until_reset(clip_db: AppDatabase, parking: str) -> None:
    token = claim(clip_db, "run-a")
    if parking == "ambiguous":
        assert ledger_call(clip_db, ledger.ambiguous, ledger.CLIP, CLIP_ID, "submit timed out")
    else:
        ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
        assert ledger_call(clip_db, ledger.held, ledger.CLIP, CLIP_ID, "submit timed out")
    parked = state(clip_db)
    assert (parked.status, parked.error) == (parking, "submit timed out")
    assert ledger_call(clip_db, ledger.claim, ledger.CLIP, CLIP_ID, "run-b", 180) is None
    ledger_call(clip_db, ledger.give_up, ledger.CLIP, CLIP_ID, "item failed")
    assert status(clip_db) == parking
    ledger_call(clip_db, ledger.reset, ledger.CLIP, CLIP_ID)
    assert (status(clip_db), state(clip_db).request_id) == ("pending", None)
    claim(clip_db, "run-b")


def test_provider_failure_can_be_claimed_again(clip_db: AppDatabase) -> None:
    token = claim(clip_db, "run-a")
    ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    assert not ledger_call(clip_db, ledger.gone, ledger.CLIP, CLIP_ID, "req-other", "x")
    assert ledger_call(clip_db, ledger.gone, ledger.CLIP, CLIP_ID, "req-1", "x" * 3000)
    failed = state(clip_db)
    assert (failed.status, failed.request_id, len(failed.error or "")) == ("failed", None, 2000)
    claim(clip_db, "run-b")
    assert state(clip_db).error is None


def test_submit_not_taken_frees_the_slot(clip_db: AppDatabase) -> None:
    token = claim(clip_db, "run-a")
    assert not ledger_call(clip_db, ledger.not_taken, ledger.CLIP, CLIP_ID, "other", "429")
    assert ledger_call(clip_db, ledger.not_taken, ledger.CLIP, CLIP_ID, token, "429")
    assert status(clip_db) == "failed"
    claim(clip_db, "run-b")


def test_reset_forgets_a_completed_generation(clip_db: AppDatabase) -> None:
    token = claim(clip_db, "run-a")
    ledger_call(clip_db, ledger.submitted, ledger.CLIP, CLIP_ID, token, "req-1")
    ledger_call(clip_db, ledger.completed, ledger.CLIP, CLIP_ID, "s3://b/x.mp4", 35)
    ledger_call(clip_db, ledger.reset, ledger.CLIP, CLIP_ID)
    now = state(clip_db)
    assert (now.status, now.url, now.cost_cents, now.request_id) == ("pending", None, 0, None)


def test_slots_of_one_row_are_independent(clip_db: AppDatabase) -> None:
    """A clip and its transition share a row but not a ledger; transitions start unset."""
    assert status(clip_db, ledger.TRANSITION) == "pending"
    claim(clip_db, "run-a")
    token = claim(clip_db, "run-a", slot=ledger.TRANSITION)
    ledger_call(clip_db, ledger.submitted, ledger.TRANSITION, CLIP_ID, token, "req-t")
    ledger_call(clip_db, ledger.completed, ledger.TRANSITION, CLIP_ID, "s3://b/t.mp4", 70)
    assert state(clip_db).status == "submitting"
    assert state(clip_db, ledger.TRANSITION).url == "s3://b/t.mp4"
    with clip_db.session() as session:
        clip = session.get(VideoClip, CLIP_ID)
        assert clip is not None and (clip.clip_url, clip.transition_cost_cents) == (None, 70)


def test_failure_of_a_never_claimed_transition_is_recorded(clip_db: AppDatabase) -> None:
    assert ledger_call(clip_db, ledger.give_up, ledger.TRANSITION, CLIP_ID, "no end clip")
    assert state(clip_db, ledger.TRANSITION).status == "failed"


def test_image_slot(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        add_image(session)
    token = ledger_call(app_db, ledger.claim, ledger.IMAGE, "img_1", "run-a", 180)
    assert ledger_call(app_db, ledger.submitted, ledger.IMAGE, "img_1", token, "req-9")
    assert ledger_call(app_db, ledger.completed, ledger.IMAGE, "img_1", "file:///out.png", 15)
    with app_db.session() as session:
        image = rows.get(session, ImageGeneration, "img_1")
        assert (image.request_status, image.result_image_url, image.cost_cents) == (
            "completed",
            "file:///out.png",
            15,
        )
        assert image.status == "draft", "the ledger never moves the row's own status"


@pytest.mark.parametrize("slot", [ledger.CLIP, ledger.TRANSITION], ids=["clip", "transition"])
def test_racing_claims_have_exactly_one_winner(clip_db: AppDatabase, slot: ledger.Slot) -> None:
    """Executors racing for one slot in separate connections: exactly one may submit."""
    racers = 8
    barrier = threading.Barrier(racers)
    wins: list[str] = []
    errors: list[BaseException] = []

    def race(owner: str) -> None:
        barrier.wait()
        try:
            with clip_db.session() as session:
                if ledger.claim(session, slot, CLIP_ID, owner, 180):
                    wins.append(owner)
        except BaseException as exc:  # surfaced below: a crashed racer is not a loser
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(f"run-{i}",)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(wins) == 1
    with clip_db.session() as session:
        owner = session.execute(
            text(f"SELECT {slot.lease_owner} FROM video_clip WHERE id = :id"), {"id": CLIP_ID}
        ).scalar_one()
    assert owner == wins[0]
