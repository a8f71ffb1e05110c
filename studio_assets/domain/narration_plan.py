"""A project's narration before anything is made: its lines (written or given) and where each
is planned to play, from estimated speech lengths over the clips' planned durations — what the
draft's and the preview's status JSON show. The run measures the speech it makes and plans
again (`speech_timing.plan_speech`) over the clips it really has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from studio_assets.domain.narration import NarrationSpec
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
    last = len(clips) - 1

    def fits(role: Role, clip: int, options: list[str]) -> int:
        shared = (
            role != "room"
            or (clip == 0 and listing is not None)
            or (clip == last and branding is not None)
        )
        share = _SHARE[role] if shared else 1.0
        room = (clips[clip].duration - LEAD_S - TAIL_S - GAP_S * shared) * share
        for n, text in enumerate(options):
            _, hold = clip_fit(room + LEAD_S + TAIL_S, [estimated_s(text, narration.speed)])
            if hold <= AUTO_HOLD_S:
                return n
        return len(options) - 1

    rooms = [clip.label for clip in clips]
    return script_lines(narration, name, rooms, listing, branding, fits)


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
        f"{clips[clip].duration} s clip: shorten it or make the clip 10 s"
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
