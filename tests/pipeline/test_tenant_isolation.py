"""Tenant isolation: a row reads only its own workspace's objects, however the URI is spelled.

Local storage and S3 (moto over real HTTP) refuse the same spellings; rows written straight into
the app DB with such inputs end `failed` with the reason, at no cost and with nothing submitted;
`studio submit` refuses them before writing anything.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pytest
from sqlalchemy import update

from resources.database import AppDatabase
from resources.errors import InputRejected
from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.repository import rows
from resources.storage import LocalStorage, S3Storage, StorageResource
from studio_assets.app import submission
from studio_assets.app.samples import music_bed, object_and_mask, room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, parse_spec
from tests.pipeline.test_narration import pcm, tone
from tests.support.fakes import FakeProvider, journal
from tests.support.projects import clips, make_project, project, run
from tests.support.studio_fixtures import Studio

OWN = "workspaces/ws_a/uploads/up_1/photo.jpg"
OTHER = "workspaces/ws_b/uploads/up_2/photo.jpg"
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(64)


def put(storage: StorageResource, key: str, tmp: Path, data: bytes = JPEG) -> str:
    (tmp / "src").write_bytes(data)
    return storage.put_file(key, tmp / "src")


def refused(storage: StorageResource, uri: str, tmp: Path, match: str, **kw: Any) -> None:
    """`uri` is refused for workspace ws_a with `match`, and not a byte is read."""
    dest = tmp / "dest"
    with pytest.raises(InputRejected, match=match):
        storage.fetch_input(uri, dest, "ws_a", **kw)
    assert not dest.exists()


# --- local storage ------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(root=str(tmp_path / "storage"), upload_prefix="incoming")
    put(storage, OWN, tmp_path)
    put(storage, OTHER, tmp_path, b"ws_b's secret")
    (tmp_path / "secret.jpg").write_bytes(b"outside the root")
    return storage


def test_local_own_workspace_upload_prefix_and_library_are_readable(
    local: LocalStorage, tmp_path: Path
) -> None:
    own = local.uri_for(OWN)
    assert local.fetch_input(own, tmp_path / "a", "ws_a").read_bytes() == JPEG
    as_localhost = own.replace("file:///", "file://localhost/")
    assert local.fetch_input(as_localhost, tmp_path / "b", "ws_a").read_bytes() == JPEG
    dropped = put(local, "incoming/ws_a/drop.jpg", tmp_path)
    assert local.fetch_input(dropped, tmp_path / "c", "ws_a").read_bytes() == JPEG
    track = put(local, "library/music/calm.mp3", tmp_path, b"mp3")
    assert local.fetch_input(track, tmp_path / "d", "ws_a", library=True).read_bytes() == b"mp3"
    refused(local, track, tmp_path, "outside workspace 'ws_a'")  # library is for music only


def _local_spellings(root: str, tmp: Path) -> dict[str, tuple[str, str]]:
    """Every spelling of "ws_b's photo" or "a file outside the root" as ws_a's input."""
    ws = f"file://{root}/workspaces"
    return {
        "other workspace": (f"{ws}/ws_b/uploads/up_2/photo.jpg", "outside workspace 'ws_a'"),
        "name prefix": (f"{ws}/ws_ab/uploads/x.jpg", "outside workspace 'ws_a'"),
        "dot dot": (f"{ws}/ws_a/../ws_b/uploads/up_2/photo.jpg", "'..'"),
        "dot": (f"{ws}/ws_a/./uploads/up_1/photo.jpg", "'..'"),
        "empty segment": (f"{ws}/ws_a//uploads/up_1/photo.jpg", "empty path segments"),
        "%2e%2e": (f"{ws}/ws_a/%2e%2e/ws_b/uploads/up_2/photo.jpg", "percent-encoded"),
        "%2E%2E": (f"{ws}/ws_a/%2E%2E/ws_b/uploads/up_2/photo.jpg", "percent-encoded"),
        "%2f": (f"{ws}/ws_a%2f..%2fws_b/uploads/up_2/photo.jpg", "percent-encoded"),
        "double-encoded": (f"{ws}/ws_a/%252e%252e/ws_b/uploads/up_2/photo.jpg", "percent-encoded"),
        "%5c": (f"{ws}/ws_a/..%5cws_b/uploads/up_2/photo.jpg", "percent-encoded"),
        "backslash": (f"{ws}/ws_a/..\\ws_b/uploads/up_2/photo.jpg", "backslashes"),
        "outside root": ((tmp / "secret.jpg").as_uri(), "outside the storage root"),
        "root's sibling": (f"file://{root}-evil/workspaces/ws_a/x.jpg", "outside the storage root"),
        "climb from root": (f"file://{root}/../secret.jpg", "'..'"),
        "/etc/passwd": ("file:///etc/passwd", "outside the storage root"),
        "other host": (f"file://evil.example{root}/workspaces/ws_a/x.jpg", "not a local file"),
        "query": (f"{ws}/ws_a/uploads/up_1/photo.jpg?x=../../ws_b", "no query string"),
        "other upload prefix": (f"file://{root}/incoming/ws_b/x.jpg", "outside workspace"),
        "s3 on local": ("s3://bucket/workspaces/ws_a/x.jpg", "is on S3 but storage is local"),
    }


