"""The video pipeline end to end: clips → transitions → final MP4, faults, cost, resume."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from resources.compiler import compile_video
from resources.errors import InputRejected
from resources.ffmpeg import probe, run_ffmpeg
from resources.models import MusicTrack, VideoProject
from resources.repository import ledger
from studio_assets.app import submission
from studio_assets.app.samples import room_photo
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import parse_spec
from tests.support.fakes import FakeProvider, fake, journal
from tests.support.projects import ROOMS, clips, make_project, project, run, video_of
from tests.support.studio_fixtures import Studio


def test_offline_engine_makes_a_playable_video_with_music_and_a_transition(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=(0,))

    result = run(sqlite_studio, project_id)

    assert result.success
    done = project(sqlite_studio, project_id)
    assert (done.status, done.progress, done.step) == ("completed", 100, "completed")
    assert done.completed_clip_count == 2 and done.actual_cost == 0
    info = probe(video_of(done))
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (1920, 1080)
    assert info.duration_s == pytest.approx(15.0, abs=0.5)  # 2 clips + 1 transition
    assert done.duration_seconds == pytest.approx(info.duration_s, abs=0.05)
    assert Path(done.thumbnail_url.removeprefix("file://")).stat().st_size > 0
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) >= {"h264_video", "aac_audio", "loudness_on_target", "index_first"}
    assert all(c.passed for c in checks.values())
    loudness = checks["loudness_on_target"].metadata
    assert loudness["integrated_lufs"].value == pytest.approx(-14.0, abs=1.0)
    assert loudness["true_peak_dbtp"].value <= -1.0
    run_tags = sqlite_studio.instance.get_run_by_id(result.run_id).tags
    assert run_tags["studio/progress"] == "100" and run_tags["studio/step"] == "completed"
    # Dagit tells one listing from another: the run and each materialization carry its name
    assert run_tags["studio/name"] == done.name
    for asset in ("video_clips", "transition_clips", "final_video"):
        metadata = result.asset_materializations_for_node(asset)[0].metadata
        assert metadata["name"].value == done.name


def test_a_fault_free_run_costs_exactly_the_estimate(studio: Studio):
    project_id = make_project(studio, ROOMS[:3], seamless=(0,), audio=True)
    provider = fake()

    assert run(studio, project_id, provider).success

    done = project(studio, project_id)
    # 3 clips × 5 s × 14 ¢ (native audio) + 1 transition × 5 s × 7 ¢
    assert done.estimated_cost == 3 * 70 + 35
    assert done.actual_cost == done.estimated_cost
    assert len(journal(provider.journal_name).submits) == 4


def test_a_failed_clip_does_not_stop_the_project(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:3], seamless=())
    provider = fake(fail_labels=["(kitchen)"])

    assert run(sqlite_studio, project_id, provider).success

    done = project(sqlite_studio, project_id)
    assert done.status == "completed" and done.completed_clip_count == 2
    kitchen = [c for c in clips(sqlite_studio, project_id) if c.room_type == "kitchen"][0]
    assert kitchen.status == "failed" and "invalid image" in kitchen.error_message
    assert probe(video_of(done)).duration_s == pytest.approx(10.0, abs=0.5)
    assert done.actual_cost == 2 * 70
    assert journal(provider.journal_name).count("(kitchen)") == 1  # bad input: not retried


def test_when_every_clip_fails_the_project_says_so(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=())
    result = run(sqlite_studio, project_id, fake(fail_labels=["clip"]))

    assert not result.success
    failed = project(sqlite_studio, project_id)
    assert failed.status == "failed"
    assert failed.error_message.startswith("All clip generations failed")
    assert failed.final_video_url is None


def test_a_video_that_fails_its_checks_is_never_announced(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
):
    """A compiler bug that drops the audio: the row fails naming the check, stores nothing."""
    import studio_assets.assets.final_video as final_video

    def without_audio(plan, out, **options):  # type: ignore[no-untyped-def]
        report = compile_video(plan, out, **options)
        silent = report.video.with_name("silent.mp4")
        run_ffmpeg(["-i", str(report.video), "-c", "copy", "-an", str(silent)])
        silent.replace(report.video)
        return report

    monkeypatch.setattr(final_video, "compile_video", without_audio)
    project_id = make_project(sqlite_studio, ROOMS[:1], seamless=())

    assert not run(sqlite_studio, project_id).success

    failed = project(sqlite_studio, project_id)
    assert failed.status == "failed" and failed.final_video_url is None
    assert "failed its checks: aac_audio (codec=None)" in failed.error_message
    assert list(sqlite_studio.tmp.rglob("final.mp4")) == []  # nothing stored


def test_a_failed_transition_falls_back_to_a_cut(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=(0,))
    provider = fake(fail_labels=["transition"])

    assert run(sqlite_studio, project_id, provider).success

    done = project(sqlite_studio, project_id)
    first = clips(sqlite_studio, project_id)[0]
    assert first.transition_status == "failed" and first.transition_clip_url is None
    assert probe(video_of(done)).duration_s == pytest.approx(10.0, abs=0.5)


def test_mixed_clips_compile(sqlite_studio: Studio):
    """720p clips without audio next to 1080p clips with audio, and a 24 fps transition."""
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=(0,), audio=True)
    run(sqlite_studio, project_id, fake())
    with sqlite_studio.db.session() as session:  # redo clip 2 and the transition as odd media
        ledger.reset(session, ledger.CLIP, clips(sqlite_studio, project_id)[1].id)
        ledger.reset(session, ledger.TRANSITION, clips(sqlite_studio, project_id)[0].id)
    odd = fake(width=1280, height=720, audio="never", fps=24)

    assert run(sqlite_studio, project_id, odd).success

    info = probe(video_of(project(sqlite_studio, project_id)))
    assert (info.width, info.height, round(info.fps)) == (1920, 1080, 30)
    assert info.audio_codec == "aac"
    assert info.duration_s == pytest.approx(15.0, abs=0.5)


def test_a_rerun_after_failure_buys_only_the_failed_work(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:3], seamless=(0,))
    first = fake(flaky_labels=["(kitchen)"])
    assert run(sqlite_studio, project_id, first).success
    assert journal(first.journal_name).count("(kitchen)") == 2  # 2 attempts, then given up

    second = fake()
    assert run(sqlite_studio, project_id, second).success

    assert journal(second.journal_name).submits == ["clip 3 (kitchen)"]
    done = project(sqlite_studio, project_id)
    assert done.completed_clip_count == 3
    assert done.actual_cost == done.estimated_cost  # nothing billed twice


def test_a_rerun_after_a_crash_resumes_the_in_flight_request(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=())
    crashed = clips(sqlite_studio, project_id)[0]
    with sqlite_studio.db.session() as session:  # a worker died after storing the request id
        token = ledger.claim(session, ledger.CLIP, crashed.id, "dead-run", 60)
        assert token and ledger.submitted(session, ledger.CLIP, crashed.id, token, "fake-inflight")
    provider = fake()

    assert run(sqlite_studio, project_id, provider).success

    log = journal(provider.journal_name)
    assert log.submits == ["clip 2 (living room)"]  # clip 1 was not bought again
    assert "fake-inflight" in log.waits
    assert clips(sqlite_studio, project_id)[0].provider_request_id == "fake-inflight"


def test_force_buys_again(sqlite_studio: Studio):
    project_id = make_project(sqlite_studio, ROOMS[:2], seamless=())
    assert run(sqlite_studio, project_id, fake()).success
    again = fake()
    config = {"ops": {"video_clips": {"config": {"force": True}}}}
    assert run(sqlite_studio, project_id, again, config).success
    assert len(journal(again.journal_name).submits) == 2


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "at least 1 clip (got 0)"),
        (21, "at most 20 clips (got 21)"),
    ],
)
def test_project_size_limits(count: int, message: str, tmp_path: Path):
    photo = room_photo(tmp_path / "p.jpg", size=(64, 36))
    spec = {"name": "x", "clips": [{"image": str(photo), "room_type": "kitchen"}] * count}
    with pytest.raises(InputRejected, match=re.escape(message)):
        parse_spec(ProjectSpec, spec)


def test_bad_spec_fields_each_get_a_message():
    spec = {
        "name": "x",
        "aspect_ratio": "4:3",
        "music": {"audio_url": "m.mp3", "volume": 101},
        "clips": [{"image": "a.gif", "room_type": "attic", "duration": 7}],
    }
    with pytest.raises(InputRejected) as error:
        parse_spec(ProjectSpec, spec)
    text = str(error.value)
    for field in (
        "aspect_ratio",
        "music volume",
        "clip 1 image",
        "clip 1 room_type: 'attic' is not one of the 27 choices",
        "clip 1 duration",
    ):
        assert field in text, text
    typo = {"name": "x", "clips": [{"image": "a.jpg", "room_type": "livingroom"}]}
    with pytest.raises(InputRejected, match="did you mean 'living-room'"):
        parse_spec(ProjectSpec, typo)


def test_fake_provider_is_a_provider():
    assert issubclass(FakeProvider, dg.ConfigurableResource)


def test_sound_too_peaky_for_minus_14_is_delivered_at_its_ceiling_not_refused(tmp_path: Path):
    """Sharp bursts over a quiet bed: the true peak reaches the ceiling before the loudness
    reaches -14 LUFS. The check passes and says so; plain quiet sound still fails it."""
    from studio_assets.assets.final_video import _loudness_check

    bursts = "aevalsrc=if(lt(mod(t\\,1)\\,0.01)\\,0.84*sin(2*PI*3000*t)\\,0):d=6"
    peaky, quiet = tmp_path / "peaky.m4a", tmp_path / "quiet.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", bursts, "-c:a", "aac", "-b:a", "192k", str(peaky)])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=6,volume=0.05", "-c:a", "aac", str(quiet)])

    limited = _loudness_check(peaky, True)
    assert limited.passed and limited.metadata["limited_by_true_peak"].value is True
    assert not _loudness_check(quiet, True).passed


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: p.write_text("not a song"), "is not audio FFmpeg can read"),
        (lambda p: room_photo(p.with_suffix(".jpg"), "k", (64, 36)).rename(p), "no audio stream"),
        (lambda p: p.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff" * 64), "music"),
    ],
    ids=["text", "a photo", "a truncated mp3"],
)
def test_music_that_is_not_audio_is_refused_at_submit_with_nothing_written(
    sqlite_studio: Studio, make: object, why: str
) -> None:
    """Music that does not decode is refused at submit, naming the file — before any photo is
    uploaded or any row exists — not when the run starts."""
    studio = sqlite_studio
    song = studio.tmp / "song.mp3"
    make(song)  # type: ignore[operator]
    spec = {"name": "Quiet", "music": {"audio_url": str(song)},
            "clips": [{"image": str(room_photo(studio.tmp / "k.jpg", "kitchen", (640, 360))),
                       "room_type": "kitchen"}]}  # fmt: skip
    with pytest.raises(InputRejected, match=f"music song.mp3 .*{re.escape(why)}|{why}"):
        submission.submit_project(studio.db, studio.storage, parse_spec(ProjectSpec, spec))
    with studio.db.session() as session:
        assert session.scalars(select(VideoProject)).all() == []
        assert session.scalars(select(MusicTrack)).all() == []
    assert not list((studio.tmp / "storage").rglob("*.*"))  # nothing uploaded
