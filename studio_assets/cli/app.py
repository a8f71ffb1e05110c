"""The `studio` command line (DESIGN.md §3.4)."""

from __future__ import annotations

import os
import time
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from resources.errors import StudioError
from resources.webhooks import refuse_unsigned
from studio_assets.app import control
from studio_assets.app.demo import demo_spec
from studio_assets.app.instance import ensure_dagster_home
from studio_assets.cli import catalog, images, lifecycle, serving
from studio_assets.cli.events import events_app
from studio_assets.cli.images import images_app
from studio_assets.cli.output import (
    DONE,
    RESTING,
    emit,
    err_console,
    fail,
    plural,
    poller,
    progress_bar,
)
from studio_assets.cli.reporting import report_or_run, run_and_report
from studio_assets.cli.watching import draft_note, queue_note
from studio_assets.cli.webhooks import webhooks_app
from studio_assets.cli.wiring import Wiring, read_spec
from studio_assets.domain.rooms import ROOM_TYPES, STYLES

app = typer.Typer(
    help="studio: AI media for real-estate listings, on Dagster.",
    epilog=f"Room types: {', '.join(ROOM_TYPES)}.\n\nStyles: {', '.join(STYLES)}.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
image_app = typer.Typer(help="Enhance or inpaint photos.", no_args_is_help=True)
db_app = typer.Typer(help="The app database.", no_args_is_help=True)
app.add_typer(image_app, name="image")
app.add_typer(images_app, name="images")
app.add_typer(db_app, name="db")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(events_app, name="events")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]
ROOMS_HELP = ", ".join(ROOM_TYPES)
STYLES_HELP = ", ".join(STYLES)


def studio_version() -> str:
    """The installed package's version (pyproject.toml)."""
    try:
        return metadata.version("studio")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"studio {studio_version()}")
        raise typer.Exit()


