"""`studio images`: image projects — a listing's photos enhanced together, and their ZIP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resources.provider.base import Kind
from studio_assets.app import image_projects, image_versions, zipping
from studio_assets.cli.output import emit, err_console, plural
from studio_assets.cli.wiring import Wiring, read_spec
from studio_assets.domain.image_project_spec import AddedPhotos
from studio_assets.domain.validation import parse_spec

images_app = typer.Typer(
    help="Image projects: a listing's photos enhanced together in one style, and their ZIP.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]


@images_app.command("submit")
def submit(
    spec_path: Annotated[
        Path,
        typer.Argument(
            help='Spec JSON: {"name", "workspace_id", "style", "photos": [{"image", '
            '"room_type", "prompt"?}]} (1–100 photos); relative paths are read from its folder'
        ),
    ],
    draft: Annotated[
        bool, typer.Option("--draft", help="Leave it draft (`studio run` or `studio launch` it)")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Validate an image project, upload its photos and queue each one for the sensor."""
    with Wiring.guard() as wiring:
        project_id = wiring.submit_image_project(read_spec(spec_path), draft=draft)
        emit(wiring.status(project_id), as_json)


@images_app.command("add")
def add(
    project_id: Annotated[str, typer.Argument(help="Image project id (ip_…)")],
    spec_path: Annotated[
        Path,
        typer.Argument(
            help='Photos JSON: {"photos": [{"image", "room_type", "prompt"?}]}; relative '
            "paths are read from its folder"
        ),
    ],
    draft: Annotated[bool, typer.Option("--draft", help="Leave them draft")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add photos to an image project (in its style, after its photos), each checked first;
    queued for the sensor unless --draft."""
    with Wiring.guard(existing=True) as wiring:
        added = parse_spec(AddedPhotos, read_spec(spec_path))
        model = wiring.provider.model_for(Kind.IMAGE_EDIT)
        new = image_projects.add_photos(
            wiring.db, wiring.storage, project_id, added, draft=draft, model=model
        )
        err_console.print(f"added {plural(len(new), 'photo')} to {project_id}", highlight=False)
        emit(wiring.status(project_id), as_json)


def download_version(
    image_id: Annotated[str, typer.Argument(help="Image id (img_…): the photo or any version")],
    version: Annotated[
        int | None, typer.Option("--version", help="Which version of the photo (default: this)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default {name}-v{n}.jpg)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Download one version of a photo alone."""
    with Wiring.guard(existing=True) as wiring:
        row, path = image_versions.download(wiring.db, wiring.storage, image_id, version, output)
        err_console.print(f"wrote {path} (v{row.version}, {row.id})", highlight=False)
        summary = {"id": row.id, "version": row.version, "path": str(path.resolve())}
        emit(summary | {"bytes": path.stat().st_size}, as_json)


@images_app.command("zip")
def zip_photos(
    project_id: Annotated[str, typer.Argument(help="Image project id (ip_…)")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="ZIP file to write (default {project}-{date}.zip)"),
    ] = None,
    store: Annotated[
        bool,
        typer.Option("--store", help="Also store it next to the project (a link for the app)"),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write a ZIP of each photo's latest finished version (`NNN-{name}.{ext}`, in project
    order); photos that never finished are listed in MISSING.txt."""
    with Wiring.guard(existing=True) as wiring:
        archive = zipping.plan(wiring.db, project_id)
        path = (output or Path(zipping.default_file_name(archive.project))).expanduser()
        written = zipping.save_zip(wiring.storage, archive, path)
        stored = None
        if store:
            uri = zipping.upload_zip(wiring.db, wiring.storage, archive.project, path)
            stored = wiring.storage.downloadable_url(uri)
        missing = f", {len(written.missing)} missing (MISSING.txt)" if written.missing else ""
        err_console.print(
            f"wrote {path}: {plural(len(written.entries), 'photo')}{missing}", highlight=False
        )
        if stored:
            err_console.print(f"stored: {stored}", highlight=False)
        summary = {
            "id": project_id,
            "path": str(path.resolve()),
            "bytes": path.stat().st_size,
            "photos": [entry.name for entry in written.entries],
            "missing": written.missing,
            "zip_url": stored,
        }
        if as_json:
            emit(summary, True)
