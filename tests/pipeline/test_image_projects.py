"""Image projects: a listing's photos enhanced together, the project following its photos, and
the ZIP of their latest versions — on SQLite and Postgres, local disk and S3."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from resources.errors import InputRejected, StudioError
from resources.models import ImageGeneration, ImageProject
from resources.repository import rows
from resources.repository.image_projects import photos as project_photos
from resources.webhooks import WebhookResource
from studio_assets.app import control, image_projects, submission, zipping
from studio_assets.app.samples import room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.image_project_spec import ImageProjectSpec
from studio_assets.domain.validation import InpaintSpec, parse_spec
from tests.pipeline.test_cli import last_json
from tests.pipeline.test_cli import studio as run_studio
from tests.support.studio_fixtures import Studio
from tests.support.webhook_receiver import SECRET, Receiver

ROOMS = ("exterior", "kitchen", "living-room", "bedroom")


def spec(studio: Studio, rooms: tuple[str, ...] = ROOMS, **extra: Any) -> ImageProjectSpec:
    photos = [
        {
            "image": str(room_photo(studio.tmp / f"IMG_{i:04d}.jpg", room, (480, 270))),
            "room_type": room,
        }
        for i, room in enumerate(rooms)
    ]
    data = {"name": "12 Elm Street", "style": "scandinavian", "photos": photos, **extra}
    return parse_spec(ImageProjectSpec, data)


def submit(studio: Studio, rooms: tuple[str, ...] = ROOMS, draft: bool = False) -> str:
    return image_projects.submit_image_project(
        studio.db, studio.storage, spec(studio, rooms), draft=draft
    )


def project(studio: Studio, project_id: str) -> ImageProject:
    with studio.db.session() as session:
        return rows.get(session, ImageProject, project_id)


def photos(studio: Studio, project_id: str) -> list[ImageGeneration]:
    with studio.db.session() as session:
        return project_photos(session, project_id)


def run_photos(studio: Studio, project_id: str) -> None:
    for photo in photos(studio, project_id):
        studio.materialize([enhanced_image], "images", photo.id)


def zip_of(studio: Studio, project_id: str) -> zipfile.ZipFile:
    out = io.BytesIO()
    zipping.write_zip(studio.storage, zipping.plan(studio.db, project_id), out)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def stored_bytes(studio: Studio, uri: str) -> bytes:
    with studio.storage.open_stream(uri) as src:
        return src.read()


def test_four_photos_end_completed_and_zip_as_their_enhanced_versions(studio: Studio) -> None:
    project_id = submit(studio)
    assert project_id.startswith("ip_")
    queued = project(studio, project_id)
    assert (queued.status, queued.submission, queued.image_count) == ("queued", 1, 4)
    assert [p.status for p in photos(studio, project_id)] == ["queued"] * 4

    run_photos(studio, project_id)

    done = project(studio, project_id)
    assert (done.status, done.completed_count, done.failed_count) == ("completed", 4, 0)
    assert done.finished_at is not None and done.label == "4 of 4 photos enhanced"
    status = image_projects.image_project_status(studio.db, studio.storage, project_id)
    assert status["progress"] == {"completed": 4, "total": 4, "percentage": 100}
    assert [p["status"] for p in status["photos"]] == ["completed"] * 4
    assert [p["name"] for p in status["photos"]] == [f"IMG_{i:04d}" for i in range(4)]
    assert len(status["output"]["image_urls"]) == 4

    archive = zip_of(studio, project_id)
    names = archive.namelist()
    assert names == [f"{i + 1:03d}-IMG_{i:04d}.jpg" for i in range(4)]  # project order
    for name, photo in zip(names, photos(studio, project_id), strict=True):
        assert archive.read(name) == stored_bytes(studio, photo.result_image_url)
        assert archive.read(name) != stored_bytes(studio, photo.original_image_url)


def test_a_failed_photo_fails_the_project_with_its_reason_keeps_the_rest_and_retries(
    studio: Studio,
) -> None:
    project_id = submit(studio, ROOMS[:3])
    broken = photos(studio, project_id)[1]
    original = Path(broken.original_image_url.removeprefix("file://"))
    good = original.read_bytes()
    original.write_bytes(b"\xff\xd8\xff not a photo any more")  # the upload went bad

    run_photos(studio, project_id)

    failed = project(studio, project_id)
    assert (failed.status, failed.completed_count, failed.failed_count) == ("failed", 2, 1)
    assert failed.error_message.startswith("1 of 3 photos failed: photo 2 (kitchen): image is")
    archive = zip_of(studio, project_id)
    assert archive.namelist() == ["001-IMG_0000.jpg", "003-IMG_0002.jpg", "MISSING.txt"]
    assert "002-IMG_0001: failed: image is corrupt" in archive.read("MISSING.txt").decode()

    original.write_bytes(good)
    assert control.retry(studio.db, project_id) == 2  # a new submission of the project
    retried = photos(studio, project_id)
    assert [p.status for p in retried] == ["completed", "queued", "completed"]
    assert project(studio, project_id).status == "queued"
    studio.materialize([enhanced_image], "images", retried[1].id)

    assert project(studio, project_id).status == "completed"
    assert len(zip_of(studio, project_id).namelist()) == 3


def test_one_webhook_when_the_project_ends_none_per_photo(
    studio: Studio, receiver: Receiver
) -> None:
    studio.webhooks = WebhookResource(url=receiver.url, secret=SECRET)
    project_id = submit(studio, ROOMS[:3])

    run_photos(studio, project_id)

    events = receiver.wait_for(1)
    assert [e["event"] for e in events] == ["image_project.completed"]
    event = events[0]
    assert (event["id"], event["submission"], event["completed_count"]) == (project_id, 1, 3)
    assert [i["status"] for i in event["images"]] == ["completed"] * 3
    assert all(i["result_image_url"].startswith("file://") for i in event["images"])
    receiver.wait_for(2, timeout_s=1.0)
    assert len(receiver.received) == 1


def test_an_edit_of_a_project_photo_stays_in_the_project_and_becomes_its_zip_entry(
    studio: Studio,
) -> None:
    project_id = submit(studio, ROOMS[:2])
    run_photos(studio, project_id)
    first = photos(studio, project_id)[0]
    mask, drawn = studio.tmp / "mask.png", Image.new("L", (480, 270))
    ImageDraw.Draw(drawn).ellipse((200, 100, 260, 160), fill=255)  # white = the area to fill
    drawn.save(mask)
    edit_id = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=first.id, mask=str(mask), mode="remove")
    )
    studio.materialize([inpainted_image], "image_edits", edit_id)

    with studio.db.session() as session:
        edit = rows.get(session, ImageGeneration, edit_id)
    assert (edit.image_project_id, edit.project_order, edit.version) == (project_id, 0, 2)
    assert project(studio, project_id).status == "completed"  # the project is its photos
    archive = zip_of(studio, project_id)
    assert archive.read("001-IMG_0000.jpg") == stored_bytes(studio, edit.result_image_url)
    assert len(photos(studio, project_id)) == 2


def test_cancel_ends_every_waiting_photo_and_the_project_with_one_webhook(
    studio: Studio, receiver: Receiver
) -> None:
    studio.webhooks = WebhookResource(url=receiver.url, secret=SECRET)
    project_id = submit(studio, ROOMS[:3])
    studio.materialize([enhanced_image], "images", photos(studio, project_id)[0].id)

    control.cancel(studio.db, studio.provider, studio.instance, project_id, studio.webhooks)

    assert [p.status for p in photos(studio, project_id)] == ["completed", "canceled", "canceled"]
    canceled = project(studio, project_id)
    assert (canceled.status, canceled.label) == ("canceled", "Canceled (1 of 3 photos enhanced)")
    assert [e["event"] for e in receiver.wait_for(1)] == ["image_project.canceled"]
    with pytest.raises(StudioError, match="none of its photos is queued or running"):
        control.cancel(studio.db, studio.provider, studio.instance, project_id)
    assert zip_of(studio, project_id).namelist() == ["001-IMG_0000.jpg", "MISSING.txt"]


def test_photos_ending_at_the_same_moment_all_count(studio: Studio) -> None:
    """Each photo's move recounts the project under the project row's lock. Photo 2 ends while
    photo 1's transaction is still open: its recount must wait for photo 1 and see it (without
    the lock, on Postgres, it would count photo 1 as still processing and leave the project at
    1 of 2)."""
    project_id = submit(studio, ROOMS[:2])
    first, second = (p.id for p in photos(studio, project_id))
    for photo_id in (first, second):
        with studio.db.session() as session:
            rows.start(session, ImageGeneration, photo_id, "run", "processing")
    errors: list[BaseException] = []

    def finish_second() -> None:
        try:
            with studio.db.session() as session:
                rows.set_status(session, ImageGeneration, second, "completed")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    later = threading.Thread(target=finish_second)
    with studio.db.session() as session:
        rows.set_status(session, ImageGeneration, first, "completed")
        later.start()
        later.join(timeout=1.0)  # it waits for this transaction
        assert later.is_alive()
    later.join(timeout=30)

    assert errors == []
    done = project(studio, project_id)
    assert (done.status, done.completed_count) == ("completed", 2)


def test_rows_the_app_writes_directly_are_followed_and_checked(studio: Studio) -> None:
    """The language-neutral door: the app inserts the project and its photos as `queued`; a
    photo with a room type studio does not know fails alone, naming the column."""
    good = room_photo(studio.tmp / "hall.jpg", "hallway", (320, 180))
    uri = studio.storage.put_file("workspaces/ws_app/uploads/u1/hall.jpg", good)
    with studio.db.session() as session:
        rows.add(
            session,
            ImageProject(
                id="ip_app", workspace_id="ws_app", name="App", style="natural", status="queued"
            ),
        )
        for order, room in enumerate(("hallway", "ballroom")):
            rows.add(
                session,
                ImageGeneration(
                    id=f"img_app{order}",
                    workspace_id="ws_app",
                    kind="enhance",
                    room_type=room,
                    style="natural",
                    original_image_url=uri,
                    prompt="enhance",
                    status="queued",
                    submission=1,
                    image_project_id="ip_app",
                    project_order=order,
                ),
            )

    run_photos(studio, "ip_app")

    failed = project(studio, "ip_app")
    assert (failed.status, failed.completed_count, failed.image_count) == ("failed", 1, 2)
    assert "photo 2 (ballroom): " in failed.error_message
    assert "room_type" in failed.error_message


def test_a_refused_photo_leaves_no_row_and_no_upload(studio: Studio) -> None:
    bad = studio.tmp / "IMG_9999.jpg"
    bad.write_bytes(b"\xff\xd8\xff broken")
    data = spec(studio, ROOMS[:2]).model_dump()
    data["photos"].append({"image": str(bad), "room_type": "garden"})

    with pytest.raises(InputRejected, match="photo 3 image IMG_9999.jpg is corrupt"):
        image_projects.submit_image_project(
            studio.db, studio.storage, parse_spec(ImageProjectSpec, data)
        )

    with studio.db.session() as session:
        assert session.scalars(select(ImageProject)).all() == []
        assert session.scalars(select(ImageGeneration)).all() == []
    assert not list((studio.tmp / "storage").rglob("*.jpg"))


@pytest.mark.parametrize(
    ("photos_given", "message"),
    [
        (0, "photos: an image project needs at least 1 photo (got 0)"),
        (101, "photos: an image project has at most 100 photos, not 101"),
    ],
)
def test_photo_counts_outside_1_to_100_are_refused(photos_given: int, message: str) -> None:
    data = {"name": "x", "photos": [{"image": "a.jpg", "room_type": "kitchen"}] * photos_given}
    with pytest.raises(InputRejected, match=re.escape(message)):
        parse_spec(ImageProjectSpec, data)


def test_zip_of_a_project_with_nothing_finished_is_refused(studio: Studio) -> None:
    project_id = submit(studio, ROOMS[:1], draft=True)
    assert project(studio, project_id).status == "draft"
    with pytest.raises(StudioError, match="has no finished photo yet"):
        zipping.plan(studio.db, project_id)


def test_on_postgres_and_s3_the_zip_streams_from_the_bucket(s3_studio: Studio) -> None:
    project_id = submit(s3_studio, ROOMS[:3])
    run_photos(s3_studio, project_id)
    assert project(s3_studio, project_id).status == "completed"

    path = s3_studio.tmp / "out" / "photos.zip"
    written = zipping.save_zip(s3_studio.storage, zipping.plan(s3_studio.db, project_id), path)
    uri = zipping.upload_zip(s3_studio.db, s3_studio.storage, written.project, path)  # as the CLI

    assert len(written.entries) == 3 and written.missing == []
    with zipfile.ZipFile(path) as archive:
        for entry, photo in zip(archive.namelist(), photos(s3_studio, project_id), strict=True):
            assert photo.result_image_url.startswith("s3://")
            assert archive.read(entry) == stored_bytes(s3_studio, photo.result_image_url)
    assert uri.startswith("s3://") and uri.endswith(".zip")
    status = image_projects.image_project_status(s3_studio.db, s3_studio.storage, project_id)
    assert status["output"]["zip_url"].startswith("http")  # presigned for the app
    assert stored_bytes(s3_studio, uri) == path.read_bytes()
    assert not list(path.parent.glob("*.part"))


def test_the_cli_submits_runs_and_zips_an_image_project(tmp_path: Path) -> None:
    """As a user types it: a spec with photos beside it, from another directory."""
    folder = tmp_path / "listing"
    folder.mkdir()
    photos_spec = [
        {"image": room_photo(folder / f"IMG_{i:04d}.jpg", room, (480, 270)).name, "room_type": room}
        for i, room in enumerate(ROOMS)
    ]
    spec_path = folder / "photos.json"
    spec_path.write_text(json.dumps({"name": "12 Elm Street", "photos": photos_spec}))
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()

    submitted = run_studio(
        home, "images", "submit", str(spec_path), "--draft", "--json", cwd=elsewhere
    )
    assert submitted.returncode == 0, submitted.stderr
    project_id = last_json(submitted.stdout)["id"]
    ran = run_studio(home, "run", project_id, "--json", cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    done = last_json(ran.stdout)
    assert (done["status"], done["progress"]["completed"], done["progress"]["total"]) == (
        "completed",
        4,
        4,
    )
    zipped = run_studio(home, "images", "zip", project_id, "--json", cwd=elsewhere)

    assert zipped.returncode == 0, zipped.stderr
    summary = last_json(zipped.stdout)
    path = Path(summary["path"])
    assert path.parent == elsewhere and re.fullmatch(
        r"12-Elm-Street-\d{4}-\d\d-\d\d\.zip", path.name
    )
    assert "wrote" in zipped.stderr and "4 photos" in zipped.stderr
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{i + 1:03d}-IMG_{i:04d}.jpg" for i in range(4)]
        assert archive.testzip() is None
    status = last_json(run_studio(home, "status", project_id, "--json").stdout)
    assert [p["status"] for p in status["photos"]] == ["completed"] * 4
    again = run_studio(home, "run", project_id, "--json")
    assert again.returncode == 1 and "no photo left to run" in again.stderr
    folder_out = run_studio(home, "images", "zip", project_id, "--output", str(elsewhere))
    assert folder_out.returncode == 1 and "it is a folder" in folder_out.stderr
    assert "Traceback" not in folder_out.stderr
    assert "every photo is finished" in again.stderr
    missing = run_studio(home, "images", "zip", "ip_nope")
    assert missing.returncode == 1 and "image project 'ip_nope' not found" in missing.stderr


def test_camera_and_foreign_file_names_are_uploaded_under_plain_names(studio: Studio) -> None:
    names = ("_DSC1234.JPG", "café au lait.jpg", "Küche Foto (1).jpeg", f"{'x' * 200}.jpg")
    photos_spec = [
        {"image": str(room_photo(studio.tmp / name, "kitchen", (320, 180))), "room_type": "kitchen"}
        for name in names
    ]
    project_id = image_projects.submit_image_project(
        studio.db,
        studio.storage,
        parse_spec(ImageProjectSpec, {"name": "Äpfelstraße 5", "photos": photos_spec}),
    )
    status = image_projects.image_project_status(studio.db, studio.storage, project_id)
    assert [p["name"] for p in status["photos"]] == [
        "DSC1234",
        "cafe-au-lait",
        "Kuche-Foto-1",
        "x" * 80,
    ]
    assert zipping.default_file_name(project(studio, project_id)).startswith("Apfelstrasse-5-")


def test_an_edit_of_a_photo_belongs_to_the_photos_workspace(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "IMG_1.jpg", "kitchen", (480, 270))
    data = {
        "name": "Demo",
        "workspace_id": "ws_demo",
        "photos": [{"image": str(photo), "room_type": "kitchen"}],
    }
    project_id = image_projects.submit_image_project(
        studio.db, studio.storage, parse_spec(ImageProjectSpec, data)
    )
    run_photos(studio, project_id)
    first = photos(studio, project_id)[0]
    mask, drawn = studio.tmp / "mask.png", Image.new("L", (480, 270))
    ImageDraw.Draw(drawn).ellipse((200, 100, 260, 160), fill=255)
    drawn.save(mask)

    edit_id = submission.submit_inpaint(  # the CLI's default workspace, as a user types it
        studio.db, studio.storage, InpaintSpec(image=first.id, mask=str(mask), mode="remove")
    )

    with studio.db.session() as session:
        assert rows.get(session, ImageGeneration, edit_id).workspace_id == "ws_demo"
    with pytest.raises(InputRejected, match="belongs to workspace 'ws_demo', not 'ws_evil'"):
        submission.submit_inpaint(
            studio.db,
            studio.storage,
            InpaintSpec(image=first.id, mask=str(mask), mode="remove", workspace_id="ws_evil"),
        )
