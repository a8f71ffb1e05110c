"""A project's narration before anything is made: its lines (written or given) and where each
is planned to play, from estimated speech lengths over the clips' planned durations — what the
draft's and the preview's status JSON show. The run measures the speech it makes and plans
again (`speech_timing.plan_speech`) over the clips it really has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from studio_assets.domain.narration import MAX_LINE_CHARS, NarrationSpec
from studio_assets.domain.publishing import BrandingSpec, ListingSpec
from studio_assets.domain.script import Line, Role, script_lines
from studio_assets.domain.speech_timing import (
    GAP_S,
    LEAD_S,
    MAX_HOLD_S,
    TAIL_S,
    SpeechPlan,
    clip_fit,
    estimated_s,
    plan_speech,
    seconds_for,
)

TRANSITION_S = 5.0
AUTO_HOLD_S = 1.2
"""The written script picks phrasings that need a clip to hold at most this long."""
_SHARE = {"intro": 0.6, "room": 0.4, "outro": 0.55}
"""The part of a shared clip each line is written for (the first clip carries the intro, the
last the outro)."""


class PlannedClip(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def duration(self) -> int: ...
    @property
    def transition(self) -> str: ...


def planned_timeline(clips: Sequence[PlannedClip]) -> list[tuple[int | None, float]]:
    """The tour as planned: each clip, and a seamless transition after it when it has one."""
    timeline: list[tuple[int | None, float]] = []
    for n, clip in enumerate(clips):
        timeline.append((n, float(clip.duration)))
        if clip.transition == "seamless" and n < len(clips) - 1:
            timeline.append((None, TRANSITION_S))
    return timeline


def resolve_lines(
    narration: NarrationSpec,
    name: str,
    clips: Sequence[PlannedClip],
    listing: ListingSpec | None,
    branding: BrandingSpec | None,
) -> list[Line]:
    """The script: given lines as they are, or written to fit the planned clips."""
    room_s = _room_for(clips, listing, branding)

    def fits(role: Role, clip: int, options: list[str]) -> int:
        for n, text in enumerate(options):
            if _fits(room_s(role, clip), len(text), narration.speed):
                return n
        return len(options) - 1

    rooms = [clip.label for clip in clips]
    return script_lines(narration, name, rooms, listing, branding, fits)


def line_budgets(
    narration: NarrationSpec,
    lines: Sequence[Line],
    clips: Sequence[PlannedClip],
    listing: ListingSpec | None,
    branding: BrandingSpec | None,
) -> list[int]:
    """How many characters each line may have and still fit its clip as the written script
    does (at most AUTO_HOLD_S of hold) — and never fewer than it has now."""
    room_s = _room_for(clips, listing, branding)

    def budget(line: Line) -> int:
        seconds = room_s(line.role, line.clip)
        most = next(
            (n for n in range(MAX_LINE_CHARS, 0, -1) if _fits(seconds, n, narration.speed)), 0
        )
        return max(len(line.text), most)

    return [budget(line) for line in lines]


def _room_for(
    clips: Sequence[PlannedClip], listing: ListingSpec | None, branding: BrandingSpec | None
) -> Callable[[Role, int], float]:
    """The seconds of its clip a line of `role` is written for (a clip shared with the intro
    or the outro gives each line its part)."""
    last = len(clips) - 1

    def room_s(role: Role, clip: int) -> float:
        shared = (
            role != "room"
            or (clip == 0 and listing is not None)
            or (clip == last and branding is not None)
        )
        share = _SHARE[role] if shared else 1.0
        return (clips[clip].duration - LEAD_S - TAIL_S - GAP_S * shared) * share

    return room_s


def _fits(room_s: float, chars: int, speed: float) -> bool:
    _, hold = clip_fit(room_s + LEAD_S + TAIL_S, [seconds_for(chars, speed)])
    return hold <= AUTO_HOLD_S


def planned_speech(
    narration: NarrationSpec, lines: Sequence[Line], clips: Sequence[PlannedClip]
) -> SpeechPlan:
    estimates = [estimated_s(line.text, narration.speed) for line in lines]
    return plan_speech(planned_timeline(clips), lines, estimates)


def too_long(plan: SpeechPlan, clips: Sequence[PlannedClip]) -> list[str]:
    """Clips whose given lines would make them hold their last frame more than MAX_HOLD_S."""
    return [
        f"the narration over clip {clip + 1} ({clips[clip].label}) is about "
        f"{hold + clips[clip].duration - LEAD_S - TAIL_S:.1f} s of speech for a "
        f"{clips[clip].duration} s clip: shorten it"
        + (" or make the clip 10 s" if clips[clip].duration < 10 else "")
        for clip, hold in sorted(plan.holds.items())
        if hold > MAX_HOLD_S
    ]


def script_json(plan: SpeechPlan, clips: Sequence[PlannedClip]) -> list[dict[str, Any]]:
    """Each line as the status JSON shows it: its clip, what it says, when and how long."""
    return [
        {
            "role": t.line.role,
            "clip": t.line.clip + 1,
            "room": clips[t.line.clip].label if t.line.clip < len(clips) else None,
            "text": t.line.text,
            "start_s": round(t.start_s, 2),
            "duration_s": round(t.duration_s, 2),
            "branded_only": t.line.branded_only,
        }
        for t in plan.lines
    ]
