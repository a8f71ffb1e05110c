"""How to compile the final property video, decided from what the probe says of each input.

Pure: no subprocess, no disk. `resources.compiler` executes the plan with FFmpeg.

The output is one H.264 (yuv420p, 30 fps, the project's frame) + AAC (48 kHz stereo) MP4.
Inputs whose video already matches are joined by stream copy; the others are letterboxed and
re-encoded first. Audio is always rebuilt (each segment's own sound, or silence of its length,
then the music under it, ducked where the clips have sound of their own), normalised to the
loudness platforms expect (−14 LUFS, true peak below −1 dBTP) and encoded once, so the video
decision never depends on the audio and matching clips lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resources.errors import InputRejected
from resources.ffmpeg import MediaInfo

__all__ = ["FRAMES", "FPS", "CompilePlan", "Segment", "VoiceLine", "plan_compile"]

FRAMES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
"""Output frame size per project aspect ratio: what photos are framed to and clips compiled at."""

FPS = 30
AUDIO_RATE = 48_000
AUDIO_CHANNELS = 2
MUSIC_FADE_S = 2.0
LOUDNESS_LUFS = -14.0
"""Integrated loudness of the final mix (YouTube, Instagram, Facebook normalise to about it)."""
TRUE_PEAK_DBTP = -1.5
"""What the normaliser aims at, inside the −1 dBTP ceiling platforms ask for."""
_FPS_TOLERANCE = 0.01


@dataclass(frozen=True)
class Segment:
    """One input in timeline order and what it needs before it can be joined.

    `duration_s` is the probed container duration, plus `hold_s` when the segment holds its
    last frame longer (for the narration): the segment occupies exactly that much of the
    output timeline, its audio (or silence) is cut or padded to it.
    """

    path: Path
    info: MediaInfo
    needs_video_normalise: bool
    needs_silent_audio: bool
    reasons: tuple[str, ...] = ()
    hold_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return round(self.info.duration_s + self.hold_s, 6)

    @property
    def copies_video(self) -> bool:
        return not self.needs_video_normalise


@dataclass(frozen=True)
class VoiceLine:
    """A spoken line in the mix: its speech, when it starts, how much faster it is played."""

    path: Path
    start_s: float
    tempo: float = 1.0


@dataclass(frozen=True)
class CompilePlan:
    """The whole compile: output frame, the segments in order, the music and its level.

    `music_volume` is 0–100 and linear: the music's gain against the clips' own sound is
    volume / 100, so 100 is the file's own level and 50 (the default) is 0.5 ≈ -6 dB, as the old
    product's `volume=0.5`; the whole mix is then normalised to `LOUDNESS_LUFS`.
    """

    width: int
    height: int
    fps: int
    segments: tuple[Segment, ...]
    music: Path | None
    music_volume: int
    expected_duration_s: float
    aspect_ratio: str = "16:9"
    voice: tuple[VoiceLine, ...] = ()
    """The narration of the master's sound (its branded renditions')."""

    @property
    def music_gain(self) -> float:
        return self.music_volume / 100

    @property
    def mixes_music(self) -> bool:
        """Music at volume 0 is left out rather than mixed in silent."""
        return self.music is not None and self.music_volume > 0

    @property
    def ducks_music(self) -> bool:
        """The music steps back (sidechain compression) under clips with sound of their own."""
        return self.mixes_music and any(not s.needs_silent_audio for s in self.segments)

    @property
    def music_fade_start_s(self) -> float:
        return max(0.0, self.expected_duration_s - MUSIC_FADE_S)

    @property
    def copied_segments(self) -> int:
        return sum(1 for s in self.segments if s.copies_video)

    @property
    def normalised_segments(self) -> int:
        return sum(1 for s in self.segments if s.needs_video_normalise)


def plan_compile(
    inputs: list[tuple[Path, MediaInfo]],
    *,
    aspect_ratio: str,
    music: Path | None,
    music_volume: int,
    holds: dict[int, float] | None = None,
    voice: tuple[VoiceLine, ...] = (),
) -> CompilePlan:
    """Plan the compile of `inputs` (clips and transitions, in timeline order); `holds` says
    how long an input (by its place in `inputs`) holds its last frame, for the narration.

    Raises `InputRejected` for no inputs, an unknown aspect ratio, a volume outside 0–100, or
    an input without video or without duration (the message names the file).
    """
    if not inputs:
        raise InputRejected("nothing to compile: no clips")
    if aspect_ratio not in FRAMES:
        known = ", ".join(FRAMES)
        raise InputRejected(f"unknown aspect ratio {aspect_ratio!r} (expected one of {known})")
    if not 0 <= music_volume <= 100:
        raise InputRejected(f"music volume {music_volume} is outside 0–100")
    width, height = FRAMES[aspect_ratio]
    holds = holds or {}
    segments = tuple(
        _segment(path, info, width, height, holds.get(n, 0.0))
        for n, (path, info) in enumerate(inputs)
    )
    return CompilePlan(
        width=width,
        height=height,
        fps=FPS,
        segments=segments,
        music=music,
        music_volume=music_volume,
        expected_duration_s=round(sum(s.duration_s for s in segments), 3),
        aspect_ratio=aspect_ratio,
        voice=voice,
    )


def _segment(path: Path, info: MediaInfo, width: int, height: int, hold_s: float) -> Segment:
    if info.video_codec is None or info.width <= 0 or info.height <= 0:
        raise InputRejected(f"{path.name} has no video stream")
    if info.duration_s <= 0:
        raise InputRejected(f"{path.name} has zero duration")
    reasons = video_mismatches(info, width, height)
    return Segment(
        path=path,
        info=info,
        needs_video_normalise=bool(reasons),
        needs_silent_audio=not info.has_audio,
        reasons=reasons,
        hold_s=hold_s,
    )


def video_mismatches(info: MediaInfo, width: int, height: int) -> tuple[str, ...]:
    """Why this video cannot be stream-copied into the output (empty: it can)."""
    reasons = []
    if info.video_codec != "h264":
        reasons.append(f"codec {info.video_codec}")
    if (info.width, info.height) != (width, height):
        reasons.append(f"size {info.width}x{info.height}")
    if abs(info.fps - FPS) > _FPS_TOLERANCE:
        reasons.append(f"{info.fps:g} fps")
    if info.pix_fmt != "yuv420p":
        reasons.append(f"pixel format {info.pix_fmt}")
    return tuple(reasons)
