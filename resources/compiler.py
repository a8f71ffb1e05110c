"""Executes a `CompilePlan` with FFmpeg: the final property video and its thumbnail.

1. Every segment becomes a video-only MP4 with one shared time scale, in parallel: matching
   ones by stream copy (a remux), the others letterboxed and encoded with x264.
2. The sound track is rebuilt (each segment's own sound or silence, cut to its length, the
   music looped or trimmed under it, ducked under the clips' own sound, faded out) and its
   loudness measured (`loudnorm`, first pass, nothing written).
3. One FFmpeg run joins the videos with the concat demuxer (`-c:v copy`), rebuilds the sound
   track again, normalises it with the measurement (one linear gain to −14 LUFS, true peak
   below −1 dBTP) and encodes it once to AAC, with `+faststart` (the index first, so it plays
   while it downloads).
4. A JPEG thumbnail is rendered from the output, and the output is probed for its duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from resources.compile_plan import (
    AUDIO_CHANNELS,
    AUDIO_RATE,
    LOUDNESS_LUFS,
    MUSIC_FADE_S,
    TRUE_PEAK_DBTP,
    CompilePlan,
    Segment,
    VoiceLine,
)
from resources.errors import InputRejected
from resources.ffmpeg import (
    LOUDNORM_MEASURE,
    FFmpegError,
    Loudness,
    parse_loudnorm,
    probe,
    run_ffmpeg,
)

MAX_WORKERS = 3
# One time scale for every segment: the concat demuxer copies timestamps without rescaling
# them between files. 15360 = 512 ticks per frame at 30 fps (FFmpeg's own choice for 30 fps).
TIMESCALE = 15_360
X264 = {"vcodec": "libx264", "preset": "veryfast", "crf": 20, "profile:v": "high"}
AUDIO_BITRATE = "192k"
THUMBNAIL_MAX_WIDTH = 640
# The music steps back under the clips' own sound: ~10 dB under sound at -21 dBFS RMS, ~3 dB
# under quiet room tone at -30 (threshold -34 dBFS, ratio 4); in 20 ms, back over 300 ms.
DUCKING = "threshold=0.02:ratio=4:attack=20:release=300"
# Everything else steps back under the narration: at least 10 dB under speech (threshold
# -46 dBFS, ratio 20), in 10 ms, back over 400 ms once a line ends.
VOICE_DUCKING = "threshold=0.005:ratio=20:attack=10:release=400"
# Speech peaks ~20 dB over its loudness, more than a linear gain to -14 LUFS under a -1.5 dBTP
# ceiling allows: the voice is levelled (+12 dB into a limiter 10.5 dB under full scale) to
# ~10 dB, as broadcast voice chains do.
VOICE_LEVELLING = "volume=4,alimiter=limit=0.3:level=false:attack=1:release=30"
_OUTPUT_FORMAT = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


@dataclass(frozen=True)
class CompileReport:
    """What the compile made and how: the files, the probed duration, the work it took."""

    video: Path
    thumbnail: Path
    duration_s: float
    size_bytes: int
    copied_segments: int
    normalised_segments: int
    seconds: float
    sounds: dict[str, Path]
    """Other sound tracks of the same video (an unbranded cut's narration), by name."""


def compile_video(
    plan: CompilePlan,
    workdir: Path,
    *,
    timeout_s: float = 900,
    sounds: dict[str, tuple[VoiceLine, ...]] | None = None,
) -> CompileReport:
    """Compile `plan` into `workdir/final.mp4` (+ `thumbnail.jpg`); the caller removes workdir.

    `sounds` names other narrations of the same video: each is mixed and normalised like the
    master's into `workdir/sound-{name}.m4a`. `timeout_s` bounds the whole compile; each FFmpeg
    run gets what is left of it.
    """
    started = time.monotonic()
    remaining = _budget(started + timeout_s, timeout_s)
    workdir.mkdir(parents=True, exist_ok=True)
    if plan.music is not None and plan.mixes_music:
        _check_music(plan.music)
    videos = _prepare_videos(plan, workdir, remaining)
    listing = _write_concat_list(plan.segments, videos, workdir / "videos.txt")
    measured = parse_loudnorm(
        run_ffmpeg(_measure_args(plan, listing), remaining(), loglevel="info")
    )
    video = workdir / "final.mp4"
    run_ffmpeg(_join_args(plan, listing, video, measured), remaining())
    duration_s = probe(video).duration_s
    thumbnail = make_thumbnail(video, workdir / "thumbnail.jpg", plan.width, duration_s)
    other_sounds = {
        name: _sound_track(plan, voice, workdir / f"sound-{name}.m4a", remaining)
        for name, voice in (sounds or {}).items()
    }
    return CompileReport(
        video=video,
        thumbnail=thumbnail,
        duration_s=duration_s,
        size_bytes=video.stat().st_size,
        copied_segments=plan.copied_segments,
        normalised_segments=plan.normalised_segments,
        seconds=round(time.monotonic() - started, 3),
        sounds=other_sounds,
    )


def _sound_track(
    plan: CompilePlan, voice: tuple[VoiceLine, ...], out: Path, remaining: Callable[[], float]
) -> Path:
    """The video's sound with another narration: measured, normalised, AAC, no picture."""
    inputs, graph, label = _audio(plan, voice, first=0)
    measure = [*inputs, "-filter_complex", ";".join([*graph, f"{label}{LOUDNORM_MEASURE}[m]"])]
    measured = parse_loudnorm(
        run_ffmpeg([*measure, "-map", "[m]", "-f", "null", "-"], remaining(), loglevel="info")
    )
    if not measured.silent:
        graph.append(f"{label}{_normalise(measured)}[loud]")
        label = "[loud]"
    run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            ";".join(graph),
            "-map",
            label,
            "-c:a",
            "aac",
            "-b:a",
            AUDIO_BITRATE,
            "-ar",
            str(AUDIO_RATE),
            "-ac",
            str(AUDIO_CHANNELS),
            str(out),
        ],  # fmt: skip
        remaining(),
    )
    return out


