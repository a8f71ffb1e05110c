"""Fitting speech to the pictures: where each line starts, how fast it is played, and which
clips hold their last frame longer so that no line is cut, overlaps another, or runs past its
clip into a transition or the next room.

A clip's lines (the intro, its room line, the outro) play inside the clip, LEAD_S after its
start and TAIL_S before its end, GAP_S apart; the intro as soon as the clip starts (over the
listing card), the outro as late as it can (over the agent card). When they are longer than
the clip allows, they are played faster, up to MAX_TEMPO; beyond that the clip holds its last
frame for what is still missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from studio_assets.domain.script import Line

LEAD_S = 0.3
TAIL_S = 0.3
GAP_S = 0.25
MAX_TEMPO = 1.15
"""The most a line is sped up to fit (beyond it speech sounds hurried)."""
CHARS_PER_S = 14.0
"""How fast the offline voice speaks at speed 1.0 (measured: 10–17 characters a second)."""
MAX_HOLD_S = 4.0
"""Given lines needing a clip to hold longer than this are refused at submit."""


@dataclass(frozen=True)
class TimedLine:
    line: Line
    start_s: float
    duration_s: float
    """As played, after `tempo`."""
    tempo: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class SpeechPlan:
    lines: tuple[TimedLine, ...]
    holds: dict[int, float]
    """Seconds each clip (by its place in the tour) holds its last frame; absent: 0."""

    def for_rendition(self, branded: bool) -> tuple[TimedLine, ...]:
        """What a rendition speaks and captions: an unbranded one has no outro."""
        return tuple(t for t in self.lines if branded or not t.line.branded_only)


def estimated_s(text: str, speed: float = 1.0) -> float:
    """The planned length of `text` spoken at `speed`, before it is synthesised."""
    return seconds_for(len(text), speed)


def seconds_for(chars: int, speed: float = 1.0) -> float:
    """The planned length of `chars` characters spoken at `speed`."""
    return round(chars / (CHARS_PER_S * speed), 2)


def plan_speech(
    timeline: Sequence[tuple[int | None, float]],
    lines: Sequence[Line],
    spoken_s: Sequence[float],
) -> SpeechPlan:
    """Place `lines` (spoken for `spoken_s` each) over `timeline`: the tour's segments in play
    order, each `(clip, seconds)` — `clip` the clip's place in the tour, None for a transition.

    A line whose clip is not in the timeline (it failed) is left out, except the intro and the
    outro, which move to the first and the last clip there is."""
    clips = [c for c, _ in timeline if c is not None]
    if not clips:
        return SpeechPlan((), {})
    spoken = list(zip(lines, spoken_s, strict=True))
    placed: list[TimedLine] = []
    holds: dict[int, float] = {}
    at = 0.0
    for clip, seconds in timeline:
        if clip is not None:
            here = [(line, s) for line, s in spoken if _plays_over(line, clip, clips)]
            timed, hold = _fit_clip(here, at, seconds)
            placed += timed
            if hold > 0:
                holds[clip] = hold
            seconds += hold
        at += seconds
    return SpeechPlan(tuple(placed), holds)


def clip_fit(seconds: float, spoken_s: Sequence[float]) -> tuple[float, float]:
    """(tempo, hold) for lines of `spoken_s` seconds in a clip of `seconds`."""
    needed = sum(spoken_s) + GAP_S * max(0, len(spoken_s) - 1)
    room = max(0.1, seconds - LEAD_S - TAIL_S)
    tempo = min(MAX_TEMPO, max(1.0, needed / room))
    return tempo, round(max(0.0, needed / tempo - room), 3)


def _plays_over(line: Line, clip: int, clips: list[int]) -> bool:
    if line.role == "intro":
        return clip == clips[0]
    if line.role == "outro":
        return clip == clips[-1]
    return line.clip == clip


def _fit_clip(
    here: list[tuple[Line, float]], start: float, seconds: float
) -> tuple[list[TimedLine], float]:
    if not here:
        return [], 0.0
    order = {"intro": 0, "room": 1, "outro": 2}
    here.sort(key=lambda pair: order[pair[0].role])
    tempo, hold = clip_fit(seconds, [s for _, s in here])
    end = start + seconds + hold - TAIL_S
    timed = []
    cursor = start + LEAD_S
    for line, spoken in here:
        duration = round(spoken / tempo, 3)
        begin = cursor
        if line.role == "outro":  # as late as it can: over the agent card
            begin = max(cursor, end - duration)
        timed.append(TimedLine(line, round(begin, 3), duration, round(tempo, 3)))
        cursor = begin + duration + GAP_S
    return timed, hold
