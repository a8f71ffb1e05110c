"""The old product's five video templates, as data: a spec names one and gives a photo per slot.

Each slot has a default room type, transition (to the next slot), duration and label; a
template may set the project's aspect ratio. `apply_template` fills a spec's clips from the
template's slots (a clip still overrides any of them) before the spec is validated, and
refuses a spec whose photo count is not the template's slot count, naming the slots.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from studio_assets.domain.rooms import room_label
from studio_assets.domain.wording import plural

TRANSITION_SECONDS = 5


@dataclass(frozen=True)
class Slot:
    room_type: str
    transition: str = "cut"  # to the next slot
    duration: int = 5
    label: str | None = None

    @property
    def shown_as(self) -> str:
        return self.label or room_label(self.room_type)


@dataclass
class PlannedClip:
    """A slot as `video_plan.estimate` sees a clip."""

    id: str
    transition_type: str
    duration_seconds: int
    status: str = "pending"


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    slots: tuple[Slot, ...]
    aspect_ratio: str | None = None

    def seconds(self) -> int:
        """The video's length as planned: every clip, plus each seamless transition."""
        seamless = sum(1 for s in self.slots[:-1] if s.transition == "seamless")
        return sum(s.duration for s in self.slots) + seamless * TRANSITION_SECONDS

    def slot_names(self) -> str:
        return ", ".join(s.shown_as for s in self.slots)

    def planned_clips(self) -> list[PlannedClip]:
        return [
            PlannedClip(f"slot-{i + 1}", s.transition, s.duration) for i, s in enumerate(self.slots)
        ]


TEMPLATES = {
    t.name: t
    for t in (
        Template(
            "classic-tour",
            "The full walk-through: arrive, the living spaces, the private rooms, outside.",
            (
                Slot("exterior", label="front of the house"),
                Slot("hallway"),
                Slot("living-room"),
                Slot("kitchen"),
                Slot("dining-room"),
                Slot("bedroom", label="main bedroom"),
                Slot("bathroom"),
                Slot("garden"),
            ),
        ),
        Template(
            "highlight-reel",
            "The four rooms that sell the home.",
            (
                Slot("exterior"),
                Slot("living-room"),
                Slot("kitchen"),
                Slot("bedroom", label="main bedroom"),
            ),
        ),
        Template(
            "room-tour",
            "Three interior rooms, one after the other.",
            (Slot("living-room"), Slot("kitchen"), Slot("bedroom")),
        ),
        Template(
            "exterior-special",
            "The outside: front, garden and terrace.",
            (
                Slot("exterior", label="front of the house"),
                Slot("garden"),
                Slot("terrace"),
            ),
        ),
        Template(
            "social-teaser",
            "A vertical teaser for social media: outside, then the best room.",
            (Slot("exterior"), Slot("living-room")),
            aspect_ratio="9:16",
        ),
    )
}


def template_named(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        close = difflib.get_close_matches(name, TEMPLATES, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown template {name!r}{hint} (the templates are {', '.join(TEMPLATES)})"
        ) from None


def apply_template(data: dict[str, Any]) -> dict[str, Any]:
    """A spec naming a `template` with its clips filled from the slots (what a clip gives
    wins) and the template's aspect ratio unless the spec sets one; other specs unchanged."""
    name = data.get("template")
    if name is None:
        return data
    template = template_named(str(name))
    clips = data.get("clips")
    if not isinstance(clips, list):
        return data  # the spec's own validation says what is wrong
    if len(clips) != len(template.slots):
        raise ValueError(
            f"template {template.name!r} has {plural(len(template.slots), 'slot')} "
            f"({template.slot_names()}); the spec gives {plural(len(clips), 'photo')}"
        )
    filled = []
    for slot, clip in zip(template.slots, clips, strict=True):
        given = clip if isinstance(clip, dict) else {"image": clip}
        defaults = {
            "room_type": slot.room_type,
            "transition": slot.transition,
            "duration": slot.duration,
            "room_label": slot.label,
        }
        filled.append({**defaults, **{k: v for k, v in given.items() if v is not None}})
    result = {**data, "clips": filled}
    if template.aspect_ratio and "aspect_ratio" not in data:
        result["aspect_ratio"] = template.aspect_ratio
    return result
