"""Executes a `CompilePlan` with FFmpeg: the final property video and its thumbnail.

1. Every segment becomes a video-only MP4 with one shared time scale, in parallel: matching
   ones by stream copy (a remux), the others letterboxed and encoded with x264.
2. The sound track is rebuilt (each segment's own sound or silence, cut to its length, the
   music looped or trimmed under it, ducked under the clips' own sound and the narration,
   faded out) and its loudness measured (`ebur128`, first pass, nothing written).
3. One FFmpeg run joins the videos with the concat demuxer (`-c:v copy`), rebuilds the sound
   track again, normalises it with the measurement (one linear gain to −14 LUFS with the true
   peak below −1 dBTP; `loudnorm`'s dynamic mode when that gain would push the peak past it)
   and encodes it once to AAC, with `+faststart` (the index first, so it plays while it
   downloads).
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
    CompilePlan,
    Segment,
    VoiceLine,
)
from resources.errors import InputRejected
from resources.ffmpeg import (
    LOUDNESS_MEASURE,
    FFmpegError,
    Loudness,
    parse_loudness,
    probe,
    run_ffmpeg,
)
from resources.mix import normalise, sound_graphs

MAX_WORKERS = 3
# One time scale for every segment: the concat demuxer copies timestamps without rescaling
# them between files. 15360 = 512 ticks per frame at 30 fps (FFmpeg's own choice for 30 fps).
TIMESCALE = 15_360
X264 = {"vcodec": "libx264", "preset": "veryfast", "crf": 20, "profile:v": "high"}
AUDIO_BITRATE = "192k"
_AAC = ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS)]
THUMBNAIL_MAX_WIDTH = 640
HOLD_SEEK_S = 0.3
"""A held clip's last frame is found among its frames this close to its end."""


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

    `sounds` names other narrations of the same video: each is mixed, measured and encoded in
    the master's own FFmpeg runs, into `workdir/sound-{name}.m4a`. `timeout_s` bounds the
    whole compile; each FFmpeg run gets what is left of it.
    """
    started = time.monotonic()
    remaining = _budget(started + timeout_s, timeout_s)
    workdir.mkdir(parents=True, exist_ok=True)
    if plan.music is not None and plan.mixes_music:
        _check_music(plan.music)
    videos = _prepare_videos(plan, workdir, remaining)
    listing = _write_concat_list(plan.segments, videos, workdir / "videos.txt")
    sounds = sounds or {}
    voices = [plan.voice, *sounds.values()]  # the master's sound first
    outputs = [workdir / "final.mp4", *(workdir / f"sound-{name}.m4a" for name in sounds)]
    measured = parse_loudness(
        run_ffmpeg(_measure_args(plan, listing, voices), remaining(), loglevel="info")
    )
    run_ffmpeg(_join_args(plan, listing, voices, measured, outputs), remaining())
    video = outputs[0]
    duration_s = probe(video).duration_s
    thumbnail = make_thumbnail(video, workdir / "thumbnail.jpg", plan.width, duration_s)
    other_sounds = dict(zip(sounds, outputs[1:], strict=True))
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


def _prepare_videos(
    plan: CompilePlan, workdir: Path, remaining: Callable[[], float]
) -> list[list[Path]]:
    """Video-only, same-time-scale MP4s for each segment; at most MAX_WORKERS FFmpegs at once.

    A copied segment that holds its last frame (for the narration) is followed by a short
    still of that frame, so the clip itself is still copied, not encoded again."""

    def prepare(numbered: tuple[int, Segment]) -> list[Path]:
        index, segment = numbered
        out = workdir / f"segment-{index:03d}.mp4"
        if segment.needs_video_normalise:
            run_ffmpeg(_normalise_args(plan, segment, out), remaining())
            return [out]
        run_ffmpeg(_remux_args(segment, out), remaining())
        if segment.hold_s <= 0:
            return [out]
        held = workdir / f"segment-{index:03d}-hold.mp4"
        run_ffmpeg(_hold_args(plan, out, segment.hold_s, held), remaining())
        return [out, held]

    workers = min(MAX_WORKERS, len(plan.segments))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compile") as pool:
        return list(pool.map(prepare, enumerate(plan.segments)))


def _remux_args(segment: Segment, out: Path) -> list[str]:
    # Dropping the audio here also drops its start offset (AAC priming), which would otherwise
    # shift the copied video by a fraction of a frame at every join.
    video = ffmpeg.input(str(segment.path))["v:0"]
    return _args(ffmpeg.output(video, str(out), vcodec="copy", video_track_timescale=TIMESCALE))


def _hold_args(plan: CompilePlan, clip: Path, seconds: float, out: Path) -> list[str]:
    """`seconds` of the clip's last frame, in H.264 at the clip's frame and rate.

    Decoded from the clip itself (its last few frames, reversed, the first kept), so the still
    carries the clip's own colour tags: frames whose tags change mid-stream make FFmpeg rebuild
    a rendition's filter graph, which stalls it for good once a card's input has ended."""
    frames = max(1, round(seconds * plan.fps))
    last = (
        ffmpeg.input(str(clip), sseof=-HOLD_SEEK_S)["v:0"]
        .filter("reverse")
        .filter("trim", end_frame=1)
        .filter("loop", loop=frames - 1, size=1, start=0)
        .filter("setpts", f"N/{plan.fps}/TB")
    )
    # One picture repeated: x264's fastest preset codes it as well in a third of the time.
    still = {**X264, "preset": "ultrafast"}
    return _args(
        ffmpeg.output(last, str(out), r=plan.fps, video_track_timescale=TIMESCALE, **still)
    )


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


def _write_concat_list(
    segments: tuple[Segment, ...], videos: list[list[Path]], listing: Path
) -> Path:
    # The demuxer repeats each file's SPS/PPS in-band at its keyframes (auto_convert), so
    # segments from different encoders decode cleanly one after another. `duration` pins each
    # segment to its probed length, the length its audio is cut to: in sync at every join.
    lines = []
    for segment, files in zip(segments, videos, strict=True):
        spans = (
            [segment.duration_s] if len(files) == 1 else [segment.info.duration_s, segment.hold_s]
        )
        for video, seconds in zip(files, spans, strict=True):
            lines.append(f"file '{_concat_quote(video)}'")
            lines.append(f"duration {seconds:.6f}")
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _concat_quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")


def _measure_args(
    plan: CompilePlan, listing: Path, voices: list[tuple[VoiceLine, ...]]
) -> list[str]:
    """The first loudness pass: every mix rebuilt and measured in one run, nothing written."""
    inputs, graph, labels = sound_graphs(plan, voices)
    graph += [f"{label}{LOUDNESS_MEASURE}[measured{n}]" for n, label in enumerate(labels)]
    nulls = [
        arg for n in range(len(labels)) for arg in ("-map", f"[measured{n}]", "-f", "null", "-")
    ]
    return [*_concat(listing), *inputs, "-filter_complex", ";".join(graph), *nulls]


def _join_args(
    plan: CompilePlan,
    listing: Path,
    voices: list[tuple[VoiceLine, ...]],
    measured: list[Loudness],
    outputs: list[Path],
) -> list[str]:
    """One run: the video by concat copy (input 0) with the master's sound, and each other mix
    as a sound track of its own; every mix normalised to the target loudness (unless it is
    silence) and encoded once."""
    inputs, graph, labels = sound_graphs(plan, voices)
    maps = []
    for n, (label, loudness, out) in enumerate(zip(labels, measured, outputs, strict=True)):
        if not loudness.silent:
            graph.append(f"{label}{normalise(loudness)}[loud{n}]")
            label = f"[loud{n}]"
        picture = ["-map", "0:v:0", "-c:v", "copy", "-movflags", "+faststart"] if n == 0 else []
        maps += [*picture, "-map", label, *_AAC, str(out)]
    return [*_concat(listing), *inputs, "-filter_complex", ";".join(graph), *maps]


def _concat(listing: Path) -> list[str]:
    """The joined videos, input 0: the concat demuxer reading `listing`."""
    return ["-f", "concat", "-safe", "0", "-i", str(listing)]


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
