"""Pure decisions of the video pipeline: which transitions, what it costs, how far along."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from resources.provider.pricing import price_cents

CLIP_PROGRESS = (10, 65)
"""The clips, and the transitions bought between them as their clips exist."""
TRANSITION_PROGRESS = (65, 70)
"""Transitions left to buy after the clips (one that failed beside them)."""
COMPILE_PROGRESS = (75, 95)


class ClipLike(Protocol):
    id: str
    transition_type: str
    duration_seconds: int
    status: str


C = TypeVar("C", bound=ClipLike)


@dataclass(frozen=True)
class Cost:
    clips_cents: int
    transitions_cents: int
    narration_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.clips_cents + self.transitions_cents + self.narration_cents


def planned_transitions(clips: Sequence[C]) -> list[tuple[C, C]]:
    """(clip, next clip) pairs joined by a seamless AI transition, as submitted."""
    return [
        (a, b) for a, b in zip(clips, clips[1:], strict=False) if a.transition_type == "seamless"
    ]


def runnable_transitions(clips: Sequence[C]) -> list[tuple[C, C]]:
    """Only between rooms whose clips both exist; elsewhere the compile cuts."""
    return [
        (a, b)
        for a, b in planned_transitions(clips)
        if a.status == "completed" and b.status == "completed"
    ]


def estimate(
    model: str,
    clips: Sequence[ClipLike],
    native_audio: bool,
    transition_seconds: int = 5,
    spoken: Sequence[str] = (),
    speech_model: str = "",
    writer_model: str = "",
) -> Cost:
    """Clips (with audio if asked) plus every planned transition (never with audio), plus each
    `spoken` line a paid voice reads (one request per line; `speech_model` "" when free) and
    the paid script writer's one request (`writer_model`, "" when the script is not
    rewritten)."""
    clip_cents = sum(
        price_cents(model, seconds=c.duration_seconds, audio=native_audio) for c in clips
    )
    transition_cents = len(planned_transitions(clips)) * price_cents(
        model, seconds=transition_seconds, audio=False
    )
    speech_cents = sum(price_cents(speech_model, characters=len(text)) for text in spoken)
    writer_cents = price_cents(writer_model) if writer_model else 0
    return Cost(clip_cents, transition_cents, speech_cents + writer_cents)


def span(bounds: tuple[int, int], done: int, total: int) -> int:
    """Progress inside a stage's band: `done` of `total` steps between its two bounds."""
    low, high = bounds
    return low if total <= 0 else low + round((high - low) * done / total)
