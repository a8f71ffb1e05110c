"""Video templates: the old product's five, a spec naming one, the CLI listing them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resources.errors import InputRejected
from resources.ffmpeg import probe
from studio_assets.app import submission
from studio_assets.app.samples import room_photo
from studio_assets.app.status import status_of
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.templates import TEMPLATES
from studio_assets.domain.validation import parse_spec
from tests.pipeline.test_cli import last_json, studio
from tests.support.projects import clips, project, run, video_of
from tests.support.studio_fixtures import Studio

OLD_PRODUCT = {  # name: (slots, seconds) as the old product listed them
    "classic-tour": (8, 40),
    "highlight-reel": (4, 20),
    "room-tour": (3, 15),
    "exterior-special": (3, 15),
    "social-teaser": (2, 10),
}


def photos(folder: Path, count: int) -> list[dict[str, str]]:
    rooms = ("exterior", "living-room", "kitchen", "bedroom", "bathroom", "garden", "hallway")
    return [
        {"image": str(room_photo(folder / f"p{i}.jpg", rooms[i % len(rooms)], (640, 360)))}
        for i in range(count)
    ]


def test_the_five_templates_are_the_old_products() -> None:
    assert {n: (len(t.slots), t.seconds()) for n, t in TEMPLATES.items()} == OLD_PRODUCT
    assert TEMPLATES["social-teaser"].aspect_ratio == "9:16"


def test_a_template_fills_the_clips_and_a_clip_may_override(tmp_path: Path) -> None:
    given = photos(tmp_path, 4)
    given[2] |= {"room_type": "pantry", "transition": "seamless", "motion_prompt": "Slow pan."}
    spec = parse_spec(ProjectSpec, {"name": "Reel", "template": "highlight-reel", "clips": given})

    assert spec.template == "highlight-reel"
    assert [c.room_type for c in spec.clips] == ["exterior", "living-room", "pantry", "bedroom"]
    assert [c.transition for c in spec.clips] == ["cut", "cut", "seamless", "cut"]
    assert spec.clips[2].motion_prompt == "Slow pan." and spec.clips[3].label == "main bedroom"
    teaser = parse_spec(
        ProjectSpec, {"name": "T", "template": "social-teaser", "clips": photos(tmp_path, 2)}
    )
    assert teaser.aspect_ratio == "9:16"


@pytest.mark.parametrize("count", [2, 5])
def test_a_template_with_the_wrong_photo_count_is_refused_naming_its_slots(
    tmp_path: Path, count: int
) -> None:
    spec = {"name": "Reel", "template": "highlight-reel", "clips": photos(tmp_path, count)}
    with pytest.raises(InputRejected) as refused:
        parse_spec(ProjectSpec, spec)
    message = str(refused.value)
    assert "template 'highlight-reel' has 4 slots" in message
    assert "(exterior, living room, kitchen, main bedroom)" in message
    assert f"the spec gives {count} photos" in message


def test_an_unknown_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="did you mean 'highlight-reel'"):
        parse_spec(ProjectSpec, {"name": "x", "template": "highlight-reels", "clips": []})
    refused = r"unknown template 'penthouse-gala' \(the templates are"
    with pytest.raises(InputRejected, match=refused):
        parse_spec(
            ProjectSpec, {"name": "x", "template": "penthouse-gala", "clips": photos(tmp_path, 1)}
        )


def test_a_highlight_reel_runs_to_a_four_clip_video(sqlite_studio: Studio) -> None:
    spec = parse_spec(
        ProjectSpec,
        {"name": "Reel house", "template": "highlight-reel", "clips": photos(sqlite_studio.tmp, 4)},
    )
    project_id = submission.submit_project(sqlite_studio.db, sqlite_studio.storage, spec)

    result = run(sqlite_studio, project_id)

    assert result.success
    done = project(sqlite_studio, project_id)
    assert (done.status, done.completed_clip_count, done.template) == (
        "completed",
        4,
        "highlight-reel",
    )
    assert [c.room_type for c in clips(sqlite_studio, project_id)][:2] == [
        "exterior",
        "living-room",
    ]
    assert probe(video_of(done)).duration_s == pytest.approx(20.0, abs=0.5)
    assert status_of(sqlite_studio.db, sqlite_studio.storage, project_id)["template"] == (
        "highlight-reel"
    )
    metadata = result.asset_materializations_for_node("video_clips")[0].metadata
    assert metadata["template"].value == "highlight-reel"


def test_studio_templates_lists_the_five_with_length_and_cost(tmp_path: Path) -> None:
    listed = studio(
        tmp_path / "home", "templates", "--json", env={"STUDIO_PROVIDER": "fal", "FAL_KEY": "k"}
    )
    assert listed.returncode == 0, listed.stderr
    templates = {t["name"]: t for t in last_json(listed.stdout)["templates"]}
    assert {n: (len(t["slots"]), t["seconds"]) for n, t in templates.items()} == OLD_PRODUCT
    reel = templates["highlight-reel"]
    assert reel["slots"][0] == {
        "room_type": "exterior",
        "label": "exterior",
        "transition": "cut",
        "duration": 5,
    }
    assert reel["estimated_cents"] == 4 * 35  # Kling v2.6 Pro, 5 s without audio, 7 ¢/s
    human = studio(tmp_path / "home", "templates")
    assert "highlight-reel" in human.stdout and "4 slots" in human.stdout
    refused = studio(tmp_path / "home", "submit", str(_spec(tmp_path, 2)), "--json")
    assert refused.returncode != 0 and "has 4 slots" in refused.stderr


def _spec(folder: Path, count: int) -> Path:
    path = folder / "reel.json"
    path.write_text(
        json.dumps({"name": "Reel", "template": "highlight-reel", "clips": photos(folder, count)})
    )
    return path
