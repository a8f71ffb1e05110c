"""Renditions of a compiled video: another frame and cards over it, from the same master.

The master (`compiler.compile_video`) is the joined clips with the finished sound. A rendition
at the master's frame with nothing over it *is* the master; any other is one x264 pass over
it: reframed when its aspect differs (the picture fitted whole over a blurred, darkened fill
of itself — never a blind crop), each overlay (a full-frame RGBA PNG) faded in and out over
its span, captions burned in (an ASS script, libass) when asked, the sound copied untouched
(already at its loudness) — the master's, or another narration's (an unbranded cut's) —
`+faststart`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from resources.compile_plan import FPS
from resources.compiler import X264, make_thumbnail
from resources.ffmpeg import probe, run_ffmpeg

FADE_S = 0.5
FILL_BLUR = 40  # px of blur at full size
FILL_SCALE = 4


@dataclass(frozen=True)
class Overlay:
    """A full-frame RGBA picture shown from `start_s` to `end_s`, fading in and out."""

    png: Path
    start_s: float
    end_s: float


@dataclass(frozen=True)
class RenditionPlan:
    key: str
    width: int
    height: int
    overlays: tuple[Overlay, ...] = field(default=())
    captions: Path | None = None
    """An ASS script to burn in, drawn with the fonts in `fonts`."""
    fonts: Path | None = None
    sound: Path | None = None
    """Another sound track for this rendition (the master's when None)."""


@dataclass(frozen=True)
class Rendered:
    key: str
    video: Path
    thumbnail: Path
    duration_s: float
    width: int
    height: int
    captions: Path | None = None
    """Its WebVTT sidecar, when it has one."""

    @property
    def size(self) -> tuple[int, int]:
        """The frame the rendition was planned at."""
        return self.width, self.height


def render(master: Path, plan: RenditionPlan, workdir: Path, timeout_s: float) -> Rendered:
    """`plan` made from `master` into `workdir/{key}.mp4` (+ its thumbnail)."""
    info = probe(master)
    out = workdir / f"{plan.key}.mp4"
    reframe = (info.width, info.height) != (plan.width, plan.height)
    draws = bool(plan.overlays) or reframe or plan.captions is not None
    if not draws and plan.sound is None:
        shutil.copyfile(master, out)  # the master as it is: no second encode
    elif not draws:
        run_ffmpeg(_resound_args(master, plan, out), timeout_s)
        info = probe(out)
    else:
        run_ffmpeg(_render_args(master, plan, out, reframe), timeout_s)
        info = probe(out)
    thumbnail = make_thumbnail(out, workdir / f"{plan.key}.jpg", info.width, info.duration_s)
    return Rendered(plan.key, out, thumbnail, info.duration_s, plan.width, plan.height)


def _render_args(master: Path, plan: RenditionPlan, out: Path, reframe: bool) -> list[str]:
    # reinit_filter=0: segments from different encoders may tag their colours differently;
    # rebuilding the graph at such a join would stall it once a card's input has ended.
    source = ffmpeg.input(str(master), reinit_filter=0)
    video = source["v:0"]
    if reframe:
        video = _reframed(video, plan.width, plan.height)
    for overlay in plan.overlays:
        video = ffmpeg.overlay(video, _faded(overlay), eof_action="pass", format="auto")
    if plan.captions is not None:
        video = video.filter("subtitles", filename=str(plan.captions), fontsdir=str(plan.fonts))
    video = video.filter("format", "yuv420p")
    sound = ffmpeg.input(str(plan.sound))["a:0"] if plan.sound else source["a:0"]
    output = ffmpeg.output(
        video,
        sound,
        str(out),
        acodec="copy",
        r=FPS,
        movflags="+faststart",
        **X264,
    )
    return list(output.get_args())


def _resound_args(master: Path, plan: RenditionPlan, out: Path) -> list[str]:
    """The master's picture as it is, with the rendition's own sound track."""
    assert plan.sound is not None
    picture = ffmpeg.input(str(master))["v:0"]
    sound = ffmpeg.input(str(plan.sound))["a:0"]
    output = ffmpeg.output(picture, sound, str(out), c="copy", movflags="+faststart")
    return list(output.get_args())


def _reframed(video: Any, width: int, height: int) -> Any:
    """The picture fitted whole into the frame over a blurred, darker fill of itself."""
    small_w, small_h = width // FILL_SCALE, height // FILL_SCALE  # blurred small: cheap
    fill = (
        video.filter("scale", small_w, small_h, force_original_aspect_ratio="increase")
        .filter("crop", small_w, small_h)
        .filter("boxblur", FILL_BLUR // FILL_SCALE)
        .filter("eq", brightness=-0.12)
        .filter("scale", width, height)
    )
    picture = video.filter(
        "scale", width, height, force_original_aspect_ratio="decrease", force_divisible_by=2
    )
    return ffmpeg.overlay(fill, picture, x="(W-w)/2", y="(H-h)/2").filter("setsar", 1)


def _faded(overlay: Overlay) -> Any:
    span = overlay.end_s - overlay.start_s
    fade = min(FADE_S, span / 3)
    return (
        ffmpeg.input(str(overlay.png), loop=1, framerate=FPS, t=f"{span:.3f}")
        .filter("format", "rgba")
        .filter("fade", type="in", start_time=0, duration=fade, alpha=1)
        .filter("fade", type="out", start_time=span - fade, duration=fade, alpha=1)
        .filter("setpts", f"PTS+{overlay.start_s:.3f}/TB")
    )
