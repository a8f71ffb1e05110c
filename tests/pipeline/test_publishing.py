"""Videos an agent can publish: listing and brand cards read back by OCR, the MLS-safe
unbranded cut, a vertical cut framed from the same clips, and sound at -14 LUFS."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from resources.errors import InputRejected, StudioError
from resources.ffmpeg import index_first, measure_loudness, probe, run_ffmpeg
from resources.models import VideoProject
from resources.provider.base import Kind
from resources.repository import rows
from studio_assets.app import control, submission
from studio_assets.app import status as status_json
from studio_assets.app.samples import music_bed, room_photo
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import parse_spec
from studio_assets.runtime.projects import drop_preview_clips, load_project
from tests.support.fakes import fake, journal
from tests.support.projects import clips, project, run
from tests.support.studio_fixtures import Studio

LISTING = {"address": "12 Elm Street", "price": 1250000, "beds": 4, "baths": 2.5, "area": 2400}
BRANDING = {
    "agent_name": "Jane Morrison",
    "agent_phone": "555-0142",
    "agent_email": "jane@acmerealty.com",
    "brokerage": "Acme Realty",
    "primary_color": "#1F3A5F",
}
AGENT_WORDS = ("Jane", "Morrison", "555-0142", "acmerealty", "Acme")
LOGO_RGB = (255, 0, 200)  # a magenta nobody's room photo has


@cache
def ocr() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def text_at(video: Path, at_s: float, workdir: Path) -> str:
    frame = workdir / f"{video.stem}-{at_s:.1f}.png"
    run_ffmpeg(["-ss", f"{at_s:.3f}", "-i", str(video), "-frames:v", "1", str(frame)])
    found, _ = ocr()(str(frame))
    return " ".join(text for _, text, _ in found or [])


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def magenta_share(video: Path, at_s: float, workdir: Path) -> float:
    """How much of the frame is the logo's magenta."""
    frame = workdir / f"{video.stem}-logo-{at_s:.1f}.png"
    run_ffmpeg(["-ss", f"{at_s:.3f}", "-i", str(video), "-frames:v", "1", str(frame)])
    px = np.asarray(Image.open(frame).convert("RGB"), dtype=np.int16)
    near = np.abs(px - np.array(LOGO_RGB)).sum(axis=2) < 90
    return float(near.mean())


def logo(path: Path) -> Path:
    mark = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    ImageDraw.Draw(mark).rounded_rectangle((0, 0, 399, 199), radius=40, fill=(*LOGO_RGB, 255))
    mark.save(path)
    return path


def spec(studio: Studio, **extra: Any) -> ProjectSpec:
    photos = [
        {"image": str(room_photo(studio.tmp / f"{room}.jpg", room, (640, 360))), "room_type": room}
        for room in ("exterior", "living-room")
    ]
    music = {"audio_url": str(music_bed(studio.tmp / "music.mp3", 6.0)), "volume": 40}
    data = {"name": "Elm house", "clips": photos, "music": music, **extra}
    return parse_spec(ProjectSpec, data)


def test_listing_branding_and_three_renditions_from_one_set_of_clips(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    renditions = [
        {"aspect_ratio": "16:9", "branded": True},
        {"aspect_ratio": "16:9", "branded": False},
        {"aspect_ratio": "9:16", "branded": True},
    ]
    branding = {**BRANDING, "logo": str(logo(studio.tmp / "logo.png"))}
    made = spec(studio, listing=LISTING, branding=branding, renditions=renditions)
    project_id = submission.submit_project(studio.db, studio.storage, made)

    assert run(studio, project_id).success

    done = project(studio, project_id)
    assert done.status == "completed"
    assert [c.status for c in clips(studio, project_id)] == ["completed", "completed"]
    status = status_json.video_status(studio.db, studio.storage, project_id)
    outputs = status["output"]["renditions"]
    assert [(o["aspect_ratio"], o["branded"]) for o in outputs] == [
        ("16:9", True),
        ("16:9", False),
        ("9:16", True),
    ]
    assert status["output"]["video_url"] == outputs[0]["video_url"]  # the contract's video
    videos = [Path(o["video_url"]) for o in outputs]
    branded, unbranded, vertical = videos
    work = studio.tmp / "frames"
    work.mkdir()
    for video in videos:
        info = probe(video)
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert info.duration_s == pytest.approx(10.0, abs=0.5)
        loudness = measure_loudness(video)
        assert loudness.integrated_lufs == pytest.approx(-14.0, abs=1.0)
        assert loudness.true_peak_dbtp <= -1.0
        assert index_first(video)
    assert (probe(vertical).width, probe(vertical).height) == (1080, 1920)

    for video in (branded, vertical):
        opening = text_at(video, 1.5, work)
        assert "12 Elm Street" in opening and "$1,250,000" in opening
        closing = text_at(video, 9.0, work)
        assert "Jane Morrison" in closing and "555-0142" in closing
        assert magenta_share(video, 5.0, work) > 0.002  # the logo in its corner mid-tour
    opening = text_at(unbranded, 1.5, work)
    assert "12 Elm Street" in opening  # the listing's facts may stay
    seen = " ".join(text_at(unbranded, t, work) for t in (1.5, 5.0, 9.0, 9.8))
    assert not any(word in seen for word in AGENT_WORDS), seen
    assert all(magenta_share(unbranded, t, work) < 0.0005 for t in (1.5, 5.0, 9.0))


def test_branding_alone_makes_a_branded_and_an_unbranded_cut(sqlite_studio: Studio) -> None:
    made = spec(sqlite_studio, branding=BRANDING)
    assert [(r.aspect_ratio, r.branded) for r in made.output_renditions()] == [
        ("16:9", True),
        ("16:9", False),
    ]
    assert [(r.aspect_ratio, r.branded) for r in spec(sqlite_studio).output_renditions()] == [
        ("16:9", True)
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"renditions": []}, "renditions: a project has 1 to 4 renditions (got 0)"),
        (
            {"renditions": [{"aspect_ratio": "9:16"}, {"aspect_ratio": "9:16"}]},
            "renditions: each rendition once: 9x16-branded, 9x16-branded",
        ),
        ({"renditions": [{"aspect_ratio": "4:3"}]}, "rendition 1 aspect_ratio"),
        ({"branding": {"primary_color": "blue"}}, "'blue' is not a colour like #1F3A5F"),
        ({"branding": {"agent_email": "jane"}}, "'jane' is not an email address"),
        ({"listing": {"beds": -2}}, "listing beds"),
    ],
)
def test_bad_publishing_fields_are_refused_by_name(
    sqlite_studio: Studio, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputRejected, match=re.escape(message)):
        spec(sqlite_studio, **extra)


