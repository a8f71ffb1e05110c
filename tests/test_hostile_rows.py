"""Rows written straight into the app DB (the language-neutral launch path) are checked exactly as
`studio submit` checks a spec, before anything is bought: each refusal below ends `failed`
with a message naming what is wrong, costs 0, and the provider is asked for nothing."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update
from sqlalchemy.orm import Session

from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.repository import rows
from resources.storage.local import path_of
from studio_assets import submission
from studio_assets.assets.images import inpainted_image
from studio_assets.samples import object_and_mask, room_photo
from studio_assets.validation import InpaintSpec
from tests.fakes import FakeProvider, journal
from tests.projects import ROOMS, clips, make_project, project, run
from tests.studio_fixtures import Studio
from tests.test_cli import STUDIO


@pytest.fixture
def counted(studio: Studio) -> Studio:
    """`studio` on both app DBs, with a provider that counts every submit."""
    studio.provider = FakeProvider(journal_name=f"hostile-{uuid.uuid4().hex}")
    return studio


def submits(studio: Studio) -> int:
    return len(journal(studio.provider.journal_name).submits)  # type: ignore[attr-defined]


def edit_rows(studio: Studio, change: Callable[[Session, str], Any], project_id: str) -> None:
    with studio.db.session() as session:
        change(session, project_id)


def _clip_update(**values: Any) -> Callable[[Session, str], Any]:
    def change(session: Session, project_id: str) -> None:
        first = rows.clips(session, project_id)[0].id
        session.execute(update(VideoClip).where(VideoClip.id == first).values(**values))

    return change


def _project_update(**values: Any) -> Callable[[Session, str], Any]:
    def change(session: Session, project_id: str) -> None:
        session.execute(update(VideoProject).where(VideoProject.id == project_id).values(**values))

    return change


def _twenty_one_clips(session: Session, project_id: str) -> None:
    template = rows.clips(session, project_id)[0]
    for order in range(len(rows.clips(session, project_id)), 21):
        session.add(
            VideoClip(
                id=f"vc_extra_{order}_{uuid.uuid4().hex[:6]}",
                video_project_id=project_id,
                sequence_order=order,
                source_image_url=template.source_image_url,
                room_type=template.room_type,
            )
        )


def _no_clips(session: Session, project_id: str) -> None:
    for clip in rows.clips(session, project_id):
        session.delete(clip)


def _music_is_not_audio(session: Session, project_id: str) -> None:
    row = rows.get(session, VideoProject, project_id)
    photo = rows.clips(session, project_id)[0].source_image_url
    session.execute(
        update(MusicTrack).where(MusicTrack.id == row.music_track_id).values(audio_url=photo)
    )


def _corrupt_photo(index: int, writer: Callable[[Path], None]) -> Callable[[Session, str], Any]:
    def change(session: Session, project_id: str) -> None:
        target = rows.clips(session, project_id)[index].source_image_url
        writer(path_of(target))

    return change


def _garbage(path: Path) -> None:
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 100)


def _bomb(path: Path) -> None:
    """A PNG of a few KB that claims 30000 × 30000 pixels."""
    Image.new("1", (30000, 30000)).save(path, format="PNG")


HOSTILE = {
    "21 clips": (_twenty_one_clips, "at most 20 clips (got 21)"),
    "0 clips": (_no_clips, "zero clips"),
    "unknown room": (_clip_update(room_type="ballroom"), "clips.0.room_type"),
    "duration 7": (_clip_update(duration_seconds=7), "clips.0.duration"),
    "bad transition": (_clip_update(transition_type="wipe"), "clips.0.transition"),
    "aspect 4:3": (_project_update(aspect_ratio="4:3"), "aspect_ratio"),
    "volume -50": (_project_update(music_volume=-50), "music.volume"),
    "volume 150": (_project_update(music_volume=150), "music.volume"),
    "music not audio": (_music_is_not_audio, "is not an audio file"),
    "4th photo corrupt": (_corrupt_photo(3, _garbage), "corrupt"),
    "decompression bomb": (_corrupt_photo(1, _bomb), "a decompression bomb"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_project_row_is_refused_before_paying(counted: Studio, case: str) -> None:
    change, message = HOSTILE[case]
    project_id = make_project(counted, ROOMS, seamless=(0,))
    edit_rows(counted, change, project_id)

    result = run(counted, project_id)

    assert not result.success
    refused = project(counted, project_id)
    assert refused.status == "failed"
    assert message in (refused.error_message or ""), refused.error_message
    assert submits(counted) == 0, "a refusal must cost nothing"
    assert (refused.actual_cost or 0) == 0
    assert all(c.status in ("pending", "failed") for c in clips(counted, project_id))


def test_nul_in_a_row_written_to_sqlite_is_refused(sqlite_studio: Studio) -> None:
    sqlite_studio.provider = FakeProvider(journal_name=f"hostile-{uuid.uuid4().hex}")
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=())
    edit_rows(sqlite_studio, _clip_update(room_label="Living\x00room"), project_id)

    assert not run(sqlite_studio, project_id).success
    refused = project(sqlite_studio, project_id)
    assert "NUL character" in (refused.error_message or "") and submits(sqlite_studio) == 0


def test_nul_in_a_spec_is_refused_on_postgres(pg_app_url: str, tmp_path: Path) -> None:
    """Postgres cannot store NUL: `studio submit` refuses it by name, without a traceback."""
    photo = room_photo(tmp_path / "k.jpg", "kitchen", (320, 180))
    spec = {"name": "Elm\x00Street", "clips": [{"image": str(photo), "room_type": "kitchen"}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env_home = tmp_path / "home"
    done = subprocess.run(
        [STUDIO, "submit", str(tmp_path / "spec.json"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"STUDIO_HOME": str(env_home), "STUDIO_DATABASE_URL": pg_app_url, "PATH": "/usr/bin"},
    )
    assert done.returncode != 0
    assert "name: contains a NUL character" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_inpaint_row_whose_mask_file_is_missing(counted: Studio) -> None:
    photo = room_photo(counted.tmp / "room.jpg", "bedroom", (480, 270))
    object_and_mask(photo, mask := counted.tmp / "mask.png", (200, 150, 260, 200))
    image_id = submission.submit_inpaint(
        counted.db, counted.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )
    with counted.db.session() as session:
        row = rows.get(session, ImageGeneration, image_id)
        path_of(row.mask_url).unlink()

    assert not counted.materialize([inpainted_image], "image_edits", image_id).success

    with counted.db.session() as session:
        refused = rows.get(session, ImageGeneration, image_id)
    assert refused.status == "failed" and "not found" in (refused.error_message or "").lower()
    assert "Traceback" not in (refused.error_message or "")
    assert submits(counted) == 0


def test_fal_without_a_key_fails_the_row_with_studios_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STUDIO_PROVIDER=fal with FAL_KEY unset: the image row says what to do."""
    photo = room_photo(tmp_path / "room.jpg", "kitchen", (320, 180))
    env = {
        "STUDIO_HOME": str(tmp_path / "home"),
        "STUDIO_PROVIDER": "fal",
        "PATH": "/usr/bin",
    }
    done = subprocess.run(
        [STUDIO, "image", "enhance", str(photo), "--wait", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode != 0
    status = json.loads(done.stdout.strip().splitlines()[-1])
    assert status["status"] == "failed"
    assert "FAL_KEY is not set" in status["error"], status["error"]
    assert "PostProcessingError" not in status["error"]