def _budget(deadline: float, timeout_s: float) -> Callable[[], float]:
    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FFmpegError(f"compile took longer than {timeout_s:.0f} s")
        return left

    return remaining


def _check_music(music: Path) -> None:
    try:
        info = probe(music)
    except FFmpegError as exc:
        raise InputRejected(f"music {music.name} is not readable audio") from exc
    if not info.has_audio:
        raise InputRejected(f"music {music.name} has no audio track")


def _prepare_videos(plan: CompilePlan, workdir: Path, remaining: Callable[[], float]) -> list[Path]:
    """Video-only, same-time-scale MP4s, one per segment; at most MAX_WORKERS FFmpegs at once."""

    def prepare(numbered: tuple[int, Segment]) -> Path:
        index, segment = numbered
        out = workdir / f"segment-{index:03d}.mp4"
        if segment.needs_video_normalise:
            run_ffmpeg(_normalise_args(plan, segment, out), remaining())
        else:
            run_ffmpeg(_remux_args(segment, out), remaining())
        return out

    workers = min(MAX_WORKERS, len(plan.segments))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compile") as pool:
        return list(pool.map(prepare, enumerate(plan.segments)))


def _remux_args(segment: Segment, out: Path) -> list[str]:
    # Dropping the audio here also drops its start offset (AAC priming), which would otherwise
    # shift the copied video by a fraction of a frame at every join.
    video = ffmpeg.input(str(segment.path))["v:0"]
    return _args(ffmpeg.output(video, str(out), vcodec="copy", video_track_timescale=TIMESCALE))


def _normalise_args(plan: CompilePlan, segment: Segment, out: Path) -> list[str]:
    """Letterbox into the frame (fit + pad, never stretch), 30 fps, yuv420p, x264."""
    w, h = plan.width, plan.height
    video = (
        ffmpeg.input(str(segment.path))["v:0"]
        .filter("scale", w, h, force_original_aspect_ratio="decrease", force_divisible_by=2)
        .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black")
        .filter("setsar", 1)
        .filter("fps", plan.fps)
        .filter("format", "yuv420p")
    )
    if segment.hold_s > 0:
        video = video.filter("tpad", stop_mode="clone", stop_duration=f"{segment.hold_s:.3f}")
    return _args(
        ffmpeg.output(
            video,
            str(out),
            t=segment.duration_s,
            video_track_timescale=TIMESCALE,
            **X264,
        )
    )


