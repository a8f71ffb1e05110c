"""Webhooks at least once: each terminal transition's event is in the outbox with the status
change; a receiver that is down when a project ends hears it once it is back (the outbox
sensor, backing off), each event once unless replayed — and then with the same event id."""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
from sqlalchemy import update

from resources.models import VideoProject, WebhookEvent
from resources.repository import outbox, rows
from resources.webhooks import WebhookResource
from sensors.webhook_outbox import webhook_outbox_sensor
from studio_assets.app import status
from tests.support.dagster_processes import free_port
from tests.support.projects import make_project, run
from tests.support.studio_fixtures import Studio
from tests.support.webhook_receiver import SECRET, listening


def tick(studio: Studio) -> dg.SkipReason:
    """One evaluation of the outbox sensor, as the daemon runs it."""
    context = dg.build_sensor_context(instance=studio.instance, resources=studio.resources())
    result = webhook_outbox_sensor(context)
    assert isinstance(result, dg.SkipReason)
    return result


def time_passes(studio: Studio) -> None:
    """The backoff's wait is over (rather than sleeping through 30 s)."""
    with studio.db.session() as session:
        session.execute(update(WebhookEvent).values(next_attempt_at=outbox.now()))


def events_of(studio: Studio, row_id: str) -> list[WebhookEvent]:
    with studio.db.session() as session:
        return outbox.events(session, row_id)


def test_a_receiver_down_when_the_project_ends_hears_it_once_it_is_back(
    studio: Studio, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/studio"
    studio.webhooks = WebhookResource(url=url, secret=SECRET, attempts=1)
    project_id = make_project(studio, rooms=("exterior", "kitchen"), seamless=())

    assert run(studio, project_id).success
    for thread in threading.enumerate():
        if thread.name == f"studio-webhook-{project_id}":
            thread.join(timeout=30)  # the run's own attempt, made at once
    (event,) = events_of(studio, project_id)
    assert (event.event, event.status, event.attempts) == ("video.completed", "pending", 1)
    assert event.last_error and "Connect" in event.last_error
    with studio.db.session() as session:
        made = rows.get(session, VideoProject, project_id)
        assert event.payload["final_video_url"] == made.final_video_url
        assert event.payload["submission"] == made.submission

    tick(studio)  # still backing off: nobody is asked
    assert events_of(studio, project_id)[0].attempts == 1

    time_passes(studio)
    tick(studio)  # still down: the next wait is longer
    down = events_of(studio, project_id)[0]
    assert (down.status, down.attempts) == ("pending", 2)
    assert down.next_attempt_at.replace(tzinfo=None) > outbox.now().replace(tzinfo=None)

    with listening(port) as receiver:  # back
        time_passes(studio)
        assert "delivered 1" in (tick(studio).skip_message or "")
        (got,) = receiver.wait_for(1)
        assert (got["event"], got["id"], got["event_id"]) == (
            "video.completed",
            project_id,
            event.id,
        )
        time_passes(studio)
        tick(studio)  # delivered: never sent again by the sensor
        assert len(receiver.received) == 1 and receiver.attempts == 1
        shown = status.video_status(studio.db, studio.storage, project_id)["webhooks"]
        assert [(e["event_id"], e["status"], e["attempts"]) for e in shown] == [
            (event.id, "delivered", 3)
        ]

        with studio.db.session() as session:
            assert outbox.replay(session, project_id) == [event.id]
        tick(studio)
        again = receiver.wait_for(2)
        assert again[1]["event_id"] == again[0]["event_id"]  # a duplicate the receiver can drop
