"""Domain decisions as plain functions: prompts, ordering, prices, progress bands."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from studio_assets.motion import MOTION_PROMPTS, clip_prompt
from studio_assets.pricing import KLING_I2V, NANO_BANANA_EDIT, price_cents
from studio_assets.project_spec import ProjectSpec
from studio_assets.prompts import GUARDRAIL, STYLES, enhancement_prompt, inpaint_prompt
from studio_assets.rooms import ROOM_TYPES
from studio_assets.video_plan import (
    CLIP_PROGRESS,
    estimate,
    planned_transitions,
    runnable_transitions,
    span,
)


@dataclass
class Clip:
    id: str
    transition_type: str = "cut"
    duration_seconds: int = 5
    status: str = "pending"


def test_every_room_type_has_a_camera_move() -> None:
    assert set(MOTION_PROMPTS) == set(ROOM_TYPES) and len(ROOM_TYPES) == 27
    for room, prompt in MOTION_PROMPTS.items():
        assert any(m in prompt.lower() for m in ("dolly", "push", "pan", "pull", "tilt")), room


def test_clip_prompt_hands_over_to_the_next_room_and_describes_audio() -> None:
    prompt = clip_prompt("kitchen", None, "dining room", native_audio=True)
    assert prompt.startswith(MOTION_PROMPTS["kitchen"])
    assert "The camera smoothly transitions towards the dining room." in prompt
    assert "Background audio" in prompt
    custom = clip_prompt("kitchen", "Orbit the island slowly.", None, native_audio=False)
    assert custom == "Orbit the island slowly."


def test_enhancement_prompt_follows_the_contract() -> None:
    prompt = enhancement_prompt("living-room", "modern")
    assert prompt == f"This is a living room. {STYLES['modern']} {GUARDRAIL}"
    assert enhancement_prompt("kitchen", "modern", "Make it pop") == "Make it pop"
    assert {"scandinavian", "modern", "bright-airy"} <= set(STYLES)
    assert "Add a green armchair" in inpaint_prompt("add", "a green armchair")


def test_auto_sequence_walks_through_the_home() -> None:
    rooms = ["garden", "bedroom", "kitchen", "exterior", "hallway", "living-room"]
    spec = ProjectSpec(
        name="x", auto_sequence=True, clips=[{"image": f"{r}.jpg", "room_type": r} for r in rooms]
    )
    order = [c.room_type for c in spec.ordered_clips()]
    assert order == ["exterior", "hallway", "living-room", "kitchen", "bedroom", "garden"]


def test_prices_in_cents() -> None:
    assert price_cents(KLING_I2V, seconds=5, audio=False) == 35
    assert price_cents(KLING_I2V, seconds=5, audio=True) == 70
    assert price_cents(KLING_I2V, seconds=10, audio=True) == 140
    assert price_cents(NANO_BANANA_EDIT) == 15
    assert price_cents("local/ken-burns", seconds=5) == 0


def test_estimate_counts_transitions_without_audio() -> None:
    clips = [Clip("a", "seamless"), Clip("b", "seamless"), Clip("c", "seamless", 10)]
    cost = estimate(KLING_I2V, clips, native_audio=True)
    assert cost.clips_cents == 70 + 70 + 140
    assert cost.transitions_cents == 2 * 35  # the last clip has no next room
    assert cost.total_cents == 350


def test_transitions_only_between_rooms_whose_clips_exist() -> None:
    clips = [
        Clip("a", "seamless", status="completed"),
        Clip("b", "seamless", status="failed"),
        Clip("c", "cut", status="completed"),
    ]
    assert [(a.id, b.id) for a, b in planned_transitions(clips)] == [("a", "b"), ("b", "c")]
    assert runnable_transitions(clips) == []


@pytest.mark.parametrize(("done", "total", "percent"), [(0, 4, 10), (2, 4, 35), (4, 4, 60)])
def test_progress_moves_during_the_clip_phase(done: int, total: int, percent: int) -> None:
    assert span(CLIP_PROGRESS, done, total) == percent
