"""Image projects grow: photos added, one photo retried, an older version edited again with its
newer versions replaced, one version downloaded alone — through the `studio` command."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from resources.models import ImageGeneration
from studio_assets.app.samples import object_and_mask, room_photo
from tests.pipeline.test_cli import last_json
from tests.pipeline.test_cli import studio as cli


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def ok(home: Path, *args: str) -> dict:
    done = cli(home, *args, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return last_json(done.stdout)


def refused(home: Path, *args: str) -> str:
    done = cli(home, *args)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    return done.stderr


def stored_files(home: Path) -> set[Path]:
    return {path for path in (home / "storage").rglob("*") if path.is_file()}


def test_an_image_project_grows_and_its_versions_live(tmp_path: Path) -> None:
    home = tmp_path / "home"
    photo = lambda name, room: str(room_photo(tmp_path / f"{name}.jpg", room, (480, 270)))  # noqa: E731
    spec = write(
        tmp_path / "project.json",
        {"name": "Elm", "photos": [{"image": photo("IMG_1", "kitchen"), "room_type": "kitchen"}]},
    )
    project_id = ok(home, "images", "submit", str(spec), "--draft")["id"]
    assert ok(home, "run", project_id)["status"] == "completed"

    # Photos added: after the first, in the project's style; the project runs them.
    added = write(
        tmp_path / "more.json",
        {"photos": [{"image": photo("IMG_2", "bedroom"), "room_type": "bedroom"}]},
    )
    status = ok(home, "images", "add", project_id, str(added))
    assert (status["status"], status["progress"]["total"]) == ("queued", 2)
    assert [p["order"] for p in status["photos"]] == [1, 2]
    assert ok(home, "run", project_id)["status"] == "completed"
    too_many = write(
        tmp_path / "many.json",
        {"photos": [{"image": photo("IMG_2", "bedroom"), "room_type": "bedroom"}] * 99},
    )
    before = stored_files(home)
    assert "has 2 photos: 99 more would pass the 100-photo limit" in refused(
        home, "images", "add", project_id, str(too_many)
    )
    assert stored_files(home) == before  # nothing uploaded
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    bad = write(tmp_path / "bad.json", {"photos": [{"image": str(broken), "room_type": "garden"}]})
    assert "photo 1 image broken.jpg" in refused(home, "images", "add", project_id, str(bad))
    assert ok(home, "status", project_id)["progress"]["total"] == 2

    # Versions: v1 → v2 → v3, then v2 downloaded alone, then v1 edited again replacing v2, v3.
    first = ok(home, "status", project_id)["photos"][0]["id"]
    mask = tmp_path / "mask.png"
    object_and_mask(Path(photo("IMG_1", "kitchen")), mask, (100, 100, 160, 160))
    second = ok(home, "image", "inpaint", first, "--mask", str(mask), "--mode", "remove", "--wait")
    third = ok(
        home, "image", "inpaint", second["id"], "--mask", str(mask), "--mode", "remove", "--wait"
    )
    assert (second["version"], third["version"]) == (2, 3)
    got = ok(
        home,
        "image",
        "download",
        third["id"],
        "--version",
        "2",
        "--output",
        str(tmp_path / "v2.jpg"),
    )
    assert (got["id"], got["version"]) == (second["id"], 2)
    assert Path(got["path"]).read_bytes() == Path(second["result_image_url"]).read_bytes()
    default = cli(home, "image", "download", first, "--json", cwd=tmp_path)
    assert (
        default.returncode == 0
        and Path(last_json(default.stdout)["path"]) == tmp_path / "IMG_1-v1.jpg"
    )
    assert "has no version 9; its versions: v1" in refused(
        home, "image", "download", first, "--version", "9"
    )
    beside = ok(home, "image", "inpaint", first, "--mask", str(mask), "--mode", "remove", "--wait")
    assert (beside["version"], beside["parent_id"]) == (4, first)  # v1 again: the next number

    again = ok(
        home,
        "image",
        "inpaint",
        first,
        "--mask",
        str(mask),
        "--mode",
        "remove",
        "--replace-newer",
        "--wait",
    )
    assert (again["version"], again["parent_id"], again["status"]) == (2, first, "completed")
    for gone in (second, third, beside):
        assert "no video project, image or image project with id" in refused(
            home, "status", gone["id"]
        )
        assert not Path(gone["result_image_url"]).exists()
    latest = ok(home, "status", project_id)["photos"][0]["latest_version"]
    assert latest == {"id": again["id"], "version": 2}

    # One photo retried: a failed photo runs again, the project follows it.
    other = ok(home, "status", project_id)["photos"][1]["id"]
    from resources.database import AppDatabase
    from resources.repository import rows

    db = AppDatabase(url=f"sqlite:///{home / 'studio.db'}")
    with db.session() as session:  # as the app or a crash would leave it
        rows.set_status(session, ImageGeneration, other, "failed", error_message="provider down")
    assert ok(home, "status", project_id)["status"] == "failed"
    assert ok(home, "retry", other, "--wait")["status"] == "completed"
    assert ok(home, "status", project_id)["status"] == "completed"
    assert Image.open(Path(ok(home, "status", other)["result_image_url"])).size == (480, 270)