def _write_concat_list(segments: tuple[Segment, ...], videos: list[Path], listing: Path) -> Path:
    # The demuxer repeats each file's SPS/PPS in-band at its keyframes (auto_convert), so
    # segments from different encoders decode cleanly one after another. `duration` pins each
    # segment to its probed length, the length its audio is cut to: in sync at every join.
    lines = []
    for segment, video in zip(segments, videos, strict=True):
        lines.append(f"file '{_concat_quote(video)}'")
        lines.append(f"duration {segment.duration_s:.6f}")
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _concat_quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")


def _audio(
    plan: CompilePlan, voice: tuple[VoiceLine, ...] | None = None, first: int = 1
) -> tuple[list[str], list[str], str]:
    """The audio inputs (numbered from `first`: after the concat list, input 0), the filter
    graph that rebuilds the sound track with `voice` (the plan's own by default), and its
    output label.

    Written out by hand: ffmpeg-python merges identical inputs (a clip used twice) into one
    node, which this graph must not do.
    """
    voice = plan.voice if voice is None else voice
    inputs: list[str] = []

    def added(*args: str) -> int:
        inputs.extend(args)
        return first + inputs.count("-i") - 1

    graph = []
    for n, segment in enumerate(plan.segments):
        if segment.needs_silent_audio:
            graph.append(f"{_silence(segment.duration_s)}[a{n}]")
        else:
            graph.append(
                f"[{added('-i', str(segment.path))}:a:0]{_sound(segment.duration_s)}[a{n}]"
            )
    labels = "".join(f"[a{n}]" for n in range(len(plan.segments)))
    graph.append(f"{labels}concat=n={len(plan.segments)}:v=0:a=1[native]")
    beds = ["[native]"]
    if plan.mixes_music:
        music = added("-stream_loop", "-1", "-i", str(plan.music))
        graph += _music(plan, music)
        beds = ["[native_kept]" if plan.ducks_music else "[native]", "[music_bed]"]
    if voice:
        graph += _voice(plan, voice, [added("-i", str(line.path)) for line in voice])
        keys = "".join(f"[key{n}]" for n in range(len(beds)))
        graph.append(f"[voice]asplit={len(beds) + 1}[speech]{keys}")
        for n, bed in enumerate(beds):
            graph.append(f"{bed}[key{n}]sidechaincompress={VOICE_DUCKING}[under{n}]")
        beds = [*(f"[under{n}]" for n in range(len(beds))), "[speech]"]
    if len(beds) == 1:
        return inputs, graph, beds[0]
    # normalize=0: amix would otherwise lower each input to make room for the others.
    graph.append(f"{''.join(beds)}amix=inputs={len(beds)}:duration=first:normalize=0[mixed]")
    return inputs, graph, "[mixed]"


def _voice(plan: CompilePlan, voice: tuple[VoiceLine, ...], numbers: list[int]) -> list[str]:
    """Each line at its start (and tempo), on one track as long as the video."""
    total = plan.expected_duration_s
    graph = []
    for n, (line, number) in enumerate(zip(voice, numbers, strict=True)):
        tempo = f"atempo={line.tempo:.4f}," if abs(line.tempo - 1) > 1e-3 else ""
        delay = round(line.start_s * 1000)
        graph.append(
            f"[{number}:a:0]aresample={AUDIO_RATE},{_OUTPUT_FORMAT},{tempo}"
            f"adelay={delay}:all=1[line{n}]"
        )
    labels = "".join(f"[line{n}]" for n in range(len(voice)))
    joined = (
        f"{labels}amix=inputs={len(voice)}:duration=longest:normalize=0,"
        if len(voice) > 1
        else f"{labels}"
    )
    graph.append(
        f"{joined}{VOICE_LEVELLING},apad=whole_dur={total:.6f},atrim=end={total:.6f}[voice]"
    )
    return graph