@pytest.mark.parametrize("case", list(_local_spellings("/r", Path("/t"))))
def test_local_refuses_every_spelling_outside_the_workspace(
    local: LocalStorage, tmp_path: Path, case: str
) -> None:
    uri, match = _local_spellings(str(Path(local.root).resolve()), tmp_path)[case]
    refused(local, uri, tmp_path, match)


@pytest.mark.parametrize(
    "target", ["outside file", "other workspace", "outside dir"], ids=lambda t: t.replace(" ", "-")
)
def test_local_symlinks_are_refused(local: LocalStorage, tmp_path: Path, target: str) -> None:
    root = Path(local.root).resolve()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "photo.jpg").write_bytes(JPEG)
    uploads = root / "workspaces/ws_a/uploads"
    if target == "outside file":
        (uploads / "link.jpg").symlink_to(tmp_path / "secret.jpg")
        uri = (uploads / "link.jpg").as_uri()
    elif target == "other workspace":
        (uploads / "link.jpg").symlink_to(root / OTHER)
        uri = (uploads / "link.jpg").as_uri()
    else:
        (uploads / "dir").symlink_to(tmp_path / "outside", target_is_directory=True)
        uri = (uploads / "dir" / "photo.jpg").as_uri()
    refused(local, uri, tmp_path, "symlink")
    with pytest.raises(InputRejected, match="symlink"):
        local.fetch(uri, tmp_path / "plain-fetch")  # even without a workspace: not in the root


