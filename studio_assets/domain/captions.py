"""Captions of the spoken lines: a WebVTT sidecar (what players and platforms load beside the
video) and an ASS script for burning them in (FFmpeg's `subtitles` filter, libass), one cue
per line, timed to the speech.

Burned-in captions sit inside the platform's safe area: above the bottom band where vertical
feeds (Reels, TikTok, Shorts) lay their caption and buttons, clear of the right-hand button
column, and never over the top bar.
"""

from __future__ import annotations

from collections.abc import Sequence

from studio_assets.domain.speech_timing import TimedLine

WORD_JOINER = "\u2060"
SAFE_AREA = {
    # (margin left, margin right, margin bottom) as parts of the frame's width / height
    "9:16": (0.08, 0.15, 0.26),
    "16:9": (0.10, 0.10, 0.08),
    "1:1": (0.08, 0.08, 0.10),
}
TOP = "{\\an8}"
"""ASS override: this line at the top centre (text never holds braces: `line_problem`)."""
FONT_SHARE = {"9:16": 0.030, "16:9": 0.046, "1:1": 0.044}
"""Caption text height as a part of the frame's height."""


def webvtt(lines: Sequence[TimedLine]) -> str:
    cues = [
        f"{n}\n{_vtt_time(t.start_s)} --> {_vtt_time(t.end_s)}\n{_vtt_text(t.line.text)}\n"
        for n, t in enumerate(lines, start=1)
    ]
    return "WEBVTT\n\n" + "\n".join(cues)


def ass(
    lines: Sequence[TimedLine],
    size: tuple[int, int],
    aspect_ratio: str,
    font: str,
    top_until_s: float = 0.0,
) -> str:
    """An ASS script at the frame's own resolution: white text, a dark outline, bottom centre
    — or top centre (as far from the top as the bottom margin) for a line that starts while
    the opening card's band covers the bottom (before `top_until_s`)."""
    width, height = size
    left, right, bottom = SAFE_AREA[aspect_ratio]
    font_px = round(height * FONT_SHARE[aspect_ratio])
    outline = max(2, round(font_px / 14))
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 0\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Default,{font},{font_px},&H00FFFFFF,&H00FFFFFF,&H00101010,&H80000000,"
        f"-1,0,0,0,100,100,0,0,1,{outline},0,2,"
        f"{round(width * left)},{round(width * right)},{round(height * bottom)},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = [
        f"Dialogue: 0,{_ass_time(t.start_s)},{_ass_time(t.end_s)},Default,,0,0,0,,"
        f"{TOP if t.start_s < top_until_s else ''}{_ass_text(t.line.text)}\n"
        for t in lines
    ]
    return header + "".join(events)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _ass_time(seconds: float) -> str:
    cs = round(seconds * 100)
    return f"{cs // 360_000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _vtt_text(text: str) -> str:
    """Plain text in a cue: `&` and `<` escaped, and no `-->` that would end the timing."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")


def _ass_text(text: str) -> str:
    """Plain text in a Dialogue line: a backslash can never start an ASS escape (`\\N`, `\\h`)
    — an invisible word joiner follows it. Braces never reach here (`line_problem`)."""
    return text.replace("\\", "\\" + WORD_JOINER)
