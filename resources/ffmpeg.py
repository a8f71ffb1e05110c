"""The one place that runs FFmpeg and probes media.

FFmpeg comes from the imageio-ffmpeg wheel (no system install); probing uses PyAV because the
wheel ships no ffprobe. Every subprocess carries a timeout (Dagster has no per-step timeout).
"""

from __future__ import annotations

import contextlib
import re
import struct
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

import av
import imageio_ffmpeg

from resources.errors import StudioError

DEFAULT_TIMEOUT_S = 600.0


@cache
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


class FFmpegError(StudioError):
    pass


def run_ffmpeg(
    args: list[str],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    stdin: Iterable[bytes | memoryview] | None = None,
    loglevel: str = "error",
) -> str:
    """Run `ffmpeg -y -hide_banner -loglevel error <args>`; raise with FFmpeg's last lines.

    `stdin` (read with `-i pipe:0`) is streamed chunk by chunk while FFmpeg runs, so generated
    frames are encoded as they are made and never sit in memory all at once. Returns FFmpeg's
    log (what a filter reports at `loglevel`, e.g. `info` for a loudness measurement).
    """
    cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", loglevel, *args]
    if stdin is None:
        returncode, stderr = _run(cmd, timeout_s)
    else:
        returncode, stderr = _run_fed(cmd, stdin, timeout_s)
    log = stderr.decode(errors="replace")
    if returncode != 0:
        tail = log.strip().splitlines()[-5:]
        raise FFmpegError("FFmpeg failed: " + (" | ".join(tail) or f"exit {returncode}"))
    return log


@dataclass(frozen=True)
class Loudness:
    """EBU R128 loudness as FFmpeg's `ebur128` meter measures it (integrated LUFS, true peak
    dBTP, range LU, gating threshold): what normalising to a target needs."""

    integrated_lufs: float
    true_peak_dbtp: float
    range_lu: float
    threshold_lufs: float

    @property
    def silent(self) -> bool:
        """Digital silence, or as near as makes no difference: nothing to normalise."""
        return self.integrated_lufs <= SILENCE_LUFS


SILENCE_LUFS = -70.0
"""The meter's floor: what it says of digital silence."""
LOUDNESS_MEASURE = "ebur128=peak=true:framelog=quiet"
"""A loudness measurement (BS.1770, true peak 4× oversampled), printed when the stream ends:
a fifth of `loudnorm`'s time, which measures the same by resampling to 192 kHz throughout."""
_SUMMARY = re.compile(
    r"Parsed_ebur128_(?P<n>\d+) @ [^\]]*\] Summary:\s+"
    r"Integrated loudness:\s+I:\s+(?P<i>\S+) LUFS\s+Threshold:\s+(?P<thresh>\S+) LUFS"
    r"\s+Loudness range:\s+LRA:\s+(?P<lra>\S+) LU.*?True peak:\s+Peak:\s+(?P<tp>\S+) dBFS",
    re.DOTALL,
)


def parse_loudness(log: str) -> list[Loudness]:
    """Every measurement `LOUDNESS_MEASURE` printed in an FFmpeg log, in the order its
    filters stand in the graph."""
    found = sorted(_SUMMARY.finditer(log), key=lambda m: int(m["n"]))
    if not found:
        raise FFmpegError("FFmpeg's loudness measurement could not be read")
    # "-inf" (silence's true peak) parses as float('-inf')
    return [Loudness(*(float(m[k]) for k in ("i", "tp", "lra", "thresh"))) for m in found]


def measure_loudness(path: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """The loudness of `path`'s first audio stream."""
    args = ["-i", str(path), "-map", "0:a:0", "-af", LOUDNESS_MEASURE, "-f", "null", "-"]
    return parse_loudness(run_ffmpeg(args, timeout_s, loglevel="info"))[0]


def _run(cmd: list[str], timeout_s: float) -> tuple[int, bytes]:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"FFmpeg timed out after {timeout_s:.0f} s") from exc
    return done.returncode, done.stderr


def _run_fed(
    cmd: list[str], chunks: Iterable[bytes | memoryview], timeout_s: float
) -> tuple[int, bytes]:
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stderr is not None
    stderr = proc.stderr
    errors: list[bytes] = []
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    # Drained on the side: a full stderr pipe would block FFmpeg while we block writing to it.
    drain = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
    timer = threading.Timer(timeout_s, expire)
    drain.start()
    timer.start()
    try:
        _feed(proc.stdin, chunks)
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.wait()
        timer.cancel()
        drain.join()
    if expired.is_set():
        raise FFmpegError(f"FFmpeg timed out after {timeout_s:.0f} s")
    return proc.returncode, b"".join(errors)


def _feed(pipe: IO[bytes], chunks: Iterable[bytes | memoryview]) -> None:
    # A broken pipe means FFmpeg stopped reading; its exit code and stderr say why.
    with contextlib.suppress(BrokenPipeError):
        for chunk in chunks:
            pipe.write(chunk)
    with contextlib.suppress(BrokenPipeError):
        pipe.close()


@dataclass(frozen=True)
class MediaInfo:
    """What a probe says of a media file (ffprobe's answers, from PyAV)."""

    duration_s: float
    video_codec: str | None
    width: int
    height: int
    fps: float
    pix_fmt: str | None
    audio_codec: str | None
    audio_rate: int
    audio_channels: int

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def probe(path: Path) -> MediaInfo:
    """Probe `path`: container duration, first video and first audio stream."""
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            duration = (container.duration or 0) / 1_000_000
            fps = float(video.average_rate or video.guessed_rate or 0) if video else 0.0
            info = MediaInfo(
                duration_s=duration,
                video_codec=video.codec_context.name if video else None,
                width=video.codec_context.width if video else 0,
                height=video.codec_context.height if video else 0,
                fps=fps,
                pix_fmt=video.codec_context.pix_fmt if video else None,
                audio_codec=audio.codec_context.name if audio else None,
                audio_rate=audio.codec_context.sample_rate if audio else 0,
                audio_channels=audio.codec_context.channels if audio else 0,
            )
    except (av.error.FFmpegError, OSError) as exc:
        raise FFmpegError(f"cannot read media {path.name}: {exc}") from exc
    return info


def audible(path: Path, seconds: float = 1.0) -> str | None:
    """Why `path` is not audio that decodes (None: its first `seconds` decode to sound)."""
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                return "has no audio stream"
            decoded = 0.0
            for frame in container.decode(stream):
                decoded += frame.samples / (frame.sample_rate or 1)
                if decoded >= seconds:
                    break
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        return f"is not audio FFmpeg can read ({type(exc).__name__})"
    return None if decoded > 0 else "decodes to no sound"


def index_first(path: Path) -> bool:
    """Whether an MP4's index (`moov`) comes before its media (`mdat`) — `+faststart`: a
    player can start while the rest downloads."""
    boxes: list[bytes] = []
    with path.open("rb") as f:
        while len(header := f.read(8)) == 8 and len(boxes) < 64:
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind)
            if size == 1:  # a 64-bit size follows the type
                size = struct.unpack(">Q", f.read(8))[0] - 8
            if size == 0:  # the last box runs to the end of the file
                break
            f.seek(size - 8, 1)
    return b"moov" in boxes and (
        b"mdat" not in boxes or boxes.index(b"moov") < boxes.index(b"mdat")
    )