def test_plain_fetch_never_leaves_the_root(local: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="outside the storage root"):
        local.fetch((tmp_path / "secret.jpg").as_uri(), tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --- S3 ---------------------------------------------------------------------------------


@pytest.fixture
def s3(s3_server: str, s3_bucket: str, tmp_path: Path) -> S3Storage:
    storage = S3Storage(bucket=s3_bucket, prefix="studio", endpoint_url=s3_server)
    put(storage, OWN, tmp_path)
    put(storage, OTHER, tmp_path, b"ws_b's secret")
    return storage


@pytest.fixture
def other_bucket(s3_client: Any) -> Iterator[str]:
    """Another bucket on the same server holding an object at ws_a's very key."""
    name = f"other-{secrets.token_hex(6)}"
    s3_client.create_bucket(Bucket=name)
    s3_client.put_object(Bucket=name, Key=f"studio/{OWN}", Body=b"someone else's")
    yield name
    s3_client.delete_object(Bucket=name, Key=f"studio/{OWN}")
    s3_client.delete_bucket(Bucket=name)


def test_s3_own_workspace_is_readable(s3: S3Storage, tmp_path: Path) -> None:
    assert s3.fetch_input(s3.uri_for(OWN), tmp_path / "a", "ws_a").read_bytes() == JPEG


S3_SPELLINGS = {
    "other workspace": ("{b}/studio/workspaces/ws_b/uploads/up_2/photo.jpg", "outside workspace"),
    "dot dot": ("{b}/studio/workspaces/ws_a/../ws_b/uploads/up_2/photo.jpg", "'..'"),
    "%2e%2e": ("{b}/studio/workspaces/ws_a/%2e%2e/ws_b/uploads/up_2/photo.jpg", "percent"),
    "%2f": ("{b}/studio/workspaces/ws_a%2f..%2fws_b/uploads/up_2/photo.jpg", "percent"),
    "double-encoded": ("{b}/studio/workspaces/ws_a/%252e%252e/ws_b/up/photo.jpg", "percent"),
    "backslash": ("{b}/studio/workspaces/ws_a/..\\ws_b/uploads/up_2/photo.jpg", "backslashes"),
    "outside prefix": ("{b}/elsewhere/workspaces/ws_a/uploads/up_1/photo.jpg", "storage root"),
    "no prefix": ("{b}/workspaces/ws_a/uploads/up_1/photo.jpg", "outside the storage root"),
    "empty segment": ("{b}//studio/workspaces/ws_a/uploads/up_1/photo.jpg", "empty path"),
    "credentials": ("x@{b}/studio/workspaces/ws_a/uploads/up_1/photo.jpg", "not in this storage"),
    "query": ("{b}/studio/workspaces/ws_a/uploads/up_1/photo.jpg?versionId=1", "no query"),
}


@pytest.mark.parametrize("case", list(S3_SPELLINGS))
def test_s3_refuses_every_spelling_outside_the_workspace(
    s3: S3Storage, tmp_path: Path, case: str
) -> None:
    template, match = S3_SPELLINGS[case]
    refused(s3, "s3://" + template.format(b=s3.bucket), tmp_path, match)


def test_s3_refuses_other_buckets_and_local_files(
    s3: S3Storage, other_bucket: str, tmp_path: Path
) -> None:
    foreign = f"s3://{other_bucket}/studio/{OWN}"
    refused(s3, foreign, tmp_path, f"not in this storage's bucket '{s3.bucket}'")
    with pytest.raises(InputRejected, match="not in this storage's bucket"):
        s3.fetch(foreign, tmp_path / "plain")  # outputs too are read only from our bucket
    (tmp_path / "local.jpg").write_bytes(JPEG)
    with pytest.raises(InputRejected, match="is not on S3"):
        s3.fetch_input((tmp_path / "local.jpg").as_uri(), tmp_path / "dest", "ws_a")


# --- rows straight into the app DB --------------------------------------------------------


@pytest.fixture
def counted(sqlite_studio: Studio) -> Studio:
    sqlite_studio.provider = FakeProvider(journal_name=f"tenant-{uuid.uuid4().hex}")
    return sqlite_studio


@pytest.fixture
def s3_counted(
    sqlite_app_url: str, s3_server: str, s3_bucket: str, tmp_path: Path
) -> Iterator[Studio]:
    storage = S3Storage(bucket=s3_bucket, prefix="studio", endpoint_url=s3_server)
    provider = FakeProvider(journal_name=f"tenant-{uuid.uuid4().hex}")
    with dg.instance_for_test() as instance:
        yield Studio(AppDatabase(url=sqlite_app_url), storage, provider, instance, tmp_path)


def submits(studio: Studio) -> int:
    return len(journal(studio.provider.journal_name).submits)  # type: ignore[attr-defined]


def other_workspace_photo(studio: Studio) -> str:
    photo = room_photo(studio.tmp / "theirs.jpg", "kitchen", (640, 360))
    return studio.storage.put_file("workspaces/ws_b/uploads/up_x/theirs.jpg", photo)


def _set_first_clip(studio: Studio, project_id: str, **values: Any) -> None:
    with studio.db.session() as session:
        first = rows.clips(session, project_id)[0].id
        session.execute(update(VideoClip).where(VideoClip.id == first).values(**values))


def _assert_refused_for_free(studio: Studio, project_id: str, message: str) -> None:
    row = project(studio, project_id)
    assert row.status == "failed"
    assert message in (row.error_message or ""), row.error_message
    assert (row.actual_cost or 0) == 0
    assert submits(studio) == 0, "a refused input must cost nothing"
    assert all(c.status in ("pending", "failed") for c in clips(studio, project_id))


@pytest.mark.parametrize("column", ["source_image_url", "end_image_url"])
@pytest.mark.parametrize("spelling", ["other workspace", "dot dot", "%2e%2e", "outside root"])
def test_a_project_row_reading_another_workspace_fails_at_no_cost(
    counted: Studio, column: str, spelling: str
) -> None:
    project_id = make_project(counted, ("exterior",), seamless=(), music=False)
    theirs = other_workspace_photo(counted)
    root = str(Path(counted.storage.root).resolve())  # type: ignore[attr-defined]
    mine = project(counted, project_id).workspace_id
    uri = {
        "other workspace": theirs,
        "dot dot": theirs.replace("/workspaces/ws_b/", f"/workspaces/{mine}/../ws_b/"),
        "%2e%2e": theirs.replace("/workspaces/ws_b/", f"/workspaces/{mine}/%2e%2e/ws_b/"),
        "outside root": room_photo(counted.tmp / "loose.jpg", "hallway", (640, 360)).as_uri(),
    }[spelling]
    assert spelling == "outside root" or uri.startswith(f"file://{root}/")
    _set_first_clip(counted, project_id, **{column: uri})

    assert not run(counted, project_id).success
    expected = {
        "other workspace": f"outside workspace {mine!r}",
        "dot dot": "'..'",
        "%2e%2e": "percent-encoded",
        "outside root": "outside the storage root",
    }[spelling]
    _assert_refused_for_free(counted, project_id, expected)


def test_an_s3_project_row_reading_another_workspace_or_bucket_fails_at_no_cost(
    s3_counted: Studio, other_bucket: str
) -> None:
    project_id = make_project(s3_counted, ("exterior",), seamless=(), music=False)
    mine = project(s3_counted, project_id).workspace_id
    _set_first_clip(s3_counted, project_id, source_image_url=other_workspace_photo(s3_counted))
    assert not run(s3_counted, project_id).success
    _assert_refused_for_free(s3_counted, project_id, f"outside workspace {mine!r}")

    project_id = make_project(s3_counted, ("exterior",), seamless=(), music=False)
    _set_first_clip(s3_counted, project_id, source_image_url=f"s3://{other_bucket}/studio/{OWN}")
    assert not run(s3_counted, project_id).success
    _assert_refused_for_free(s3_counted, project_id, "not in this storage's bucket")


def test_a_music_track_of_another_workspace_is_refused(counted: Studio) -> None:
    project_id = make_project(counted, ("exterior", "kitchen"), seamless=())
    bed = music_bed(counted.tmp / "their-music.mp3", 6.0)
    theirs = counted.storage.put_file("workspaces/ws_b/uploads/up_m/music.mp3", bed)
    with counted.db.session() as session:
        track_id = rows.get(session, VideoProject, project_id).music_track_id
        session.execute(
            update(MusicTrack).where(MusicTrack.id == track_id).values(audio_url=theirs)
        )

    assert not run(counted, project_id).success
    row = project(counted, project_id)
    assert row.status == "failed" and row.final_video_url is None
    assert "outside workspace" in (row.error_message or ""), row.error_message


def test_a_library_music_track_is_shared(counted: Studio) -> None:
    """A track of the shared library plays in any workspace's video: its 440 Hz tone is what
    the MP4 sounds like (the project's own upload was a different bed)."""
    project_id = make_project(counted, ("exterior",), seamless=(), audio=False)
    stock = counted.storage.put_file("library/music/stock.mp3", tone(counted.tmp / "a.mp3", 6, 440))
    with counted.db.session() as session:
        track_id = rows.get(session, VideoProject, project_id).music_track_id
        session.execute(update(MusicTrack).where(MusicTrack.id == track_id).values(audio_url=stock))

    assert run(counted, project_id).success
    done = project(counted, project_id)
    assert done.status == "completed"
    heard = pcm(Path(done.final_video_url.removeprefix("file://")), 1.0, 4.0)
    spectrum = np.abs(np.fft.rfft(heard))
    peak_hz = np.argmax(spectrum) * 16_000 / len(heard)
    assert abs(peak_hz - 440) < 5, peak_hz


def _image_row(studio: Studio, kind: str) -> str:
    photo = room_photo(studio.tmp / "room.jpg", "bedroom", (480, 270))
    if kind == "enhance":
        return submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(photo)))
    object_and_mask(photo, mask := studio.tmp / "mask.png", (200, 150, 260, 200))
    spec = InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    return submission.submit_inpaint(studio.db, studio.storage, spec)


