"""Signed webhooks: a real receiver checks the signature; once per transition; never blocking."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from resources.errors import StudioError
from resources.models import ImageGeneration
from resources.repository import outbox, rows
from resources.repository.outbox import event_id
from resources.webhooks import WebhookResource, refuse_unsigned, sign
from sensors.run_status import run_failed_sensor
from studio_assets.app import control, submission
from studio_assets.app.samples import room_photo
from studio_assets.assets.images import enhanced_image
from studio_assets.definitions import build_defs, build_webhooks
from studio_assets.domain.validation import EnhanceSpec
from studio_assets.runtime.notifications import notify
from studio_assets.settings import load_settings
from tests.pipeline.test_cli import STUDIO
from tests.support.studio_fixtures import Studio
from tests.support.webhook_receiver import SECRET, Receiver

LOG = logging.getLogger("tests.webhooks")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/studio"


def submit(studio: Studio) -> str:
    photo = room_photo(studio.tmp / "kitchen.jpg", "kitchen", (320, 180))
    return submission.submit_enhance(
        studio.db, studio.storage, EnhanceSpec(image=str(photo), room_type="kitchen")
    )


def row(studio: Studio, image_id: str) -> ImageGeneration:
    with studio.db.session() as session:
        return rows.get(session, ImageGeneration, image_id)


def webhook_threads(image_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"studio-webhook-{image_id}"]


def join_deliveries(image_id: str) -> None:
    for thread in webhook_threads(image_id):
        thread.join(timeout=60)
        assert not thread.is_alive()


def events_of(studio: Studio, row_id: str) -> list[Any]:
    with studio.db.session() as session:
        return outbox.events(session, row_id)


def test_a_completed_image_posts_a_signed_event_with_its_result(
    studio: Studio, receiver: Receiver
) -> None:
    studio.webhooks = WebhookResource(url=receiver.url, secret=SECRET)
    image_id = submit(studio)

    assert studio.materialize([enhanced_image], "images", image_id).success

    (event,) = receiver.wait_for(1)
    done = row(studio, image_id)
    assert receiver.attempts == 1  # signature accepted on the first try
    assert event["event"] == "image.completed"
    assert (event["id"], event["status"]) == (image_id, "completed")
    assert event["result_image_url"] == done.result_image_url
    assert (event["cost"], event["error"], event["duration_seconds"]) == (0, None, None)
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
    (sent,) = events_of(studio, image_id)
    assert (sent.id, sent.status, sent.attempts) == (event["event_id"], "delivered", 1)


def test_a_tampered_body_is_rejected_by_the_receiver(receiver: Receiver) -> None:
    body = json.dumps({"event": "video.completed", "id": "vp_1", "cost": 120}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Studio-Timestamp": timestamp, "X-Studio-Signature": sign(SECRET, timestamp, body)}
    tampered = body.replace(b"120", b"121")

    assert httpx.post(receiver.url, content=tampered, headers=headers).status_code == 401
    assert httpx.post(receiver.url, content=body, headers=headers).status_code == 200
    assert sign("other", timestamp, body) != headers["X-Studio-Signature"]


def test_a_receiver_that_is_down_does_not_delay_completion(sqlite_studio: Studio) -> None:
    """The run ends (the row completed) while its webhook is still being retried on a thread
    of its own; the event stays pending in the outbox for the sensor."""
    studio = sqlite_studio
    studio.webhooks = WebhookResource(url=closed_port_url(), secret=SECRET)  # backoff 7.5 s
    image_id = submit(studio)

    assert studio.materialize([enhanced_image], "images", image_id).success

    assert row(studio, image_id).status == "completed"
    (thread,) = webhook_threads(image_id)
    assert thread.is_alive()  # still retrying after the run finished
    join_deliveries(image_id)
    (event,) = events_of(studio, image_id)
    assert (event.status, event.attempts, event.last_error) == ("pending", 1, "ConnectError")


def test_one_post_per_terminal_transition_and_again_after_a_retry(
    sqlite_studio: Studio, receiver: Receiver
) -> None:
    studio = sqlite_studio
    image_id = submit(studio)
    with studio.db.session() as session:
        rows.start(session, ImageGeneration, image_id, "run-1", "processing")
        rows.fail(session, ImageGeneration, image_id, "Provider said no")
    hooks = WebhookResource(url=receiver.url, secret=SECRET)

    # The asset and the run-failure sensor both see the failure: one POST.
    assert notify(studio.db, hooks, "image", image_id, LOG, background=False) is True
    assert notify(studio.db, hooks, "image", image_id, LOG, background=False) is False
    (failed,) = receiver.wait_for(1)
    assert (failed["event"], failed["error"]) == ("image.failed", "Provider said no")

    with studio.db.session() as session:  # `studio retry`: a new submission
        rows.queue(session, ImageGeneration, image_id)
    studio.webhooks = hooks
    assert studio.materialize([enhanced_image], "images", image_id).success
    join_deliveries(image_id)
    assert notify(studio.db, hooks, "image", image_id, LOG, background=False) is False

    events = receiver.received
    assert [e["event"] for e in events] == ["image.failed", "image.completed"]
    assert [e["submission"] for e in events] == [1, 2]
    assert events[0]["event_id"] != events[1]["event_id"]
    assert events[1]["event_id"] == event_id(image_id, "image.completed", 2)
    assert receiver.attempts == 2  # every delivery joined: nothing else was posted
    assert {(e.status, e.attempts) for e in events_of(studio, image_id)} == {("delivered", 1)}


def test_a_failure_seen_by_the_asset_and_the_run_failure_sensor_posts_once(
    sqlite_studio: Studio, receiver: Receiver
) -> None:
    studio = sqlite_studio
    studio.webhooks = WebhookResource(url=receiver.url, secret=SECRET)
    image_id = submit(studio)
    with studio.db.session() as session:  # the photo is gone: bad input, failed by the asset
        rows.get(session, ImageGeneration, image_id).original_image_url += ".missing"

    result = studio.materialize([enhanced_image], "images", image_id)
    assert not result.success
    join_deliveries(image_id)
    run = studio.instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = studio.instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failed_sensor",
        dagster_instance=studio.instance,
        dagster_run=run,
        dagster_event=failure[0].dagster_event,
        resources=studio.resources(),
    ).for_run_failure()
    run_failed_sensor(context)

    (event,) = receiver.received  # the sensor delivers in the foreground: it is done
    assert (event["event"], event["id"]) == ("image.failed", image_id)
    assert event["error"] == row(studio, image_id).error_message
    assert receiver.attempts == 1


def test_studio_cancel_posts_the_canceled_event_once(
    sqlite_studio: Studio, receiver: Receiver
) -> None:
    studio = sqlite_studio
    webhooks = WebhookResource(url=receiver.url, secret=SECRET)
    image_id = submit(studio)  # queued, no run yet

    control.cancel(studio.db, studio.provider, studio.instance, image_id, webhooks)

    (event,) = receiver.received  # cancel delivers in the foreground
    assert (event["event"], event["id"]) == ("image.canceled", image_id)
    assert not notify(studio.db, webhooks, "image", image_id, LOG)  # already sent
    assert receiver.attempts == 1 and not webhook_threads(image_id)


def test_attempts_are_bounded_logged_and_never_show_the_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 503
    hooks = WebhookResource(url=receiver.url + "?token=t0ken", secret=SECRET, base_delay_s=0.01)

    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert hooks.deliver({"event": "video.failed", "id": "vp_1"}, LOG) is False

    assert receiver.attempts == 5
    attempts = [r.getMessage() for r in caplog.records if " attempt " in r.getMessage()]
    assert [m.split(" attempt ")[1].split(" ")[0] for m in attempts] == [
        f"{n}/5" for n in range(1, 6)
    ]
    assert all(m.endswith("/hooks/studio → 503") for m in attempts)
    assert SECRET not in caplog.text and "t0ken" not in caplog.text


def test_a_rejected_signature_is_not_retried_and_no_url_is_a_no_op(receiver: Receiver) -> None:
    wrong = WebhookResource(url=receiver.url, secret="wrong", base_delay_s=0.01)
    assert wrong.deliver({"event": "image.failed", "id": "img_1"}, LOG) is False
    assert receiver.attempts == 1  # 401 is final: retrying cannot fix a bad secret
    assert WebhookResource().deliver({"event": "image.failed"}, LOG) is False
    assert WebhookResource().send({"event": "image.failed"}, LOG) == "no STUDIO_WEBHOOK_URL"


def test_the_secret_and_url_come_from_the_environment_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dagit shows resource config: the secret and the URL (which may carry a token) are
    EnvVars there, resolved only inside a run."""
    url = {"STUDIO_WEBHOOK_URL": "https://app.example/hooks?token=t0k3n"}
    assert build_webhooks(load_settings({})).secret == ""
    assert build_webhooks(load_settings({})).url == ""
    monkeypatch.setenv("STUDIO_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STUDIO_WEBHOOK_URL", url["STUDIO_WEBHOOK_URL"])
    hooks = build_webhooks(load_settings({**url, "STUDIO_WEBHOOK_SECRET": SECRET}))
    assert isinstance(hooks.secret, dg.EnvVar) and isinstance(hooks.url, dg.EnvVar)
    with dg.build_resources({"webhooks": hooks}) as resources:
        assert resources.webhooks.secret == SECRET
        assert resources.webhooks.url == url["STUDIO_WEBHOOK_URL"]


