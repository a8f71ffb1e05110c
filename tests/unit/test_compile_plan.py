"""The compile plan: which inputs are copied, which are normalised, what the timeline is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from resources.compile_plan import FPS, FRAMES, plan_compile
from resources.errors import InputRejected
from resources.ffmpeg import MediaInfo

MATCHING = MediaInfo(
    duration_s=5.0,
    video_codec="h264",
    width=1920,
    height=1080,
    fps=30.0,
    pix_fmt="yuv420p",
    audio_codec="aac",
    audio_rate=48_000,
    audio_channels=2,
)
NO_AUDIO = replace(MATCHING, audio_codec=None, audio_rate=0, audio_channels=0)


def _plan(*infos: MediaInfo, aspect_ratio: str = "16:9", music_volume: int = 50):
    inputs = [(Path(f"clip-{i}.mp4"), info) for i, info in enumerate(infos)]
    return plan_compile(inputs, aspect_ratio=aspect_ratio, music=None, music_volume=music_volume)


def test_matching_inputs_are_copied() -> None:
    plan = _plan(MATCHING, MATCHING, MATCHING)
    assert (plan.width, plan.height, plan.fps) == (1920, 1080, FPS)
    assert all(s.copies_video and not s.needs_silent_audio for s in plan.segments)
    assert (plan.copied_segments, plan.normalised_segments) == (3, 0)


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (replace(MATCHING, width=1280, height=720), "size 1280x720"),
        (replace(MATCHING, fps=24.0), "24 fps"),
        (replace(MATCHING, fps=30000 / 1001), "29.97 fps"),
        (replace(MATCHING, video_codec="hevc"), "codec hevc"),
        (replace(MATCHING, video_codec="mpeg4"), "codec mpeg4"),
        (replace(MATCHING, pix_fmt="yuv444p"), "pixel format yuv444p"),
    ],
)
def test_mismatching_video_is_normalised(info: MediaInfo, reason: str) -> None:
    (segment,) = _plan(info).segments
    assert segment.needs_video_normalise
    assert reason in segment.reasons


def test_input_without_audio_gets_silence_but_keeps_its_video() -> None:
    (segment,) = _plan(NO_AUDIO).segments
    assert segment.needs_silent_audio
    assert segment.copies_video


def test_audio_format_does_not_force_a_video_encode() -> None:
    # The audio is rebuilt and encoded once anyway, so mp3 or 44.1 kHz costs no video encode.
    (segment,) = _plan(replace(MATCHING, audio_codec="mp3", audio_rate=44_100)).segments
    assert segment.copies_video and not segment.needs_silent_audio


def test_expected_duration_is_the_sum_of_durations() -> None:
    plan = _plan(MATCHING, replace(MATCHING, duration_s=4.25), NO_AUDIO)
    assert plan.expected_duration_s == pytest.approx(14.25)
    assert plan.music_fade_start_s == pytest.approx(12.25)


@pytest.mark.parametrize("aspect_ratio", list(FRAMES))
def test_frame_follows_the_aspect_ratio(aspect_ratio: str) -> None:
    plan = _plan(MATCHING, aspect_ratio=aspect_ratio)
    assert (plan.width, plan.height) == FRAMES[aspect_ratio]
    assert plan.segments[0].copies_video is (aspect_ratio == "16:9")


def test_music_volume_is_a_linear_gain() -> None:
    assert _plan(MATCHING, music_volume=50).music_gain == 0.5
    assert _plan(MATCHING, music_volume=100).music_gain == 1.0
    quiet = plan_compile(
        [(Path("a.mp4"), MATCHING)], aspect_ratio="16:9", music=Path("m.mp3"), music_volume=0
    )
    assert not quiet.mixes_music


def test_no_inputs_are_rejected() -> None:
    with pytest.raises(InputRejected, match="no clips"):
        plan_compile([], aspect_ratio="16:9", music=None, music_volume=50)


def test_unknown_aspect_ratio_is_rejected() -> None:
    with pytest.raises(InputRejected, match="aspect ratio '4:3'"):
        _plan(MATCHING, aspect_ratio="4:3")


def test_volume_outside_range_is_rejected() -> None:
    with pytest.raises(InputRejected, match="volume 101"):
        _plan(MATCHING, music_volume=101)


def test_input_without_video_is_rejected_by_name() -> None:
    audio_only = replace(MATCHING, video_codec=None, width=0, height=0, fps=0.0, pix_fmt=None)
    with pytest.raises(InputRejected, match="clip-1.mp4 has no video"):
        _plan(MATCHING, audio_only)


def test_input_without_duration_is_rejected_by_name() -> None:
    with pytest.raises(InputRejected, match="clip-0.mp4 has zero duration"):
        _plan(replace(MATCHING, duration_s=0.0))
