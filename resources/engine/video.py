"""The offline engine's image-to-video: Ken-Burns camera moves over a still, encoded as H.264.

The frames are made here rather than in an FFmpeg filter: `zoompan` snaps its window to whole
pixels (a visible judder on every zoom) and `perspective` is several times too slow at 1080p.
Each still is normalised, framed (`photo.py`) and upscaled once with Pillow and converted once
to YUV 4:2:0 planes; a frame is then a window on those planes. Pans and tilts move the window a
whole number of pixels per frame and copy it (only the half-size chroma is resampled when a
step falls between its pixels); zooms resample it with sub-pixel precision (OpenCV, bilinear).
Frames stream into FFmpeg's stdin, so encoding runs alongside the making of the next frame.
"""

from __future__ import annotations

import filecmp
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from resources.engine.audio import SAMPLE_RATE, ambient_bed_graph
from resources.engine.photo import frame_photo, open_photo
from resources.errors import InputRejected
from resources.ffmpeg import run_ffmpeg

ROOM = 1.2  # the still is upscaled once to this multiple of the frame: the camera's room to move
TAIL_FADE_S = 1.5
_KR, _KB = 0.2126, 0.0722  # BT.709 luma weights of red and blue

# The clips are stream-copied into the final video when they match it, so this is the final
# picture: veryfast (the compile's preset) at CRF 21. The smallest motion search is enough, as
# pans move by whole pixels (found at once) and no block search models a zoom; it saves about
# a third of x264's time. A fixed thread count (x264's output depends on it) and bit-exact
# flags make the same inputs give the same bytes. BT.709 limited range is what `_Still` makes.
_H264 = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-x264-params", "me=dia:subme=1",
    "-threads", "2", "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
    "-color_trc", "bt709", "-color_range", "tv", "-flags:v", "+bitexact",
]  # fmt: skip
_AAC = ["-c:a", "aac", "-b:a", "160k", "-ar", str(SAMPLE_RATE), "-ac", "2", "-flags:a", "+bitexact"]
_MP4 = ["-fflags", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4"]


class Motion(StrEnum):
    """The camera move of a clip, as `motion_from_prompt` reads it from a motion prompt."""

    PUSH_IN = "push_in"
    PULL_BACK = "pull_back"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"


_MOTION_PHRASES = [
    (re.compile(rf"\b(?:{phrase})\b", re.IGNORECASE), motion)
    for phrase, motion in [
        (r"(?:pan(?:s|ning|ned)?|track(?:s|ing)?|truck(?:s|ing)?)[\s-]+left", Motion.PAN_LEFT),
        (r"(?:pan(?:s|ning|ned)?|track(?:s|ing)?|truck(?:s|ing)?)[\s-]+right", Motion.PAN_RIGHT),
        (r"(?:push(?:es|ing)?|dolly(?:ing)?|zoom(?:s|ing)?)[\s-]+in(?:to)?", Motion.PUSH_IN),
        (r"mov(?:e|es|ing)[\s-]+forwards?", Motion.PUSH_IN),
        (
            r"(?:pull(?:s|ing)?[\s-]+back|(?:dolly(?:ing)?|zoom(?:s|ing)?)[\s-]+out)",
            Motion.PULL_BACK,
        ),
        (r"reveal(?:s|ing)?", Motion.PULL_BACK),
        (r"(?:tilt(?:s|ing)?|crane(?:s)?|craning)[\s-]+up|ris(?:e|es|ing)", Motion.TILT_UP),
        (r"tilt(?:s|ing)?[\s-]+down", Motion.TILT_DOWN),
    ]
]


def motion_from_prompt(prompt: str) -> Motion:
    """The camera move a motion prompt asks for: its first motion phrase, else a push-in."""
    hits = [
        (m.start(), motion) for pattern, motion in _MOTION_PHRASES if (m := pattern.search(prompt))
    ]
    return min(hits, key=lambda hit: hit[0])[1] if hits else Motion.PUSH_IN


def render_clip(
    start: Path,
    out: Path,
    *,
    end: Path | None = None,
    width: int = 1920,
    height: int = 1080,
    fps: int = 30,
    duration_s: float = 5.0,
    motion: Motion = Motion.PUSH_IN,
    audio: bool = False,
    timeout_s: float = 300,
) -> None:
    """Render `start` as a `duration_s` H.264 MP4 at `out`, the camera making `motion`.

    A different `end` image is crossfaded in over the last 1.5 s, still moving, so the clip ends
    on it. `audio` adds the ambient bed (AAC, stereo, 48 kHz); without it there is no audio
    stream. Raises `InputRejected` for an unreadable image and `FFmpegError` if encoding fails.
    """
    frame = _Frame.of(width, height, fps, duration_s)
    motion = Motion(motion)
    work = _working_size(frame, motion)
    stills = _load_stills([start] if end is None or _same_file(start, end) else [start, end], work)
    tail = stills[1] if len(stills) > 1 else None
    windows = _motion_windows(motion, frame, work)
    mix = _tail_mix(frame.count, round(TAIL_FADE_S * fps)) if tail else [0.0] * frame.count
    _encode(_frames(stills[0], tail, windows, mix, frame), out, frame, audio, timeout_s)


def render_transition(
    first: Path,
    second: Path,
    out: Path,
    *,
    width: int = 1920,
    height: int = 1080,
    fps: int = 30,
    duration_s: float = 5.0,
    timeout_s: float = 300,
) -> None:
    """Render a `duration_s` move from `first` into `second` as an H.264 MP4, without audio.

    It starts on the whole of `first`, pushes in while dissolving through the middle of the clip
    and settles back onto the whole of `second`, as a generated transition would.
    """
    frame = _Frame.of(width, height, fps, duration_s)
    work = _working_size(frame, Motion.PUSH_IN)
    room = min(work[0] / frame.width, work[1] / frame.height)
    progress = _progress(frame.count)
    windows = [_centred(work, frame, room ** (1 - math.sin(math.pi * p))) for p in progress]
    mix = [_smoothstep((p - 0.25) / 0.5) for p in progress]
    stills = _load_stills([first, second], work)
    _encode(_frames(stills[0], stills[1], windows, mix, frame), out, frame, False, timeout_s)


@dataclass(frozen=True)
class _Frame:
    """The output: its size, rate and length in frames (a whole number, at least two)."""

    width: int
    height: int
    fps: int
    count: int

    @classmethod
    def of(cls, width: int, height: int, fps: int, duration_s: float) -> _Frame:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"frame must have positive even sides, not {width}x{height}")
        if fps <= 0 or duration_s <= 0:
            raise ValueError(f"fps and duration must be positive, not {fps} and {duration_s}")
        return cls(width, height, fps, max(2, round(duration_s * fps)))

    @property
    def duration_s(self) -> float:
        return self.count / self.fps