def _measure_args(plan: CompilePlan, listing: Path) -> list[str]:
    """The first loudness pass: the sound track rebuilt and measured, nothing written."""
    inputs, graph, label = _audio(plan)
    graph.append(f"{label}{LOUDNORM_MEASURE}[measured]")
    return [
        "-f", "concat", "-safe", "0", "-i", str(listing), *inputs,
        "-filter_complex", ";".join(graph), "-map", "[measured]", "-f", "null", "-",
    ]  # fmt: skip


def _normalise(measured: Loudness) -> str:
    """The second pass: one linear gain to the target (loudnorm falls back to its dynamic mode
    only when that gain would push the true peak past the ceiling), back at 48 kHz."""
    return (
        f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DBTP}:LRA=20"
        f":measured_I={measured.integrated_lufs:.2f}:measured_TP={measured.true_peak_dbtp:.2f}"
        f":measured_LRA={measured.range_lu:.2f}:measured_thresh={measured.threshold_lufs:.2f}"
        f":linear=true,aresample={AUDIO_RATE}"
    )


def _join_args(plan: CompilePlan, listing: Path, out: Path, measured: Loudness) -> list[str]:
    """Video by concat copy (input 0); audio rebuilt in one filter graph, normalised to the
    target loudness (unless it is silence) and encoded once."""
    inputs, graph, label = _audio(plan)
    if not measured.silent:
        graph.append(f"{label}{_normalise(measured)}[loud]")
        label = "[loud]"
    return [
        "-f", "concat", "-safe", "0", "-i", str(listing), *inputs,
        "-filter_complex", ";".join(graph),
        "-map", "0:v:0", "-map", label,
        "-c:v", "copy",
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS),
        "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip


def _silence(duration_s: float) -> str:
    return f"anullsrc=r={AUDIO_RATE}:cl=stereo:d={duration_s:.6f},{_OUTPUT_FORMAT}"


def _sound(duration_s: float) -> str:
    """A segment's own sound, exactly `duration_s` long: padded with silence or cut."""
    # async=1 fills a late start or a gap with silence instead of pulling the sound earlier.
    return (
        f"aresample={AUDIO_RATE}:async=1:first_pts=0,{_OUTPUT_FORMAT},"
        f"apad=whole_dur={duration_s:.6f},atrim=end={duration_s:.6f},asetpts=N/SR/TB"
    )


def _music(plan: CompilePlan, music_input: int) -> list[str]:
    """`[music_bed]`: the music looped (or trimmed) to the video, faded out, at its gain; ducked
    by the native sound (a sidechain compressor keyed on it, `[native_kept]` passing the native
    sound on) where there is any."""
    total = plan.expected_duration_s
    fade = min(MUSIC_FADE_S, total)
    music = [
        f"[{music_input}:a:0]{_OUTPUT_FORMAT},atrim=end={total:.6f},"
        f"afade=t=out:st={plan.music_fade_start_s:.6f}:d={fade:.6f},"
        f"volume={plan.music_gain:.3f}" + ("[music]" if plan.ducks_music else "[music_bed]"),
    ]
    if plan.ducks_music:
        music += [
            "[native]asplit=2[native_kept][key]",
            f"[music][key]sidechaincompress={DUCKING}[music_bed]",
        ]
    return music


def make_thumbnail(video: Path, out: Path, frame_width: int, duration_s: float) -> Path:
    """A frame at 1 s (10 % in for shorter videos), at most 640 px wide."""
    at = min(1.0, 0.1 * duration_s)
    width = min(THUMBNAIL_MAX_WIDTH, frame_width)
    frame = ffmpeg.input(str(video), ss=f"{at:.3f}")["v:0"].filter("scale", width, -2)
    run_ffmpeg(_args(ffmpeg.output(frame, str(out), **{"frames:v": 1, "q:v": 3})))
    return out


def _args(node: Any) -> list[str]:
    """ffmpeg-python's argument list without the executable (run_ffmpeg adds its own)."""
    return list(node.get_args())
