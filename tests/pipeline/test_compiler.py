"""Compiling real media with FFmpeg: what a viewer would check in the output file."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from resources.compile_plan import AUDIO_RATE, plan_compile
from resources.compiler import CompileReport, compile_video
from resources.errors import InputRejected
from resources.ffmpeg import index_first, measure_loudness, probe, run_ffmpeg
from resources.renditions import Overlay, RenditionPlan, render


def make_clip(
    path: Path,
    *,
    seconds: float,
    size: str = "1920x1080",
    fps: int = 30,
    source: str = "testsrc2",
    tone_hz: int | None = 440,
    preset: str = "ultrafast",
    tags: tuple[str, ...] = (),
) -> Path:
    """A small H.264 clip from lavfi; AAC 48 kHz stereo when `tone_hz` is given; `tags` adds
    encoder options (colour tags, as providers write them)."""
    args = ["-f", "lavfi", "-i", f"{source}=s={size}:r={fps}:d={seconds}"]
    if tone_hz is not None:
        args += ["-f", "lavfi", "-i", f"sine=f={tone_hz}:r=48000:d={seconds}"]
    args += ["-c:v", "libx264", "-preset", preset, "-crf", "20", "-pix_fmt", "yuv420p", *tags]
    if tone_hz is not None:
        args += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
    run_ffmpeg([*args, str(path)])
    return path


def make_music(path: Path, seconds: float) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=f=330:r=44100:d={seconds}", "-c:a", "aac", str(path)])
    return path


def compile_clips(
    clips: list[Path],
    workdir: Path,
    *,
    aspect_ratio: str = "16:9",
    music: Path | None = None,
    music_volume: int = 50,
) -> CompileReport:
    inputs = [(clip, probe(clip)) for clip in clips]
    plan = plan_compile(inputs, aspect_ratio=aspect_ratio, music=music, music_volume=music_volume)
    return compile_video(plan, workdir, timeout_s=120)


def frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [
            hashlib.md5(frame.to_ndarray(format="yuv420p").tobytes()).hexdigest()
            for frame in container.decode(video=0)
        ]


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def audio_rms(path: Path, start_s: float, end_s: float) -> float:
    """RMS of the decoded audio between two times (all channels)."""
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray()
            times = frame.time + np.arange(samples.shape[-1]) / frame.sample_rate
            chunks.append(samples[:, (times >= start_s) & (times < end_s)])
    window = np.concatenate(chunks, axis=1)
    assert window.size, f"no audio between {start_s} and {end_s} s"
    return float(np.sqrt(np.mean(np.square(window))))


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    boxes = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            boxes.append(kind.decode("latin-1"))
            if size == 0:  # the last box runs to the end of the file
                break
            f.seek(size - 8, 1)
    return boxes


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("compile-inputs")
    return {
        "a": make_clip(d / "a.mp4", seconds=1.5, source="testsrc2", tone_hz=440),
        # Another encoder setting (CABAC, B-frames) than its neighbours, as real inputs vary.
        "b": make_clip(d / "b.mp4", seconds=1.5, source="testsrc", tone_hz=550, preset="veryfast"),
        "c": make_clip(d / "c.mp4", seconds=1.5, source="smptehdbars", tone_hz=660),
        "hd": make_clip(d / "hd.mp4", seconds=1.0, size="1280x720"),
        "film": make_clip(d / "film.mp4", seconds=1.0, fps=24, source="rgbtestsrc"),
        "mute": make_clip(d / "mute.mp4", seconds=2.0, tone_hz=None),
        "small": make_clip(d / "small.mp4", seconds=1.0, size="640x360", source="rgbtestsrc"),
        "music_short": make_music(d / "music-short.m4a", 1.0),
        "music_long": make_music(d / "music-long.m4a", 10.0),
    }


@pytest.fixture(scope="module")
def matching(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> CompileReport:
    clips = [media["a"], media["b"], media["c"]]
    return compile_clips(clips, tmp_path_factory.mktemp("matching"))


def test_matching_clips_are_joined_by_copy(matching: CompileReport, media: dict[str, Path]) -> None:
    info = probe(matching.video)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.audio_rate, info.audio_channels) == (1920, 1080, 48000, 2)
    assert matching.duration_s == pytest.approx(4.5, abs=0.1)
    assert (matching.copied_segments, matching.normalised_segments) == (3, 0)
    assert matching.size_bytes == matching.video.stat().st_size


def test_copied_video_is_bit_identical_to_the_sources(
    matching: CompileReport, media: dict[str, Path]
) -> None:
    sources = [h for name in ("a", "b", "c") for h in frame_hashes(media[name])]
    assert frame_hashes(matching.video) == sources


def test_output_starts_with_its_index(matching: CompileReport) -> None:
    boxes = top_level_boxes(matching.video)
    assert boxes.index("moov") < boxes.index("mdat")


def test_thumbnail_is_a_small_jpeg(matching: CompileReport) -> None:
    with Image.open(matching.thumbnail) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.width <= 640
        assert thumb.size == (640, 360)


def test_mixed_inputs_compile_to_one_frame_and_rate(media: dict[str, Path], tmp_path: Path) -> None:
    clips = [media["hd"], media["film"], media["mute"], media["a"]]
    report = compile_clips(clips, tmp_path)
    info = probe(report.video)
    assert (info.video_codec, info.width, info.height, info.pix_fmt) == (
        "h264",
        1920,
        1080,
        "yuv420p",
    )
    assert info.has_audio
    assert report.duration_s == pytest.approx(5.5, abs=0.5)
    assert (report.copied_segments, report.normalised_segments) == (2, 2)
    steps = np.diff(frame_times(report.video))
    assert steps == pytest.approx(1 / 30, abs=1e-3)


def test_vertical_project_letterboxes_a_wide_clip(media: dict[str, Path], tmp_path: Path) -> None:
    report = compile_clips([media["small"]], tmp_path, aspect_ratio="9:16")
    with av.open(str(report.video)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="gray")
    assert frame.shape == (1920, 1080)
    # 1080 px wide at 16:9 is 608 px tall: 656 px of black above and below.
    assert frame[:600].max() < 24
    assert frame[-600:].max() < 24
    assert frame[700:1200].mean() > 40


def test_short_music_is_looped_to_the_end(media: dict[str, Path], tmp_path: Path) -> None:
    report = compile_clips(
        [media["mute"], media["mute"]], tmp_path, music=media["music_short"], music_volume=100
    )
    assert report.duration_s == pytest.approx(4.0, abs=0.1)
    before_fade = audio_rms(report.video, 1.3, 1.9)
    assert before_fade > 0.03
    assert audio_rms(report.video, 3.8, 4.0) < before_fade / 4


def test_long_music_is_trimmed_to_the_video(media: dict[str, Path], tmp_path: Path) -> None:
    report = compile_clips([media["mute"]], tmp_path, music=media["music_long"], music_volume=100)
    assert report.duration_s == pytest.approx(2.0, abs=0.1)
    assert audio_rms(report.video, 0.2, 0.8) > 0.03


def tone_level(path: Path, start_s: float, end_s: float, hz: float) -> float:
    """Amplitude of one frequency in the decoded audio between two times (first channel)."""
    chunks = []
    rate = AUDIO_RATE
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            samples = frame.to_ndarray()[0]
            times = frame.time + np.arange(samples.shape[-1]) / rate
            chunks.append(samples[(times >= start_s) & (times < end_s)])
    window = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(window * np.hanning(window.size))) * 4 / window.size
    bins = np.fft.rfftfreq(window.size, 1 / rate)
    return float(spectrum[np.abs(bins - hz) < 5].max())


@pytest.mark.parametrize(
    ("clips", "music", "volume"),
    [
        (["a", "mute"], "music_long", 50),  # the clips' sound, music under it
        (["mute", "mute"], "music_long", 10),  # quiet music alone
        (["a", "b"], None, 50),  # the clips' own sound alone
    ],
)
def test_the_mix_is_normalised_to_minus_14_lufs_below_minus_1_dbtp(
    media: dict[str, Path], tmp_path: Path, clips: list[str], music: str | None, volume: int
) -> None:
    report = compile_clips(
        [media[c] for c in clips],
        tmp_path,
        music=media[music] if music else None,
        music_volume=volume,
    )
    loudness = measure_loudness(report.video)
    assert loudness.integrated_lufs == pytest.approx(-14.0, abs=1.0)
    assert loudness.true_peak_dbtp <= -1.0


def test_the_meter_agrees_with_loudnorms_own_measurement(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """Studio measures with `ebur128` (fast); FFmpeg's `loudnorm` measures the same BS.1770
    loudness its own way: on the compiled mix both say the same, within 0.3 LU / 0.3 dB."""
    report = compile_clips([media["a"], media["b"]], tmp_path, music=media["music_long"])
    ours = measure_loudness(report.video)
    args = ["-i", str(report.video), "-af", "loudnorm=print_format=json", "-f", "null", "-"]
    log = run_ffmpeg(args, loglevel="info")
    theirs = json.loads(log[log.rfind("{") : log.rfind("}") + 1])
    assert ours.integrated_lufs == pytest.approx(float(theirs["input_i"]), abs=0.3)
    assert ours.true_peak_dbtp == pytest.approx(float(theirs["input_tp"]), abs=0.3)


def test_silence_stays_silent(media: dict[str, Path], tmp_path: Path) -> None:
    report = compile_clips([media["mute"]], tmp_path, music=media["music_long"], music_volume=0)
    assert audio_rms(report.video, 0.1, 1.9) < 1e-4  # not noise lifted to -14 LUFS


def test_music_volume_sets_the_music_against_the_clips_sound(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """Volume is the music's gain under the clips' own sound (440 Hz against the music's
    330 Hz); the whole mix is normalised afterwards."""

    def music_to_clip(volume: int) -> float:
        video = compile_clips(
            [media["a"], media["mute"]],
            tmp_path / str(volume),
            music=media["music_long"],
            music_volume=volume,
        ).video
        return tone_level(video, 0.3, 1.3, 330) / tone_level(video, 0.3, 1.3, 440)

    assert music_to_clip(50) == pytest.approx(music_to_clip(100) / 2, rel=0.15)


def test_music_ducks_under_the_clips_own_sound(media: dict[str, Path], tmp_path: Path) -> None:
    clips = [media["a"], media["mute"], media["mute"]]  # 5.5 s; the music fades from 3.5 s
    video = compile_clips(clips, tmp_path, music=media["music_long"], music_volume=100).video
    under_clip = tone_level(video, 0.4, 1.4, 330)  # clip a plays its 440 Hz tone
    alone = tone_level(video, 2.0, 3.0, 330)  # the mute clips: the music alone
    assert under_clip < alone / 2  # at least 6 dB down while the clip speaks
    assert tone_level(video, 0.4, 1.4, 440) > under_clip  # and the clip's sound leads


def test_music_without_audio_is_rejected(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="mute.mp4 has no audio"):
        compile_clips([media["a"]], tmp_path, music=media["mute"])


def test_index_first_tells_a_faststart_mp4_from_one_without(
    matching: CompileReport, media: dict[str, Path], tmp_path: Path
) -> None:
    plain = tmp_path / "plain.mp4"
    run_ffmpeg(["-i", str(media["a"]), "-c", "copy", str(plain)])  # moov written last
    assert index_first(matching.video)
    assert not index_first(plain)


def test_a_held_clip_is_still_copied_and_shows_its_last_frame_for_the_hold(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """The narration needs clip a for 0.8 s more: its frames are copied as they are, then its
    last frame stays on screen, then clip b starts — sound and picture in step."""
    inputs = [(media[name], probe(media[name])) for name in ("a", "b")]
    plan = plan_compile(inputs, aspect_ratio="16:9", music=None, music_volume=50, holds={0: 0.8})
    report = compile_video(plan, tmp_path, timeout_s=120)

    assert report.duration_s == pytest.approx(1.5 + 0.8 + 1.5, abs=0.1)
    assert plan.expected_duration_s == pytest.approx(3.8, abs=0.01)
    assert (report.copied_segments, report.normalised_segments) == (2, 0)
    frames = frame_hashes(report.video)
    a, b = frame_hashes(media["a"]), frame_hashes(media["b"])
    assert frames[: len(a)] == a and frames[-len(b) :] == b  # both copied bit for bit
    times = frame_times(report.video)
    held = [t for t in times if 1.5 <= t < 2.3]
    assert held, "nothing on screen during the hold"
    with av.open(str(report.video)) as container:
        pictures = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    last_a = pictures[len(a) - 1].astype(int)
    for n, t in enumerate(times):
        if 1.55 <= t < 2.25:
            assert np.abs(pictures[n].astype(int) - last_a).mean() < 3  # the frozen last frame


BT709 = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709")


def test_a_held_clip_tagged_bt709_still_takes_cards_over_it(tmp_path: Path) -> None:
    """Clips tagged BT.709 (the offline engine's, Kling's) hold for the narration, then a
    rendition draws cards over the master: the hold keeps the clip's tags, so the rendition
    neither stalls at the join (FFmpeg rebuilding its graph) nor changes the length."""
    clips = [
        make_clip(tmp_path / f"{n}.mp4", seconds=2.0, source=src, tags=BT709)
        for n, src in enumerate(("testsrc2", "smptehdbars"))
    ]
    plan = plan_compile(
        [(c, probe(c)) for c in clips],
        aspect_ratio="16:9",
        music=None,
        music_volume=50,
        holds={0: 1.2},
    )
    report = compile_video(plan, tmp_path / "compile", timeout_s=120)
    opening, closing = tmp_path / "opening.png", tmp_path / "closing.png"
    for card, colour in ((opening, (200, 30, 30, 160)), (closing, (30, 30, 200, 160))):
        Image.new("RGBA", (1920, 1080), colour).save(card)
    cards = (Overlay(opening, 0.0, 1.0), Overlay(closing, 4.2, 5.2))

    rendered = render(report.video, RenditionPlan("cards", 1920, 1080, cards), tmp_path, 60)

    assert rendered.duration_s == pytest.approx(5.2, abs=0.1)
    with av.open(str(report.video)) as container:
        tags = {f.colorspace for f in container.decode(video=0)}
    assert len(tags) == 1, f"the master's colour tags change mid-stream: {tags}"
