"""The one place that runs FFmpeg and probes media.

FFmpeg comes from the imageio-ffmpeg wheel (no system install); probing uses PyAV because the
wheel ships no ffprobe. Every subprocess carries a timeout (Dagster has no per-step timeout).
"""

from __future__ import annotations

import contextlib
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
) -> None:
    """Run `ffmpeg -y -hide_banner -loglevel error <args>`; raise with FFmpeg's last lines.

    `stdin` (read with `-i pipe:0`) is streamed chunk by chunk while FFmpeg runs, so generated
    frames are encoded as they are made and never sit in memory all at once.
    """
    cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if stdin is None:
        returncode, stderr = _run(cmd, timeout_s)
    else:
        returncode, stderr = _run_fed(cmd, stdin, timeout_s)
    if returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise FFmpegError("FFmpeg failed: " + (" | ".join(tail) or f"exit {returncode}"))


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
