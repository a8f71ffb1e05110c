"""A project's life after it is made: `studio delete` (and `studio edit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resources.provider.base import Kind
from studio_assets.app import deleting, editing
from studio_assets.cli.output import DONE, emit, err_console, plural
from studio_assets.cli.reporting import run_and_report
from studio_assets.cli.wiring import Wiring, read_spec

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
        items = plural(len(ids), "item")  # the project, image or photo versions themselves
        err_console.print(
            f"deleted {row_id}: {items} and {plural(done.objects, 'stored object')}",
            highlight=False,
        )
        emit({"id": row_id, "deleted": True, "rows": ids, "objects": done.objects}, as_json)


def edit(
    project_id: Annotated[str, typer.Argument(help="A video project id (vp_…)")],
    patch_path: Annotated[
        Path,
        typer.Argument(
            help="Patch JSON in the spec's shape: objects merge (null removes), lists replace; "
            '`clips` is the new list, `{"id": "vc_…"}` keeps a clip, an entry without id adds '
            "one, a clip left out is dropped"
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what the edit would buy; change nothing")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Re-render it now, in this process")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Change a project (listing, branding, music, clips, renditions, narration…) and queue its
    re-render: every clip and transition whose inputs did not change is reused, only what is
    new is bought. The status JSON's `edit` says what it buys; the previous videos stay until
    the new ones are made."""
    with Wiring.guard(existing=True) as wiring:
        provider = wiring.provider
        models = editing.Models(
            video=provider.model_for(Kind.IMAGE_TO_VIDEO),
            speech=provider.model_for(Kind.SPEECH),
            writer=provider.model_for(Kind.SCRIPT),
        )
        done = editing.edit_project(
            wiring.db, wiring.storage, project_id, read_spec(patch_path), models, dry_run
        )
        buys = ", ".join(done.buys) or "nothing new"
        err_console.print(
            f"{'would buy' if dry_run else 'edited; the re-render buys'}: {buys} "
            f"({done.buys_cents} ¢)",
            highlight=False,
        )
        running = wait and not dry_run
        status = (
            run_and_report(wiring, project_id, as_json) if running else wiring.status(project_id)
        )
        if dry_run:  # nothing was stored: the plan alone (a real edit's is the row's `edit`)
            status["edit"] = done.summary()
        status["edit"] = {**status["edit"], "dry_run": dry_run}
        emit(status, as_json)
        if running and status["status"] not in DONE:
            raise typer.Exit(1)
