"""`studio webhooks`: the outbox of webhook events — listed, and replayed."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from resources.errors import NotFound, StudioError
from resources.repository import outbox
from studio_assets.app.events import event_json
from studio_assets.cli.output import emit, err_console, plural
from studio_assets.cli.wiring import Wiring
from studio_assets.runtime.notifications import deliver

webhooks_app = typer.Typer(
    help="Webhook events: each terminal transition, delivered at least once.",
    no_args_is_help=True,
)
LOG = logging.getLogger("studio.webhooks")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]


@webhooks_app.command("list")
def list_events(
    row_id: Annotated[str | None, typer.Argument(help="Only this row's events")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or failed")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest events (100 at most) and whether each was delivered."""
    if status is not None and status not in {s.value for s in outbox.EventStatus}:
        raise typer.BadParameter(
            f"{status!r}: give pending, delivered or failed", param_hint="--status"
        )
    with Wiring.guard(existing=True) as wiring:
        with wiring.db.session() as session:
            listed = [event_json(e) for e in outbox.events(session, row_id, status)]
        if as_json:
            emit({"events": listed}, True)
            return
        for e in listed:
            typer.echo(
                f"{e['event_id']}  {e['event']:<24} {e['row_id']:<22} {e['status']:<9} "
                f"{plural(e['attempts'], 'attempt')}  {e['last_error'] or ''}"
            )


@webhooks_app.command("replay")
def replay(
    key: Annotated[str, typer.Argument(help="An event id (evt_…), or a row id: all its events")],
    as_json: JsonFlag = False,
) -> None:
    """Send events again now, with the same event ids (receivers drop duplicates by them)."""
    with Wiring.guard(existing=True) as wiring:
        with wiring.db.session() as session:
            replayed = outbox.replay(session, key)
        if not replayed:
            raise NotFound(f"no webhook event {key!r}, and no row with events of that id")
        if not wiring.webhooks.enabled:
            raise StudioError(
                f"{plural(len(replayed), 'event')} marked to send again, but STUDIO_WEBHOOK_URL "
                "is not set: the daemon sends them once it is"
            )
        sent = deliver(wiring.db, wiring.webhooks, replayed, LOG)
        err_console.print(
            f"replayed {plural(len(replayed), 'event')}: {sent} delivered now", highlight=False
        )
        with wiring.db.session() as session:
            listed = [event_json(e) for e in outbox.events(session) if e.id in replayed]
        emit({"events": listed}, as_json)
