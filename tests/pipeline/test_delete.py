"""`studio delete`: an item's rows and every object it owns go, on local disk and on S3 (moto
over HTTP) with Postgres; every other item, a shared input and the library stay."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from resources.errors import NotFound, StudioError
from resources.models import ImageGeneration, ImageProject, MusicTrack, VideoClip, VideoProject
from resources.repository import rows
from studio_assets.app import deleting, image_projects, submission, zipping
from studio_assets.app.samples import room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.image_project_spec import ImageProjectSpec
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import InpaintSpec, parse_spec
from tests.pipeline.test_cli import last_json
from tests.pipeline.test_cli import studio as run_cli
from tests.support.projects import make_project, run, spec_file
from tests.support.studio_fixtures import Studio


def every_key(studio: Studio) -> set[str]:
    return {
        key
        for folder in ("workspaces/", "journal/", "library/")
        for key in studio.storage.keys_under(folder)
    }


def of(keys: set[str], *ids: str) -> set[str]:
    return {key for key in keys if any(f"/{item}/" in key for item in ids)}


def count(studio: Studio, model: type, **where: str) -> int:
    with studio.db.session() as session:
        return session.query(model).filter_by(**where).count()


def image_project(studio: Studio) -> str:
    photos = [
        {"image": str(room_photo(studio.tmp / f"IMG_{i}.jpg", room, (480, 270))), "room_type": room}
        for i, room in enumerate(("kitchen", "bedroom"))
    ]
    spec = parse_spec(ImageProjectSpec, {"name": "Elm", "style": "natural", "photos": photos})
    project_id = image_projects.submit_image_project(studio.db, studio.storage, spec)
    for photo in image_projects.photo_ids(studio.db, project_id):
        studio.materialize([enhanced_image], "images", photo)
    written = zipping.save_zip(
        studio.storage, zipping.plan(studio.db, project_id), studio.tmp / "photos.zip"
    )
    zipping.upload_zip(studio.db, studio.storage, written.project, studio.tmp / "photos.zip")
    return project_id


def edit_of(studio: Studio, image_id: str) -> str:
    mask = studio.tmp / "mask.png"
    Image.new("L", (480, 270), 0).save(mask)
    spec = parse_spec(InpaintSpec, {"image": image_id, "mask": str(mask), "mode": "remove"})
    edit = submission.submit_inpaint(studio.db, studio.storage, spec)
    studio.materialize([inpainted_image], "image_edits", edit)
    return edit


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_delete_leaves_nothing_of_the_item_and_everything_of_the_others(
    backend: str, request: pytest.FixtureRequest
) -> None:
    studio: Studio = request.getfixturevalue(f"{'sqlite' if backend == 'local' else 's3'}_studio")
    gone = make_project(studio, rooms=("exterior", "kitchen"), seamless=(0,))
    kept = make_project(studio, rooms=("bedroom", "bathroom"), seamless=())
    assert run(studio, gone).success and run(studio, kept).success
    with studio.db.session() as session:
        first_photo = rows.clips(session, gone)[0].source_image_url
    # Another project reads the first project's uploaded photo (the app gave its URI).
    sharing = submission.submit_project(
        studio.db,
        studio.storage,
        parse_spec(
            ProjectSpec,
            {"name": "Same photo", "clips": [{"image": first_photo, "room_type": "exterior"}]},
        ),
        draft=True,
    )
    photos = image_project(studio)
    before = every_key(studio)
    own = of(before, gone)
    assert any(key.endswith("final.mp4") for key in own) and any("clips/" in key for key in own)

    done = deleting.delete_item(studio.db, studio.storage, gone)

    after = every_key(studio)
    assert of(after, gone) == set() and done.objects > len(own)  # its folder and its uploads
    assert first_photo in {studio.storage.uri_for(key) for key in after}  # still read by another
    assert before - after >= own and after <= before
    assert of(after, kept) == of(before, kept) and of(after, photos) == of(before, photos)
    for model, where in ((VideoProject, {"id": gone}), (VideoClip, {"video_project_id": gone})):
        assert count(studio, model, **where) == 0
    assert count(studio, VideoProject, id=kept) == 1
    with studio.db.session() as session:
        assert all(track.id for track in session.query(MusicTrack))  # the kept ones' tracks
        assert session.query(MusicTrack).count() == 1  # only the kept project's own music

    # Then everything else: nothing is left behind in storage at all.
    for item in (kept, sharing, photos):
        deleting.delete_item(studio.db, studio.storage, item)
    assert every_key(studio) == set()
    for model in (VideoProject, VideoClip, ImageGeneration, ImageProject, MusicTrack):
        assert count(studio, model) == 0


def test_a_version_with_newer_ones_is_deleted_with_them_only_when_asked(studio: Studio) -> None:
    project_id = image_project(studio)
    photo, other = image_projects.photo_ids(studio.db, project_id)
    edit = edit_of(studio, photo)
    edit_of_edit = edit_of(studio, edit)
    before = every_key(studio)
    assert of(before, edit_of_edit) and of(before, project_id)  # its result; the project's ZIP

    with pytest.raises(StudioError, match=rf"{photo} has newer versions \({edit} \(v2\)"):
        deleting.delete_item(studio.db, studio.storage, photo)
    assert every_key(studio) == before

    deleting.delete_item(studio.db, studio.storage, edit_of_edit)  # the newest: alone
    assert of(every_key(studio), edit_of_edit) == set() and of(every_key(studio), edit)

    deleting.delete_item(studio.db, studio.storage, photo, with_newer=True)
    after = every_key(studio)
    assert of(after, photo, edit) == set()
    assert of(after, other) == of(before, other)
    assert of(after, project_id) == set()  # its ZIP held the deleted photo
    with studio.db.session() as session:
        left = rows.get(session, ImageProject, project_id)
        assert (left.image_count, left.zip_url) == (1, None)
    # The photo left is photo 1 now, and still shows (and zips) its own result.
    shown = image_projects.image_project_status(studio.db, studio.storage, project_id)["photos"]
    with studio.db.session() as session:
        own = rows.get(session, ImageGeneration, other).result_image_url
    assert [(p["id"], p["order"]) for p in shown] == [(other, 1)]
    assert shown[0]["result_image_url"] == studio.storage.downloadable_url(own)
    archive = zipping.plan(studio.db, project_id)
    assert [e.uri for e in archive.entries] == [own] and not archive.missing
    with pytest.raises(StudioError, match="last photo"):
        deleting.delete_item(studio.db, studio.storage, other)


def test_a_queued_item_is_refused_and_unknown_ids_are_not_found(studio: Studio) -> None:
    project_id = make_project(studio, rooms=("kitchen",), seamless=())
    before = every_key(studio)
    with pytest.raises(StudioError, match=rf"{project_id} is queued: cancel it first"):
        deleting.delete_item(studio.db, studio.storage, project_id)
    assert every_key(studio) == before and count(studio, VideoProject, id=project_id) == 1
    with pytest.raises(NotFound, match="vp_nope"):
        deleting.delete_item(studio.db, studio.storage, "vp_nope")


def test_cli_delete_cancels_first_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    spec = spec_file(tmp_path, "Queued house", ["kitchen", "bedroom"])
    project_id = last_json(run_cli(home, "submit", str(spec), "--json").stdout)["id"]

    refused = run_cli(home, "delete", project_id)
    assert refused.returncode == 1 and "--cancel" in refused.stderr
    assert "Traceback" not in refused.stderr

    done = run_cli(home, "delete", project_id, "--cancel", "--json")
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout) == {
        "id": project_id,
        "deleted": True,
        "rows": [project_id],
        "objects": 3,  # its two uploaded photos and the notes on them
    }
    assert not [path for path in (home / "storage").rglob("*") if path.is_file()]
    missing = run_cli(home, "status", project_id)
    assert (
        missing.returncode == 1
        and f"no video project, image or image project with id {project_id!r}" in missing.stderr
    )
