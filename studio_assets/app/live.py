"""Live progress for the app: each row's feed (`resources.repository.feed`) streamed as
Server-Sent Events, to whoever holds that row's token.

`GET /v1/events/{row_id}` with `Authorization: Bearer <token>` (or `?token=`; EventSource
cannot send headers) streams the row's events from the start — or after `Last-Event-ID`
(or `?last_event_id=`), so a client that reconnects misses nothing — then each new one as it is
committed: on Postgres the commit's NOTIFY wakes the stream at once, on SQLite it looks every
`poll_s`. Each SSE event's id is the feed's id, its type `progress`, `clip`, `transition` or
`status`, its data the event's JSON (storage URIs turned into links). A token is signed with
the events secret (`STUDIO_EVENTS_SECRET`, or a key kept in the home), names one row and
expires; a token of another row, expired, or forged is refused (401 / 403), as is a row that
does not exist (404).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from resources.database import AppDatabase
from resources.errors import NotFound, StudioError
from resources.repository import feed, rows
from resources.storage import StorageResource

SALT = "studio-events-v1"
DEFAULT_TTL_S = 3600
PAGE = Path(__file__).with_name("live_page.html")


def events_secret(home: Path, configured: str = "") -> str:
    """The secret tokens are signed with: `configured` (STUDIO_EVENTS_SECRET), else a random
    key kept in `home/events.key` (made once, readable by its owner only)."""
    if configured.strip():
        return configured
    key = home / "events.key"
    if not key.is_file():
        home.mkdir(parents=True, exist_ok=True)
        key.touch(mode=0o600)
        key.write_text(secrets.token_urlsafe(32))
    return key.read_text().strip()


@dataclass(frozen=True)
class Token:
    row_id: str
    expires_at: float


def issue_token(secret: str, row_id: str, ttl_s: int = DEFAULT_TTL_S) -> tuple[str, float]:
    """A token that lets its holder follow `row_id` (and nothing else) for `ttl_s` seconds."""
    if ttl_s <= 0:
        raise StudioError(f"a token lives a positive number of seconds, not {ttl_s}")
    expires = time.time() + ttl_s
    token = URLSafeSerializer(secret, salt=SALT).dumps({"row": row_id, "exp": expires})
    return str(token), expires


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def check_token(secret: str, token: str | None, row_id: str) -> Token:
    if not token:
        raise Refused(401, "a token is required (Authorization: Bearer …, or ?token=)")
    try:
        claims = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        raise Refused(401, "the token is not valid") from None
    if not isinstance(claims, dict) or claims.get("row") != row_id:
        raise Refused(403, f"the token is not for {row_id}")
    if float(claims.get("exp", 0)) < time.time():
        raise Refused(401, "the token has expired: ask for a new one")
    return Token(row_id, float(claims["exp"]))


def live_app(
    db: AppDatabase, storage: StorageResource, secret: str, poll_s: float = 0.5
) -> Starlette:
    """The ASGI app `studio events serve` runs."""

    async def stream(request: Request) -> Response:
        row_id = request.path_params["row_id"]
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.query_params.get("token")
        try:
            check_token(secret, token, row_id)
            await asyncio.to_thread(_exists, db, row_id)
        except Refused as refused:
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        except NotFound as missing:
            return JSONResponse({"error": str(missing)}, status_code=404)
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        try:
            after = int(last or 0)
        except ValueError:
            return JSONResponse({"error": f"Last-Event-ID {last!r} is not an event id"}, 400)
        return EventSourceResponse(_events(db, storage, row_id, after, poll_s), ping=15)

    async def page(request: Request) -> Response:
        return FileResponse(PAGE, media_type="text/html")

    return Starlette(
        routes=[Route("/v1/events/{row_id}", stream), Route("/", page)],
    )


def _exists(db: AppDatabase, row_id: str) -> None:
    with db.session() as session:
        rows.find_kind(session, row_id)


async def _events(
    db: AppDatabase, storage: StorageResource, row_id: str, after: int, poll_s: float
) -> AsyncIterator[ServerSentEvent]:
    """The row's events after `after`, then each new one as it is committed."""
    async with _wakeups(db, row_id) as woken:
        while True:
            woken.clear()
            for event in await asyncio.to_thread(_read, db, storage, row_id, after):
                after = event["id"]
                yield ServerSentEvent(
                    data=json.dumps(event["data"]), event=event["event"], id=str(event["id"])
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=poll_s if woken.polling else 5.0)


def _read(db: AppDatabase, storage: StorageResource, row_id: str, after: int) -> list[Any]:
    with db.session() as session:
        return [
            {"id": e.id, "event": e.event, "data": _linked(storage, e.data)}
            for e in feed.after(session, row_id, after)
        ]


def _linked(storage: StorageResource, data: dict[str, Any]) -> dict[str, Any]:
    """An event's data with its storage URI (a clip's `url`) as a link the app can open."""
    if isinstance(data.get("url"), str):
        return data | {"url": storage.downloadable_url(data["url"])}
    return data


class _Wakeup(asyncio.Event):
    polling: bool = True


@contextlib.asynccontextmanager
async def _wakeups(db: AppDatabase, row_id: str) -> AsyncIterator[_Wakeup]:
    """Set whenever a commit NOTIFYs the feed's channel for `row_id` (Postgres); on SQLite
    never set — the stream looks every `poll_s` instead."""
    woken = _Wakeup()
    url = db.url if isinstance(db.url, str) else str(db.url)
    if not url.startswith("postgresql"):
        yield woken
        return
    import psycopg

    conn = await psycopg.AsyncConnection.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )
    await conn.execute(f"LISTEN {feed.CHANNEL}")

    async def listen() -> None:
        async for notice in conn.notifies():
            if notice.payload == row_id:
                woken.set()

    listener = asyncio.create_task(listen())
    woken.polling = False
    try:
        yield woken
    finally:
        listener.cancel()
        with contextlib.suppress(BaseException):
            await listener
        await conn.close()
