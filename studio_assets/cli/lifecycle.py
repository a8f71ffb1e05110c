"""A project's life after it is made: `studio delete` (and `studio edit`)."""

from __future__ import annotations

from typing import Annotated

import typer

from studio_assets.app import deleting
from studio_assets.cli.output import emit, err_console, plural
from studio_assets.cli.wiring import Wiring

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]


def delete(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    cancel: Annotated[
        bool, typer.Option("--cancel", help="Cancel it first if it is queued or running")
    ] = False,
    with_newer: Annotated[
        bool, typer.Option("--with-newer", help="An image: delete its newer versions too")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete the item's rows and every stored object it owns: originals, results, every
    version, renditions, thumbnails, captions, previews, ZIPs (an input another item reads, and
    the shared music library, are kept). Refused while it is queued or running, unless
    --cancel; an image with newer versions needs --with-newer."""
    with Wiring.guard(existing=True) as wiring:
        if cancel:
            deleting.cancel_first(
                wiring.db, wiring.provider, wiring.instance, wiring.webhooks, row_id
            )
        ids = deleting.owned_ids(wiring.db, row_id, with_newer)
        done = deleting.delete_item(wiring.db, wiring.storage, row_id, with_newer)
        deleting.forget_partitions(wiring.instance, ids)
        err_console.print(
            f"deleted {row_id}: {plural(done.rows, 'row')} and "
            f"{plural(done.objects, 'stored object')}",
            highlight=False,
        )
        emit({"id": row_id, "deleted": True, "rows": ids, "objects": done.objects}, as_json)