def test_a_broken_logo_is_refused_before_anything_is_written(sqlite_studio: Studio) -> None:
    broken = sqlite_studio.tmp / "logo.png"
    broken.write_bytes(b"\x89PNG not really")
    made = spec(sqlite_studio, branding={**BRANDING, "logo": str(broken)})
    with pytest.raises(InputRejected, match="branding logo logo.png is corrupt"):
        submission.submit_project(sqlite_studio.db, sqlite_studio.storage, made)


def test_a_logo_from_another_workspace_refuses_the_project_before_it_pays(
    sqlite_studio: Studio,
) -> None:
    """A row the app wrote itself: its logo is another workspace's file."""
    studio = sqlite_studio
    project_id = submission.submit_project(studio.db, studio.storage, spec(studio))
    theirs = studio.storage.put_file(
        "workspaces/ws_other/uploads/u1/logo.png", logo(studio.tmp / "their-logo.png")
    )
    with studio.db.session() as session:
        session.get(VideoProject, project_id).branding = {**BRANDING, "logo": theirs}

    assert not run(studio, project_id).success

    failed = project(studio, project_id)
    assert failed.status == "failed" and failed.error_message.startswith("branding logo: ")
    assert [c.status for c in clips(studio, project_id)] == ["pending", "pending"]  # nothing bought


def test_a_free_preview_then_approve_buys_each_clip_once_with_the_same_cards(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    provider = fake()
    made = spec(studio, listing=LISTING, branding=BRANDING, preview=True)
    made.clips[0].transition = "seamless"
    project_id = submission.submit_project(
        studio.db, studio.storage, made, model=provider.model_for(Kind.IMAGE_TO_VIDEO)
    )
    estimate = project(studio, project_id).estimated_cost
    assert estimate > 0

    assert run(studio, project_id, provider=provider).success

    previewed = project(studio, project_id)
    assert previewed.status == "previewed" and previewed.final_video_url is None
    assert journal(provider.journal_name).submits == []  # the preview bought nothing
    assert previewed.estimated_cost == estimate and str(estimate) in previewed.label
    status = status_json.video_status(studio.db, studio.storage, project_id)
    preview = [Path(r["video_url"]) for r in status["preview"]["renditions"]]
    assert len(preview) == 2 and status["output"] is None

    control.approve(studio.db, project_id)
    assert project(studio, project_id).status == "queued"
    with pytest.raises(StudioError, match="only a previewed project can be approved"):
        control.approve(studio.db, project_id)
    assert run(studio, project_id, provider=provider).success

    done = project(studio, project_id)
    assert done.status == "completed" and done.actual_cost == estimate
    bought = journal(provider.journal_name).submits
    assert sorted(label.split(" (")[0] for label in bought) == [
        "clip 1",
        "clip 2",
        "transition 1→2",
    ]  # each once, nothing twice
    final = [
        Path(r["video_url"])
        for r in status_json.video_status(studio.db, studio.storage, project_id)["output"][
            "renditions"
        ]
    ]
    work = studio.tmp / "frames"
    work.mkdir()
    for before, after in zip(preview, final, strict=True):
        for at in (1.5, 14.0):  # the same opening and closing cards (OCR may space them apart)
            assert squeezed(text_at(before, at, work)) == squeezed(text_at(after, at, work))


def test_approving_through_the_db_forgets_only_the_free_preview_clips(
    sqlite_studio: Studio,
) -> None:
    """The app's own UPDATE (preview=false, queued): the run drops the clips the free engine
    made, never one a provider was paid for."""
    studio = sqlite_studio
    project_id = submission.submit_project(studio.db, studio.storage, spec(studio, preview=True))
    with studio.db.session() as session:
        row = session.get(VideoProject, project_id)
        row.preview, row.preview_outputs = False, [{"video_url": "file:///x.mp4"}]
        free, paid = rows.clips(session, project_id)
        free.status, free.provider_request_id, free.clip_url = "completed", "local-1", "file:///a"
        paid.status, paid.provider_request_id, paid.clip_url = "completed", "fal-2", "file:///b"

    after = drop_preview_clips(studio.db, load_project(studio.db, project_id), fake())

    assert [(c.status, c.provider_request_id) for c in after.clips] == [
        ("pending", None),
        ("completed", "fal-2"),
    ]