def test_the_app_db_url_reaches_the_resource_as_an_env_var(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_url = "postgresql+psycopg://studio:pa55word@db.internal/studio"
    monkeypatch.setenv("STUDIO_DATABASE_URL", secret_url)
    defs = build_defs(
        load_settings({"STUDIO_HOME": str(tmp_path), "STUDIO_DATABASE_URL": secret_url})
    )
    assert isinstance(defs.resources["app_db"].url, dg.EnvVar)
    embedded = build_defs(load_settings({"STUDIO_HOME": str(tmp_path)}))
    assert embedded.resources["app_db"].url.startswith("sqlite:///")  # nothing secret in it


def test_a_webhook_url_without_a_secret_is_refused_at_start() -> None:
    """No HMAC with an empty key: Definitions load, the resource and the CLI all refuse it."""
    unsigned = {"STUDIO_WEBHOOK_URL": "https://app.example/hooks"}
    with pytest.raises(ValueError, match="STUDIO_WEBHOOK_SECRET is not"):
        build_defs(load_settings(unsigned))
    with pytest.raises(ValueError, match="STUDIO_WEBHOOK_SECRET is not"):
        WebhookResource(url="https://app.example/hooks", secret="  ")
    with pytest.raises(StudioError, match="STUDIO_WEBHOOK_SECRET is not"):
        refuse_unsigned(unsigned["STUDIO_WEBHOOK_URL"], "")
    refuse_unsigned("", "")
    done = subprocess.run(
        [STUDIO, "status", "vp_nothing"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin", "STUDIO_WEBHOOK_URL": "https://app.example/hooks"},
        cwd=tempfile.mkdtemp(),
    )
    assert done.returncode != 0 and "STUDIO_WEBHOOK_SECRET is not" in done.stderr
    assert "Traceback" not in done.stderr


def test_each_event_carries_a_stable_event_id_and_the_submission() -> None:
    first = event_id("vp_1", "video.completed", 1)
    assert first == event_id("vp_1", "video.completed", 1), "re-deliveries share the id"
    assert (
        len({first, event_id("vp_1", "video.failed", 1), event_id("vp_1", "video.completed", 2)})
        == 3
    )


def test_a_re_delivery_carries_the_same_event_id_and_the_submission(
    sqlite_studio: Studio, receiver: Receiver
) -> None:
    """The receiver dedupes on event_id: a 503 then a 200 are two deliveries of one event."""
    studio = sqlite_studio
    receiver.fail_first = 1
    webhooks = WebhookResource(url=receiver.url, secret=SECRET, base_delay_s=0.01)
    image_id = submit(studio)

    control.cancel(studio.db, studio.provider, studio.instance, image_id, webhooks)

    (event,) = receiver.wait_for(1)
    first, second = receiver.bodies
    assert first["event_id"] == second["event_id"] == event["event_id"]
    assert event["event_id"] == event_id(image_id, "image.canceled", 1)
    assert first["submission"] == second["submission"] == 1


def test_the_documented_receiver_snippet_verifies_a_real_delivery() -> None:
    """docs/architecture.md's `verify` accepts studio's signature, refuses a stale or forged one."""
    doc = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(textwrap.dedent(snippet), scope)  # noqa: S102 - our own documentation
    body = json.dumps({"event": "video.completed", "event_id": "evt_1"}).encode()
    now = str(int(time.time()))
    assert scope["verify"](SECRET.encode(), now, body, sign(SECRET, now, body))
    assert not scope["verify"](SECRET.encode(), now, body, sign("wrong", now, body))
    stale = str(int(time.time()) - 301)
    assert not scope["verify"](SECRET.encode(), stale, body, sign(SECRET, stale, body))
