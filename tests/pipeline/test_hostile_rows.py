"""Rows written straight into the app DB (the language-neutral launch path) are checked exactly as
`studio submit` checks a spec, before anything is bought: each refusal below ends `failed`
with a message naming what is wrong, costs 0, and the provider is asked for nothing."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update
from sqlalchemy.orm import Session

from resources.errors import InputRejected
from resources.models import ImageGeneration, MusicTrack, VideoClip, VideoProject
from resources.repository import rows
from resources.storage.local import path_of
from studio_assets.app import submission
from studio_assets.app.samples import object_and_mask, room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.definitions import build_provider
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, parse_spec
from studio_assets.settings import load_settings
from tests.pipeline.test_cli import STUDIO
from tests.support.fakes import FakeProvider, journal
from tests.support.fal_standin import FalStandin
from tests.support.projects import ROOMS, clips, make_project, project, run
from tests.support.studio_fixtures import Studio

NO_KEY = "FAL_KEY is not set: export the Fal.ai key or use STUDIO_PROVIDER=local"


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
    "NUL in name": (_project_update(name="Elm\x00Street"), "name: contains a NUL character"),
    "unknown room": (
        _clip_update(room_type="ballroom"),
        "clip 1 (vc_{0}) room_type: 'ballroom' is not one of the 27 choices",
    ),
    "duration 7": (_clip_update(duration_seconds=7), "clip 1 (vc_{0}) duration_seconds: "),
    "bad transition": (_clip_update(transition_type="wipe"), "clip 1 (vc_{0}) transition_type"),
    "aspect 4:3": (_project_update(aspect_ratio="4:3"), "aspect_ratio: Input should be '16:9'"),
    "volume -50": (_project_update(music_volume=-50), "music_volume: Input should be greater"),
    "volume 150": (_project_update(music_volume=150), "music_volume: Input should be less"),
    "music not audio": (_music_is_not_audio, "(Test house music) is not an audio file"),
    "4th photo corrupt": (_corrupt_photo(3, _garbage), "clip 4 (bedroom, vc_{3}): start"),
    "decompression bomb": (_corrupt_photo(1, _bomb), "clip 2 (living room, vc_{1}): start"),
    "narration markup": (
        _project_update(narration={"script": ["a", "b", "{\\an8}c", "d"]}),
        "narration line 3 (kitchen) holds markup ({{\\an8}}); write plain words",
    ),
    "narration voice": (
        _project_update(narration={"voice": "alice"}),
        "unknown voice 'alice'; the voices are: joe, af_heart",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_project_row_is_refused_before_paying(counted: Studio, case: str) -> None:
    change, message = HOSTILE[case]
    if case == "NUL in name" and counted.db.url.startswith("postgresql"):
        pytest.skip("Postgres cannot store NUL: no app can write this row there")
    project_id = make_project(counted, ROOMS, seamless=(0,))
    ids = [c.id.removeprefix("vc_") for c in clips(counted, project_id)]
    edit_rows(counted, change, project_id)

    result = run(counted, project_id)

    assert not result.success
    refused = project(counted, project_id)
    assert refused.status == "failed"
    assert message.format(*ids) in (refused.error_message or ""), refused.error_message
    assert "Traceback" not in (refused.error_message or "")
    assert submits(counted) == 0, "a refusal must cost nothing"
    assert (refused.actual_cost or 0) == 0
    assert all(c.status == "pending" and not c.cost_cents for c in clips(counted, project_id))


def _image_row(studio: Studio, kind: str) -> str:
    photo = room_photo(studio.tmp / "room.jpg", "bedroom", (480, 270))
    if kind == "enhance":
        spec = EnhanceSpec(image=str(photo), room_type="bedroom")
        return submission.submit_enhance(studio.db, studio.storage, spec)
    object_and_mask(photo, mask := studio.tmp / "mask.png", (200, 150, 260, 200))
    inpaint = InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    return submission.submit_inpaint(studio.db, studio.storage, inpaint)


def _image_update(**values: Any) -> Callable[[Session, str], Any]:
    def change(session: Session, image_id: str) -> None:
        session.execute(
            update(ImageGeneration).where(ImageGeneration.id == image_id).values(**values)
        )

    return change


def _image_file(column: str, writer: Callable[[Path], None]) -> Callable[[Session, str], Any]:
    def change(session: Session, image_id: str) -> None:
        writer(path_of(getattr(rows.get(session, ImageGeneration, image_id), column)))

    return change


HOSTILE_IMAGES = {
    "unknown style": ("enhance", _image_update(style="baroque"), "style: unknown style 'baroque'"),
    "unknown room": (
        "enhance",
        _image_update(room_type="ballroom"),
        "room_type: 'ballroom' is not one of the 27 choices",
    ),
    "unknown mode": ("inpaint", _image_update(mode="erase"), "mode: Input should be 'remove'"),
    "add without prompt": ("inpaint", _image_update(mode="add", prompt=None), "needs a prompt"),
    "prompt too long": ("enhance", _image_update(prompt="x" * 2001), "prompt: String should"),
    "NUL in prompt": ("enhance", _image_update(prompt="a\x00b"), "prompt: contains a NUL"),
    "image not decodable": ("enhance", _image_file("original_image_url", _garbage), "corrupt"),
    "decompression bomb": ("enhance", _image_file("original_image_url", _bomb), "bomb"),
    "mask missing": ("inpaint", _image_file("mask_url", Path.unlink), "not found"),
    "mask a bomb": ("inpaint", _image_file("mask_url", _bomb), "mask claims far more pixels"),
}


@pytest.mark.parametrize("case", list(HOSTILE_IMAGES))
def test_a_hostile_image_row_is_refused_before_paying(counted: Studio, case: str) -> None:
    kind, change, message = HOSTILE_IMAGES[case]
    if case == "NUL in prompt" and counted.db.url.startswith("postgresql"):
        pytest.skip("Postgres cannot store NUL: no app can write this row there")
    image_id = _image_row(counted, kind)
    edit_rows(counted, change, image_id)

    asset, partitions = (
        (enhanced_image, "images") if kind == "enhance" else (inpainted_image, "image_edits")
    )
    assert not counted.materialize([asset], partitions, image_id).success

    with counted.db.session() as session:
        refused = rows.get(session, ImageGeneration, image_id)
    assert refused.status == "failed"
    assert message in (refused.error_message or ""), refused.error_message
    assert "Traceback" not in (refused.error_message or "")
    assert refused.cost_cents == 0 and refused.provider_request_id is None
    assert submits(counted) == 0, "a refusal must cost nothing"


def test_nul_in_a_spec_is_refused_before_any_row(studio: Studio) -> None:
    """On both app DBs: the spec is refused by name before a row or an upload exists."""
    photo = room_photo(studio.tmp / "k.jpg", "kitchen", (320, 180))
    spec = {"name": "Elm", "clips": [{"image": str(photo), "room_type": "kitchen"}]}
    spec["clips"][0]["room_label"] = "Kitchen\x00"  # type: ignore[index]
    with pytest.raises(InputRejected, match=r"clip 1 room_label: contains a NUL character"):
        submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))
    with pytest.raises(InputRejected, match="prompt: contains a NUL character"):
        parse_spec(EnhanceSpec, {"image": str(photo), "prompt": "bright\x00"})
    with studio.db.session() as session:
        assert session.query(VideoProject).count() == 0
    assert not (studio.tmp / "storage").exists()


def test_a_decompression_bomb_is_refused_at_submit(studio: Studio) -> None:
    bomb = studio.tmp / "bomb.png"
    _bomb(bomb)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InputRejected, match="image .*claims far more pixels .* decompression bomb"):
        submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(bomb)))
    with studio.db.session() as session:
        assert session.query(ImageGeneration).count() == 0


def test_nul_in_a_spec_is_refused_by_the_cli_on_postgres(pg_app_url: str, tmp_path: Path) -> None:
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


@pytest.fixture
def keyless_fal(
    studio: Studio, standin: FalStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FalStandin]:
    """`studio` on fal as `definitions` builds it with FAL_KEY unset; fal is the stand-in, so
    any request studio made would be seen."""
    monkeypatch.delenv("FAL_KEY")
    env = {"STUDIO_PROVIDER": "fal", "STUDIO_FETCH_ALLOW_HOSTS": standin.host}
    studio.provider = build_provider(load_settings(env))
    yield standin
    assert standin.posts == [] and standin.jobs == [], "nothing may be sent to fal"


def test_fal_without_a_key_fails_the_project_row_before_buying(
    studio: Studio, keyless_fal: FalStandin
) -> None:
    project_id = make_project(studio, ROOMS[:2], seamless=(0,))

    assert not run(studio, project_id).success

    refused = project(studio, project_id)
    assert refused.status == "failed"
    assert refused.error_message == NO_KEY, refused.error_message
    assert (refused.actual_cost or 0) == 0
    assert all(c.status == "pending" and not c.cost_cents for c in clips(studio, project_id))


def test_fal_without_a_key_fails_the_image_row_before_buying(
    studio: Studio, keyless_fal: FalStandin
) -> None:
    image_id = _image_row(studio, "enhance")

    assert not studio.materialize([enhanced_image], "images", image_id).success

    with studio.db.session() as session:
        refused = rows.get(session, ImageGeneration, image_id)
    assert refused.status == "failed" and refused.error_message == NO_KEY, refused.error_message
    assert refused.cost_cents == 0 and refused.request_status == "pending"


def test_fal_without_a_key_fails_the_row_from_the_cli(tmp_path: Path) -> None:
    """STUDIO_PROVIDER=fal, FAL_KEY unset, the real definitions: the row says what to do, not
    Dagster's PostProcessingError from resource set-up."""
    photo = room_photo(tmp_path / "room.jpg", "kitchen", (320, 180))
    env = {"STUDIO_HOME": str(tmp_path / "home"), "STUDIO_PROVIDER": "fal", "PATH": "/usr/bin"}
    done = subprocess.run(
        [STUDIO, "image", "enhance", str(photo), "--wait", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode != 0
    status = json.loads(done.stdout.strip().splitlines()[-1])
    assert status["status"] == "failed" and status["cost_cents"] == 0
    assert status["error"] == NO_KEY, status["error"]
