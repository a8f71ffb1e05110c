"""`studio edit`: a made project changed and re-rendered on fal's protocol (stand-in), Postgres
and S3 — a price change buys nothing, an added clip buys exactly itself and its transition, a
moved or dropped clip buys only the transitions whose neighbours changed; the previous videos
stay until the new ones are stored; bad edits change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resources.errors import InputRejected, StudioError
from resources.keys import video_folder
from resources.provider.pricing import KLING_I2V
from resources.repository import rows
from studio_assets.app import editing, status
from studio_assets.app.samples import room_photo
from tests.pipeline.test_publishing import squeezed, text_at
from tests.support.fal_standin import FalStandin
from tests.support.projects import clips, make_project, project, run
from tests.support.studio_fixtures import Studio

FAL = editing.Models(video=KLING_I2V)
CLIP, MOVE = 70, 35  # a 5 s clip with audio, a 5 s transition (without), in cents


def edit(studio: Studio, project_id: str, patch: dict[str, Any], dry: bool = False) -> Any:
    return editing.edit_project(studio.db, studio.storage, project_id, patch, FAL, dry)


def ids(studio: Studio, project_id: str) -> list[str]:
    return [clip.id for clip in clips(studio, project_id)]


def renders(studio: Studio, project_id: str) -> set[str]:
    row = project(studio, project_id)
    folder = video_folder(row.workspace_id, project_id) + "renders/"
    return {key.removeprefix(folder).split("/")[0] for key in studio.storage.keys_under(folder)}


def test_edits_on_fal_buy_only_what_is_new(production: Studio, standin: FalStandin) -> None:
    studio = production
    project_id = make_project(
        studio,
        ("exterior", "living-room", "kitchen"),
        seamless=(0,),
        listing={"address": "9 Elm Row", "price": 450000},
    )
    assert run(studio, project_id).success
    assert len(standin.jobs) == 4 and project(studio, project_id).actual_cost == 3 * CLIP + MOVE
    first_video = project(studio, project_id).final_video_url

    # A price change: nothing to buy, said before it runs; the card shows the new price.
    planned = edit(studio, project_id, {"listing": {"price": 475000}}, dry=True)
    assert (planned.buys, planned.buys_cents) == ([], 0)
    assert project(studio, project_id).status == "completed"  # a dry run changes nothing
    edit(studio, project_id, {"listing": {"price": 475000}})
    edited = project(studio, project_id)
    assert (edited.status, edited.submission, edited.final_video_url) == ("queued", 2, first_video)
    assert edited.listing == {"address": "9 Elm Row", "price": 475000, **_unset(edited.listing)}
    assert run(studio, project_id).success
    assert len(standin.jobs) == 4  # 0 new paid jobs
    done = project(studio, project_id)
    assert done.status == "completed" and done.final_video_url != first_video
    assert not studio.storage.exists(first_video) and renders(studio, project_id) == {"2"}
    video = studio.storage.download(done.final_video_url, studio.tmp / "priced.mp4")
    assert "475,000" in squeezed(text_at(Path(video), 0.6, studio.tmp)).replace(".", ",")

    # One clip added after the kitchen, joined by a seamless move: exactly those two.
    a, b, c = ids(studio, project_id)
    garden = room_photo(studio.tmp / "garden.jpg", "garden", (640, 360))
    patch = {
        "clips": [
            {"id": a},
            {"id": b},
            {"id": c, "transition": "seamless"},
            {"image": str(garden), "room_type": "garden"},
        ]
    }
    planned = edit(studio, project_id, patch, dry=True)
    assert planned.buys == ["clip 4 (garden)", "transition 3→4"]
    assert planned.buys_cents == CLIP + MOVE
    edit(studio, project_id, patch)
    shown = status.video_status(studio.db, studio.storage, project_id)
    assert shown["edit"]["buys"] == ["clip 4 (garden)", "transition 3→4"]  # before it runs
    assert (shown["edit"]["buys_cents"], shown["status"]) == (CLIP + MOVE, "queued")
    assert [c["status"] for c in shown["clips"]] == ["completed"] * 3 + ["pending"]
    result = run(studio, project_id)
    assert result.success and len(standin.jobs) == 6
    done = project(studio, project_id)
    assert done.actual_cost == done.estimated_cost == 4 * CLIP + 2 * MOVE
    assert segments(result) == 6  # 4 rooms and 2 moves

    # The garden moved first and the living room dropped: no clip is bought; the moves whose
    # neighbours changed are (exterior→kitchen is new, kitchen→garden has no next any more).
    d = ids(studio, project_id)[3]
    patch = {
        "clips": [
            {"id": d, "transition": "seamless"},
            {"id": a, "transition": "seamless"},
            {"id": c},
        ]
    }
    planned = edit(studio, project_id, patch, dry=True)
    assert planned.buys == ["transition 1→2", "transition 2→3"]
    assert planned.plan.dropped == [b] and planned.plan.rebought == []
    dropped_media = {clip.clip_url for clip in clips(studio, project_id) if clip.id == b}
    edit(studio, project_id, patch)
    assert not any(studio.storage.exists(uri) for uri in dropped_media)
    result = run(studio, project_id)
    assert result.success and segments(result) == 5
    assert len(standin.jobs) == 8 and ids(studio, project_id) == [d, a, c]
    done = project(studio, project_id)
    assert done.actual_cost == done.estimated_cost == 3 * CLIP + 2 * MOVE


def segments(result: Any) -> int:
    (made,) = result.asset_materializations_for_node("final_video")
    return int(made.metadata["segments"].value)


def _unset(listing: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in listing.items() if k not in ("address", "price")}


def test_bad_edits_are_refused_and_change_nothing(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=())
    with pytest.raises(StudioError, match=rf"{project_id} is queued: edit it once it has ended"):
        edit(studio, project_id, {"name": "New"})
    assert run(studio, project_id).success
    before = (project(studio, project_id).submission, ids(studio, project_id))
    other = make_project(studio, ("garden",), seamless=(), workspace_id="ws_other")
    with studio.db.session() as session:
        (theirs,) = rows.clips(session, other)
    refusals = [
        ({"clips": [{"id": theirs.id}]}, rf"clip 1: '{theirs.id}' is not a clip of this project"),
        (
            {"clips": [{"image": theirs.source_image_url, "room_type": "garden"}]},
            r"clip 1 image: .* workspace",
        ),
        ({"workspace_id": "ws_other"}, r"cannot edit workspace_id: an edit changes name,"),
        ({"clips": [{"id": "vc_nope"}]}, r"clip 1: 'vc_nope' is not a clip of this project"),
        (
            {"clips": [{"id": before[1][0]}, {"id": before[1][0]}]},
            r"clip 2: vc_\w+ is listed twice",
        ),
        (
            {"clips": [{"id": before[1][0], "room_type": "dungeon"}]},
            r"clip 1 room_type: 'dungeon' is not one of the 27",
        ),
        ({"clips": []}, r"at least 1 clip"),
        ({"clips": [{"image": "/nowhere/x.jpg", "room_type": "garden"}]}, r"not found: /nowhere"),
    ]
    for patch, message in refusals:
        with pytest.raises((InputRejected, StudioError), match=message):
            edit(studio, project_id, patch, dry=True)  # a dry run checks as much
        with pytest.raises((InputRejected, StudioError), match=message):
            edit(studio, project_id, patch)
        assert (project(studio, project_id).submission, ids(studio, project_id)) == before
    with studio.db.session() as session:
        assert (
            rows.get(session, type(project(studio, project_id)), project_id).status == "completed"
        )
