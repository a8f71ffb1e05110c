"""Live progress: a run's events streamed as Server-Sent Events (a real uvicorn server, an SSE
client), in order, resumed after a disconnect with no gap, to the holder of the row's token
only — on SQLite (polling) and Postgres (LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_sse import connect_sse

from resources.errors import StudioError
from resources.repository import feed
from studio_assets.app import live
from tests.support.dagster_processes import free_port
from tests.support.projects import make_project, run
from tests.support.studio_fixtures import Studio

SECRET = "events-s3cret"


@contextmanager
def serving(studio: Studio) -> Iterator[str]:
    port = free_port()
    app = live.live_app(studio.db, studio.storage, SECRET, poll_s=0.2)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def read(
    base: str, row_id: str, token: str, last_id: str | None = None, stop_after: int | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    """Events until the row's status is terminal (or `stop_after` of them: a disconnect)."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    seen: list[tuple[int, str, dict[str, Any]]] = []
    url = f"{base}/v1/events/{row_id}"
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=120)) as client,
        connect_sse(client, "GET", url, headers=headers) as source,
    ):
        for sse in source.iter_sse():
            if sse.event not in ("progress", "clip", "transition", "status"):
                continue  # pings
            data = json.loads(sse.data)
            seen.append((int(sse.id), sse.event, data))
            if stop_after is not None and len(seen) >= stop_after:
                break
            if sse.event == "status" and data["status"] in ("completed", "failed"):
                break
    return seen


def test_a_run_is_streamed_in_order_and_resumed_without_a_gap(studio: Studio) -> None:
    project_id = make_project(studio, rooms=("exterior", "kitchen"), seamless=(0,))
    token, _ = live.issue_token(SECRET, project_id, 600)
    with serving(studio) as base:
        running = threading.Thread(target=run, args=(studio, project_id))
        running.start()
        first = read(base, project_id, token, stop_after=4)  # then the client drops
        rest = read(base, project_id, token, last_id=str(first[-1][0]))
        running.join(timeout=300)

    seen = first + rest
    with studio.db.session() as session:
        stored = [(e.id, e.event) for e in feed.after(session, project_id)]
    assert [(i, kind) for i, kind, _ in seen] == stored  # every event, once, in order
    statuses = [data["status"] for _, kind, data in seen if kind == "status"]
    assert statuses[0] == "queued" or statuses[0] == "generating"
    assert statuses[-1] == "completed" and "compiling" in statuses
    assert statuses.index("generating") < statuses.index("compiling")
    progress = [data["progress"] for _, kind, data in seen if kind in ("progress", "status")]
    assert progress == sorted(progress) and progress[-1] == 100
    clips = {data["order"]: data["url"] for _, kind, data in seen if kind == "clip"}
    assert sorted(clips) == [1, 2] and all(url.endswith(".mp4") for url in clips.values())
    assert [kind for _, kind, _ in seen].count("transition") == 1


def test_only_the_rows_own_unexpired_token_is_let_in(studio: Studio) -> None:
    mine = make_project(studio, rooms=("kitchen",), seamless=())
    other = make_project(studio, rooms=("bedroom",), seamless=())
    good, _ = live.issue_token(SECRET, mine, 600)
    with serving(studio) as base:
        url = f"{base}/v1/events/{mine}"

        def status_of(**kwargs: Any) -> tuple[int, str]:
            answer = httpx.get(url, timeout=10, **kwargs)
            return answer.status_code, answer.json()["error"]

        assert status_of() == (401, "a token is required (Authorization: Bearer …, or ?token=)")
        others, _ = live.issue_token(SECRET, other, 600)
        assert status_of(params={"token": others}) == (403, f"the token is not for {mine}")
        forged, _ = live.issue_token("not-the-secret", mine, 600)
        assert status_of(params={"token": forged}) == (401, "the token is not valid")
        expired, _ = live.issue_token(SECRET, mine, 1)
        time.sleep(1.1)
        assert status_of(params={"token": expired})[1] == "the token has expired: ask for a new one"
        ghost, _ = live.issue_token(SECRET, "vp_ghost", 600)
        answer = httpx.get(f"{base}/v1/events/vp_ghost", params={"token": ghost}, timeout=10)
        assert answer.status_code == 404
        # The right token gets the stream: the queued project's first event.
        ((_, kind, data),) = read(base, mine, good, stop_after=1)
        assert (kind, data["status"]) == ("status", "queued")
    with pytest.raises(StudioError, match="positive number of seconds"):
        live.issue_token(SECRET, mine, 0)