@app.callback()
def refuse_unsafe_environment(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """studio: AI media for real-estate listings, on Dagster."""
    try:
        refuse_unsigned(
            os.environ.get("STUDIO_WEBHOOK_URL", ""), os.environ.get("STUDIO_WEBHOOK_SECRET", "")
        )
    except StudioError as exc:
        fail(str(exc))


@image_app.command("enhance")
def image_enhance(
    path: Annotated[str, typer.Argument(help="Photo path or URL (file://, s3://, https://)")],
    room: Annotated[str, typer.Option("--room", help=f"Room type: {ROOMS_HELP}")] = "other",
    style: Annotated[str, typer.Option("--style", help=f"Style: {STYLES_HELP}")] = "natural",
    prompt: Annotated[str | None, typer.Option("--prompt", help="A full prompt instead")] = None,
    workspace: Annotated[str, typer.Option("--workspace")] = "ws_default",
    wait: Annotated[bool, typer.Option("--wait", help="Run it now, in this process")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Submit an enhancement (and with --wait, run it)."""
    with Wiring.guard() as wiring:
        image_id = wiring.submit_enhance(
            dict(image=path, room_type=room, style=style, prompt=prompt, workspace_id=workspace)
        )
        report_or_run(wiring, image_id, wait, as_json)


@image_app.command("inpaint")
def image_inpaint(
    path: Annotated[str, typer.Argument(help="Photo path or URL, or an earlier image id")],
    mask: Annotated[str, typer.Option("--mask", help="Mask image: white = area to change")],
    mode: Annotated[str, typer.Option("--mode", help="remove | add")],
    prompt: Annotated[str | None, typer.Option("--prompt", help="What to add")] = None,
    workspace: Annotated[str, typer.Option("--workspace")] = "ws_default",
    replace_newer: Annotated[
        bool,
        typer.Option(
            "--replace-newer",
            help="Editing an earlier version (img_…): delete the versions made after it",
        ),
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Run it now, in this process")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Submit an inpainting edit, a new version of the photo (and with --wait, run it)."""
    with Wiring.guard() as wiring:
        image_id = wiring.submit_inpaint(
            dict(image=path, mask=mask, mode=mode, prompt=prompt, workspace_id=workspace),
            replace_newer=replace_newer,
        )
        report_or_run(wiring, image_id, wait, as_json)


@app.command("submit")
def submit(
    spec_path: Annotated[
        Path,
        typer.Argument(
            help="Spec JSON: a video project (`clips`), an image project (`photos`), or one "
            "enhancement (`image`) or inpainting (`image` + `mask`); relative paths are read "
            "from the spec's folder"
        ),
    ],
    draft: Annotated[
        bool, typer.Option("--draft", help="Leave it draft (launch it over GraphQL or from Dagit)")
    ] = False,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="A video: render it all free on the offline engine first, then "
            "`studio approve` buys it",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Validate a spec, write its rows and queue it for the sensor.

    The spec is a video project (`clips`), an image project (`photos`), one enhancement
    (`image`) or one inpainting (`image` + `mask`); relative paths in it are read from the spec
    file's folder. Room types: `studio rooms`.
    """
    with Wiring.guard() as wiring:
        data = read_spec(spec_path)
        if preview:
            if "clips" not in data:
                fail("--preview is for video projects (a spec with `clips`)")
            data["preview"] = True
        if "photos" in data and "clips" not in data:
            row_id = wiring.submit_image_project(data, draft=draft)
        elif "clips" not in data and "mask" in data:
            row_id = wiring.submit_inpaint(data, draft=draft)
        elif "clips" not in data and "image" in data:
            row_id = wiring.submit_enhance(data, draft=draft)
        else:
            row_id = wiring.submit_project(data, draft=draft)
        emit(wiring.status(row_id), as_json)


app.command("rooms")(catalog.rooms)
app.command("styles")(catalog.styles)
app.command("templates")(catalog.templates)
app.command("voices")(catalog.voices)
image_app.command("download")(images.download_version)
app.command("edit")(lifecycle.edit)
app.command("delete")(lifecycle.delete)


@app.command("demo")
def demo(as_json: JsonFlag = False) -> None:
    """Generate sample rooms and music, then make a 4-room property video on this machine."""
    with Wiring.guard() as wiring:
        started = time.monotonic()
        spec = demo_spec(wiring.settings.home / "demo")
        project_id = wiring.submit_project(spec)
        status = run_and_report(wiring, project_id, as_json)
        status["elapsed_seconds"] = round(time.monotonic() - started, 1)
        if not as_json and status["output"]:
            output = status["output"]
            err_console.print(
                f"[bold green]video:[/] {output['video_url']}\n"
                f"duration {output['duration_seconds']} s · cost "
                f"{status['cost']['actual_cents']} ¢ · "
                f"{status['elapsed_seconds']} s",
                highlight=False,
            )
        emit(status, as_json)
        if status["status"] not in DONE:
            raise typer.Exit(1)


@app.command("run")
def run(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    force: Annotated[bool, typer.Option("--force", help="Buy finished work again")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Materialize the row's partition in this process (no daemon needed)."""
    with Wiring.guard(existing=True) as wiring:
        config = wiring.force_config(row_id) if force else None
        status = run_and_report(wiring, row_id, as_json, run_config=config)
        emit(status, as_json)
        if status["status"] not in DONE:
            raise typer.Exit(1)


@app.command("status")
def status(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    watch: Annotated[bool, typer.Option("--watch", help="Follow until it ends")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the status JSON; --watch draws a live progress bar until a terminal status."""
    with Wiring.guard(existing=True) as wiring:
        current = wiring.status(row_id)
        if watch and (note := draft_note(current)):
            err_console.print(f"[yellow]{note}[/]", highlight=False)
        elif watch:
            with progress_bar(True) as progress:
                poll = poller(progress, lambda: wiring.status(row_id))
                said = None
                while current["status"] not in RESTING:
                    poll()
                    note = queue_note(wiring.db, wiring.instance, current)
                    if note and note.split(";")[1] != said:  # once per change of diagnosis
                        progress.console.print(f"[yellow]{note}[/]", highlight=False)
                        said = note.split(";")[1]
                    time.sleep(1.0)
                    current = wiring.status(row_id)
                poll()
        emit(current, as_json)


@app.command("launch")
def launch(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    url: Annotated[str, typer.Option("--url", help="Dagster webserver")] = (
        "http://127.0.0.1:3000"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Launch the row's job over Dagster's GraphQL API (add partition + launchRun); an image
    project launches one run per photo not yet done. Prints the run ids."""
    with Wiring.guard(existing=True) as wiring:
        run_ids = wiring.launch(row_id, url)
        if as_json:
            emit(wiring.status(row_id), True)  # the status JSON, with the new run_id
        else:
            typer.echo("\n".join(run_ids))


@app.command("cancel")
def cancel(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    as_json: JsonFlag = False,
) -> None:
    """Stop the run, cancel in-flight provider requests and mark it canceled."""
    with Wiring.guard(existing=True) as wiring:
        canceled = control.cancel(
            wiring.db, wiring.provider, wiring.instance, row_id, wiring.webhooks
        )
        stopped = plural(len(canceled), "provider request")
        err_console.print(f"canceled {row_id} ({stopped} stopped)", highlight=False)
        emit(wiring.status(row_id), as_json)


@app.command("retry")
def retry(
    row_id: Annotated[str, typer.Argument(help="Video project, image or image project id")],
    wait: Annotated[bool, typer.Option("--wait", help="Run it now, in this process")] = (False),
    as_json: JsonFlag = False,
) -> None:
    """Queue a failed or canceled one again; finished clips are reused, not bought again."""
    with Wiring.guard(existing=True) as wiring:
        wiring.retry(row_id)
        report_or_run(wiring, row_id, wait, as_json)


@app.command("approve")
def approve(
    project_id: Annotated[str, typer.Argument(help="A previewed video project id")],
    wait: Annotated[bool, typer.Option("--wait", help="Run it now, in this process")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Buy a previewed project for real: the configured provider makes each clip once and the
    final video is compiled with the preview's plan (cards, renditions, sound)."""
    with Wiring.guard(existing=True) as wiring:
        control.approve(wiring.db, project_id)
        report_or_run(wiring, project_id, wait, as_json)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the app-database migrations (Alembic)."""
    with Wiring.guard(migrate=False) as wiring:
        wiring.db.upgrade()
        err_console.print("app database is up to date")


@app.command("callbacks")
def callbacks(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8787,
) -> None:
    """Receive fal's webhooks (STUDIO_FAL_CALLBACK_URL points here): each one records which
    request a submit bought, so a worker that died before hearing it loses nothing."""
    import uvicorn

    from studio_assets.app.callbacks import callback_app

    with Wiring.guard() as wiring:
        uvicorn.run(callback_app(wiring.storage), host=host, port=port, log_level="warning")


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port")] = 3000,
    host: Annotated[
        str, typer.Option("--host", help="Bind address; Dagit has no login, so keep it local")
    ] = "127.0.0.1",
) -> None:
    """Dagit + the daemon on this project and its persistent Dagster home (the one `studio run`
    records to), on 127.0.0.1; SIGTERM or Ctrl-C stops everything it started."""
    with Wiring.guard() as wiring:
        root = wiring.project_root
        dagster_home = ensure_dagster_home(wiring.settings)
        env = serving.serve_environment(dagster_home, wiring.settings.home)
    err_console.print(
        f"Dagit on http://{host}:{port} · DAGSTER_HOME={dagster_home}",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(serving.supervise(serving.serve_commands(root, host, port), env, root))


def main() -> None:
    try:
        app()
    except StudioError as exc:  # pragma: no cover - guard() reports these
        fail(str(exc))