@pytest.mark.parametrize(
    ("kind", "column"),
    [("enhance", "original_image_url"), ("inpaint", "original_image_url"), ("inpaint", "mask_url")],
)
def test_an_image_row_reading_another_workspace_fails_at_no_cost(
    counted: Studio, kind: str, column: str
) -> None:
    image_id = _image_row(counted, kind)
    theirs = other_workspace_photo(counted)
    with counted.db.session() as session:
        session.execute(
            update(ImageGeneration).where(ImageGeneration.id == image_id).values({column: theirs})
        )
    asset = enhanced_image if kind == "enhance" else inpainted_image
    partitions = "images" if kind == "enhance" else "image_edits"

    assert not counted.materialize([asset], partitions, image_id).success
    with counted.db.session() as session:
        row = rows.get(session, ImageGeneration, image_id)
    assert row.status == "failed"
    assert "outside workspace 'ws_default'" in (row.error_message or ""), row.error_message
    assert (row.cost_cents or 0) == 0 and row.result_image_url is None
    assert submits(counted) == 0


# --- studio submit ------------------------------------------------------------------------


def _counts(studio: Studio) -> tuple[int, int]:
    with studio.db.session() as session:
        return session.query(VideoProject).count(), session.query(ImageGeneration).count()


def test_submit_refuses_other_workspaces_and_outside_files_before_writing(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    theirs = other_workspace_photo(studio)
    loose = room_photo(studio.tmp / "loose.jpg", "kitchen", (640, 360))
    before = sorted(p for p in Path(studio.storage.root).rglob("*") if p.is_file())  # type: ignore[attr-defined]

    with pytest.raises(InputRejected, match="image: .*outside workspace 'ws_a'"):
        submission.submit_enhance(
            studio.db, studio.storage, EnhanceSpec(image=theirs, workspace_id="ws_a")
        )
    with pytest.raises(InputRejected, match="outside the storage root.*give a local path"):
        submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=loose.as_uri()))
    mask = studio.tmp / "mask.png"
    object_and_mask(loose, mask, (10, 10, 50, 50))
    with pytest.raises(InputRejected, match="mask: .*outside workspace"):
        submission.submit_inpaint(
            studio.db,
            studio.storage,
            InpaintSpec(
                image=str(loose), mask=theirs.replace("theirs.jpg", "m.png"), mode="remove"
            ),
        )
    spec = {
        "name": "Not yours",
        "workspace_id": "ws_a",
        "clips": [
            {"image": str(loose), "room_type": "kitchen"},
            {"image": theirs, "room_type": "exterior"},
        ],
    }
    with pytest.raises(InputRejected, match="clip 2 image: .*outside workspace 'ws_a'"):
        submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))
    spec["clips"] = spec["clips"][:1]  # type: ignore[index]
    spec["music"] = {"audio_url": theirs.replace("theirs.jpg", "m.mp3"), "volume": 40}
    with pytest.raises(InputRejected, match="music: .*outside workspace 'ws_a'"):
        submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))

    assert _counts(studio) == (0, 0)
    after = sorted(p for p in Path(studio.storage.root).rglob("*") if p.is_file())  # type: ignore[attr-defined]
    assert after == before, "a refused submission uploads nothing"


def test_submit_refuses_another_workspaces_music_track(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    bed = music_bed(studio.tmp / "m.mp3", 3.0)
    theirs = studio.storage.put_file("workspaces/ws_b/uploads/up_m/music.mp3", bed)
    with studio.db.session() as session:
        rows.add(session, MusicTrack(id="mt_theirs", name="theirs", audio_url=theirs))
    photo = room_photo(studio.tmp / "k.jpg", "kitchen", (640, 360))
    spec = {
        "name": "Borrowed music",
        "workspace_id": "ws_a",
        "music": {"track_id": "mt_theirs", "volume": 40},
        "clips": [{"image": str(photo), "room_type": "kitchen"}],
    }
    with pytest.raises(InputRejected, match="music: .*outside workspace 'ws_a'"):
        submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))
    assert _counts(studio) == (0, 0)