@dataclass(frozen=True)
class _Window:
    """What the camera sees of the working still: top-left corner, and size in frames."""

    x: float
    y: float
    scale: float


@dataclass(frozen=True)
class _Still:
    """A photo fitted to the working size once, as BT.709 limited-range YUV 4:2:0 planes."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def load(cls, path: Path, size: tuple[int, int]) -> _Still:
        rgb = np.asarray(_fitted(path, size), dtype=np.float32) / 255
        luma = rgb @ np.array([_KR, 1 - _KR - _KB, _KB], dtype=np.float32)
        half = (size[0] // 2, size[1] // 2)
        cb = cv2.resize((rgb[..., 2] - luma) / (2 - 2 * _KB), half, interpolation=cv2.INTER_AREA)
        cr = cv2.resize((rgb[..., 0] - luma) / (2 - 2 * _KR), half, interpolation=cv2.INTER_AREA)
        return cls(
            y=_to_bytes(16 + 219 * luma), u=_to_bytes(128 + 224 * cb), v=_to_bytes(128 + 224 * cr)
        )

    def view(self, window: _Window, frame: _Frame) -> np.ndarray:
        """The picture `window` sees, as one packed yuv420p frame."""
        w, h = frame.width, frame.height
        picture = np.empty(w * h * 3 // 2, dtype=np.uint8)
        luma, chroma = w * h, w * h // 4
        _sample(self.y, window.x, window.y, window.scale, picture[:luma].reshape(h, w))
        for plane, offset in ((self.u, luma), (self.v, luma + chroma)):
            out = picture[offset : offset + chroma].reshape(h // 2, w // 2)
            _sample(plane, window.x / 2, window.y / 2, window.scale, out)
        return picture


def _load_stills(paths: list[Path], size: tuple[int, int]) -> list[_Still]:
    # Decoding and resizing release the GIL, so two photos load in about the time of one.
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(lambda path: _Still.load(path, size), paths))


def _fitted(path: Path, size: tuple[int, int]) -> Image.Image:
    # A photo the pipeline framed already has the frame's aspect, so framing it again only
    # scales it; a photo rendered directly is framed the same way (never a blind crop).
    try:
        image = open_photo(path, at_least=size)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputRejected(f"cannot read image {path.name}: {exc}") from exc
    return frame_photo(image, size)


def _to_bytes(plane: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(plane), 0, 255).astype(np.uint8)


def _sample(plane: np.ndarray, x: float, y: float, scale: float, out: np.ndarray) -> None:
    height, width = out.shape
    if scale == 1 and float(x).is_integer() and float(y).is_integer():
        out[:] = plane[int(y) : int(y) + height, int(x) : int(x) + width]
        return
    # Output pixel j samples the plane at x + (j + 0.5) * scale - 0.5 (pixel centres).
    to_plane = np.array([[scale, 0, x + 0.5 * scale - 0.5], [0, scale, y + 0.5 * scale - 0.5]])
    cv2.warpAffine(
        plane,
        to_plane,
        (width, height),
        dst=out,
        borderMode=cv2.BORDER_REPLICATE,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False  # let loading the image say what is wrong with it


def _working_size(frame: _Frame, motion: Motion) -> tuple[int, int]:
    # Pans and tilts need at least one spare pixel per frame along their axis.
    room = ROOM
    if motion in (Motion.PAN_LEFT, Motion.PAN_RIGHT):
        room = max(room, 1 + (frame.count - 1) / frame.width)
    elif motion in (Motion.TILT_UP, Motion.TILT_DOWN):
        room = max(room, 1 + (frame.count - 1) / frame.height)
    return _even_up(frame.width * room), _even_up(frame.height * room)


def _even_up(value: float) -> int:
    return 2 * math.ceil(value / 2 - 1e-9)


def _motion_windows(motion: Motion, frame: _Frame, work: tuple[int, int]) -> list[_Window]:
    if motion not in (Motion.PUSH_IN, Motion.PULL_BACK):
        return _slide_windows(motion, frame, work)
    room = min(work[0] / frame.width, work[1] / frame.height)
    eased = [_ease(p) for p in _progress(frame.count)]
    if motion == Motion.PULL_BACK:
        eased = [1 - e for e in eased]
    return [_centred(work, frame, room ** (1 - e)) for e in eased]


def _slide_windows(motion: Motion, frame: _Frame, work: tuple[int, int]) -> list[_Window]:
    # A constant whole-pixel step: no resampling, so no shimmer and no judder.
    along_x = motion in (Motion.PAN_LEFT, Motion.PAN_RIGHT)
    spare = work[0] - frame.width if along_x else work[1] - frame.height
    step = spare // (frame.count - 1)
    start = (spare - step * (frame.count - 1)) // 2
    offsets = [start + step * i for i in range(frame.count)]
    if motion in (Motion.PAN_LEFT, Motion.TILT_UP):
        offsets.reverse()
    if along_x:
        return [_Window(x, (work[1] - frame.height) // 2, 1.0) for x in offsets]
    return [_Window((work[0] - frame.width) // 2, y, 1.0) for y in offsets]


def _centred(work: tuple[int, int], frame: _Frame, scale: float) -> _Window:
    return _Window((work[0] - frame.width * scale) / 2, (work[1] - frame.height * scale) / 2, scale)


def _progress(count: int) -> list[float]:
    return [i / (count - 1) for i in range(count)]


def _ease(p: float) -> float:
    # Half linear, half smoothstep: eases in and out yet never stands still.
    return 0.5 * p + 0.5 * _smoothstep(p)


def _smoothstep(p: float) -> float:
    p = min(1.0, max(0.0, p))
    return p * p * (3 - 2 * p)


def _tail_mix(count: int, fade_frames: int) -> list[float]:
    fade = max(1, min(fade_frames, count // 2))
    return [_smoothstep((i - (count - fade) + 1) / fade) for i in range(count)]


def _frames(
    first: _Still, second: _Still | None, windows: list[_Window], mix: list[float], frame: _Frame
) -> Iterator[memoryview]:
    """Each frame of the move, packed yuv420p: `first`, crossfading into `second` by `mix`."""
    for window, alpha in zip(windows, mix, strict=True):
        if second is None or alpha <= 0:
            picture = first.view(window, frame)
        elif alpha >= 1:
            picture = second.view(window, frame)
        else:
            picture = cv2.addWeighted(
                first.view(window, frame), 1 - alpha, second.view(window, frame), alpha, 0.0
            )
        yield picture.data


def _encode(
    frames: Iterator[memoryview], out: Path, frame: _Frame, audio: bool, timeout_s: float
) -> None:
    # Written aside and moved into place, so a failed render never leaves a half file at `out`.
    partial = out.with_name(out.name + ".part")
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{frame.width}x{frame.height}",
           "-framerate", str(frame.fps), "-i", "pipe:0"]  # fmt: skip
    streams = ["-map", "0:v"]
    if audio:
        bed = ambient_bed_graph(frame.duration_s)
        streams = ["-filter_complex", bed, "-map", "0:v", "-map", "[bed]", *_AAC]
    try:
        args = [*raw, *streams, *_H264, "-r", str(frame.fps), *_MP4]
        run_ffmpeg([*args, str(partial)], timeout_s, stdin=frames)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
