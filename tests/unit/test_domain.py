"""Domain decisions as plain functions: prompts, ordering, prices, progress bands, validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from resources.errors import InputRejected
from resources.models import ImageGeneration, VideoClip, VideoProject
from resources.provider.pricing import KLING_I2V, NANO_BANANA_EDIT, price_cents
from studio_assets.domain.motion import MOTION_PROMPTS, clip_prompt
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.rooms import (
    GUARDRAIL,
    ROOM_TYPES,
    STYLES,
    enhancement_prompt,
    inpaint_prompt,
)
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, inspect_image, parse_spec
from studio_assets.domain.video_plan import (
    CLIP_PROGRESS,
    estimate,
    planned_transitions,
    runnable_transitions,
    span,
)
from studio_assets.runtime.row_validation import image_spec_of, project_spec_of


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


@pytest.mark.parametrize(("done", "total", "percent"), [(0, 4, 10), (2, 4, 38), (4, 4, 65)])
def test_progress_moves_during_the_clip_phase(done: int, total: int, percent: int) -> None:
    assert span(CLIP_PROGRESS, done, total) == percent


CLIP = {"image": "a.jpg", "room_type": "kitchen"}


@pytest.mark.parametrize(
    ("model", "spec", "where"),
    [
        (ProjectSpec, {"name": "Elm\x00", "clips": [CLIP]}, "name"),
        (
            ProjectSpec,
            {"name": "Elm", "clips": [{**CLIP, "room_label": "K\x00"}]},
            "clip 1 room_label",
        ),
        (
            ProjectSpec,
            {"name": "Elm", "clips": [CLIP, {**CLIP, "motion_prompt": "\x00"}]},
            "clip 2 motion_prompt",
        ),
        (EnhanceSpec, {"image": "a.jpg", "prompt": "bright\x00"}, "prompt"),
        (
            InpaintSpec,
            {"image": "a.jpg", "mask": "m.png", "mode": "add", "prompt": "a\x00"},
            "prompt",
        ),
    ],
)
def test_a_nul_character_is_refused_by_name(model: type, spec: dict, where: str) -> None:
    """Postgres cannot store NUL in text: refused with the field's name, not a driver error."""
    with pytest.raises(InputRejected, match=f"^{where}: contains a NUL character$"):
        parse_spec(model, spec)


def test_a_decompression_bomb_is_refused_by_name(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (30000, 30000)).save(bomb, format="PNG")  # a few KB
    with pytest.raises(InputRejected, match=r"^photo claims far more pixels .*decompression bomb"):
        inspect_image(bomb, "photo")


def _project_rows(**clip_values: object) -> tuple[VideoProject, list[VideoClip]]:
    row = VideoProject(id="vp_1", workspace_id="ws_1", name="Elm", aspect_ratio="16:9")
    clips = [
        VideoClip(id=f"vc_{n}", source_image_url=f"s3://b/{n}.jpg", room_type="kitchen")
        for n in "ab"
    ]
    for clip in clips:
        clip.transition_type, clip.duration_seconds = "cut", 5
    for name, value in clip_values.items():
        setattr(clips[1], name, value)
    return row, clips


def test_project_rows_are_the_spec_they_stand_for() -> None:
    row, clips = _project_rows()
    spec = project_spec_of(row, clips, None)
    assert [c.image for c in spec.clips] == ["s3://b/a.jpg", "s3://b/b.jpg"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"duration_seconds": 7}, "clip 2 (vc_b) duration_seconds: Input should be 5 or 10"),
        ({"transition_type": "wipe"}, "clip 2 (vc_b) transition_type: Input should be 'cut'"),
        (
            {"room_type": "ballroom"},
            "clip 2 (vc_b) room_type: 'ballroom' is not one of the 27 choices",
        ),
        ({"source_image_url": "file:///x/notes.txt"}, "clip 2 (vc_b) source_image_url: "),
    ],
)
def test_a_bad_clip_row_is_refused_naming_the_clip_and_its_column(
    values: dict[str, object], message: str
) -> None:
    row, clips = _project_rows(**values)
    with pytest.raises(InputRejected) as refused:
        project_spec_of(row, clips, None)
    assert str(refused.value).startswith(
        f"video project vp_1 is invalid as stored in the app DB: {message}"
    )


def test_a_project_row_naming_a_missing_track_is_refused() -> None:
    row, clips = _project_rows()
    row.music_track_id = "mt_gone"
    with pytest.raises(InputRejected, match="music_track_id: track 'mt_gone' does not exist"):
        project_spec_of(row, clips, None)


def _inpaint_row(mode: str, prompt: str | None) -> ImageGeneration:
    return ImageGeneration(
        id="img_1",
        workspace_id="ws_1",
        kind="inpaint",
        mode=mode,
        prompt=prompt,
        original_image_url="s3://b/a.jpg",
        mask_url="s3://b/m.png",
    )


def test_an_inpaint_prompt_the_cli_built_is_checked_as_the_caller_wrote_it() -> None:
    """`studio image inpaint` stores its template around the caller's ≤ 2000 characters."""
    words = "the armchair by the window " * 70  # 1890 characters
    for mode in ("remove", "add"):
        spec = image_spec_of(_inpaint_row(mode, inpaint_prompt(mode, words.strip())))
        assert spec.prompt == words.strip()
    with pytest.raises(InputRejected, match="prompt: String should have at most 2000"):
        image_spec_of(_inpaint_row("add", "x" * 2001))  # an app's own prompt: as written
