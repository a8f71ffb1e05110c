"""`studio events`: live progress for the app — a row's token, and the stream that takes it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer

from resources.repository import rows
from studio_assets.app import live
from studio_assets.cli.output import emit, err_console
from studio_assets.cli.wiring import Wiring

events_app = typer.Typer(
    help="Live progress: Server-Sent Events of each row, to the holder of its token.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]
DEFAULT_PORT = 8790


def _secret(wiring: Wiring) -> str:
    return live.events_secret(wiring.settings.home, os.environ.get("STUDIO_EVENTS_SECRET", ""))


@events_app.command("token")
def token(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    ttl: Annotated[int, typer.Option("--ttl", help="Seconds it stays valid")] = live.DEFAULT_TTL_S,
    url: Annotated[str, typer.Option("--url", help="Where `studio events serve` listens")] = (
        f"http://127.0.0.1:{DEFAULT_PORT}"
    ),
    as_json: JsonFlag = False,
) -> None:
    """A token that lets its holder follow this one row's events (nothing else), for --ttl s."""
    with Wiring.guard(existing=True) as wiring:
        with wiring.db.session() as session:
            rows.find_kind(session, row_id)  # NotFound: no token for what does not exist
        signed, expires = live.issue_token(_secret(wiring), row_id, ttl)
        base = url.rstrip("/")
        emit(
            {
                "row_id": row_id,
                "token": signed,
                "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
                "stream_url": f"{base}/v1/events/{row_id}",
                "page_url": f"{base}/?row={row_id}&token={signed}",
            },
            as_json,
        )


@events_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Bind address (tokens guard it)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port")] = DEFAULT_PORT,
) -> None:
    """Stream each row's events as Server-Sent Events (GET /v1/events/{id}, a live page at /)."""
    import uvicorn

    with Wiring.guard() as wiring:
        app = live.live_app(wiring.db, wiring.storage, _secret(wiring))
        err_console.print(f"live events on http://{host}:{port}", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="warning")
