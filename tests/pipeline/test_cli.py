"""The `studio` command as users run it: a subprocess, JSON on the last stdout line."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from PIL import Image
from typer.testing import CliRunner

from resources.database import AppDatabase
from resources.models import VideoProject
from resources.provider.pricing import KLING_I2V
from resources.repository import rows
from studio_assets import settings
from studio_assets.app.samples import music_bed, room_photo
from studio_assets.cli import app as cli
from studio_assets.domain.project_spec import spec_with_paths_from
from studio_assets.domain.rooms import ROOM_TYPES, STYLES
from studio_assets.domain.video_plan import estimate
from studio_assets.domain.wording import plural
from studio_assets.settings import load_settings
from tests.support.projects import spec_file

STUDIO = str(Path(sys.executable).parent / "studio")


def studio(
    home: Path,
    *args: str,
    db_url: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess:
    environ = {**os.environ, "STUDIO_HOME": str(home), **(env or {})}
    environ.pop("DAGSTER_HOME", None)
    environ.pop("FAL_KEY", None)
    if db_url:
        environ["STUDIO_DATABASE_URL"] = db_url
    return subprocess.run(
        [STUDIO, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_image_enhance_wait_json_completes_with_a_different_image(tmp_path: Path) -> None:
    photo = room_photo(tmp_path / "sample.jpg", "living-room", (640, 360))

    done = studio(
        tmp_path / "home",
        "image",
        "enhance",
        str(photo),
        "--room",
        "living-room",
        "--style",
        "modern",
        "--wait",
        "--json",
    )

    assert done.returncode == 0, done.stderr
    status = last_json(done.stdout)
    assert status["status"] == "completed"
    assert status["progress"] == {"completed": 1, "total": 1, "percentage": 100}
    result = Path(status["result_image_url"])
    with Image.open(result) as out, Image.open(photo) as src:
        assert out.size == src.size
        diff = np.abs(np.asarray(out, dtype=int) - np.asarray(src, dtype=int)).mean()
    assert diff > 10
    # the run is recorded in the local Dagster instance, so Dagit shows it afterwards
    assert any((tmp_path / "home" / "dagster").rglob("*.db"))


def test_refusals_go_to_stderr_with_a_non_zero_exit(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("hello")
    done = studio(tmp_path / "home", "image", "enhance", str(notes), "--json")
    assert done.returncode != 0 and done.stdout == ""
    assert "is not a JPEG, PNG or WebP image" in done.stderr

    huge = tmp_path / "huge.png"
    Image.new("L", (9000, 8)).save(huge)
    done = studio(tmp_path / "home", "image", "enhance", str(huge))
    assert done.returncode != 0 and "limit is 8192 px" in done.stderr

    unknown = studio(tmp_path / "home", "status", "img_nope", "--json")
    assert unknown.returncode != 0 and "img_nope" in unknown.stderr


def test_inpaint_with_a_wrong_size_mask_is_refused(tmp_path: Path) -> None:
    photo = room_photo(tmp_path / "p.jpg", size=(640, 360))
    mask = tmp_path / "m.png"
    Image.new("L", (100, 300), 255).save(mask)
    done = studio(
        tmp_path / "home",
        "image",
        "inpaint",
        str(photo),
        "--mask",
        str(mask),
        "--mode",
        "remove",
        "--json",
    )
    assert done.returncode != 0 and "mask is 100×300 px" in done.stderr


def test_help_lists_every_room_and_style_and_the_version_is_the_package_s(tmp_path: Path) -> None:
    wide = {"COLUMNS": "200"}
    for command in (["--help"], ["image", "enhance", "--help"]):
        shown = studio(tmp_path / "home", *command, env=wide).stdout
        assert all(room in shown for room in ROOM_TYPES), command
        assert all(style in shown for style in STYLES), command

    rooms = last_json(studio(tmp_path / "home", "rooms", "--json").stdout)["rooms"]
    assert [r["room_type"] for r in rooms] == list(ROOM_TYPES) and len(rooms) == 27
    assert {"room_type": "tv-room", "label": "TV room"} in rooms
    styles = last_json(studio(tmp_path / "home", "styles", "--json").stdout)["styles"]
    assert [s["style"] for s in styles] == list(STYLES) and all(s["description"] for s in styles)

    version = studio(tmp_path / "home", "--version")
    assert (
        version.returncode == 0 and version.stdout.strip() == f"studio {metadata.version('studio')}"
    )


def test_plurals_count_things() -> None:
    assert [plural(n, "clip") for n in (0, 1, 2)] == ["0 clips", "1 clip", "2 clips"]
    assert plural(1, "provider request") == "1 provider request"


def test_a_spec_reads_relative_paths_from_its_folder_and_a_draft_shows_its_price(
    tmp_path: Path,
) -> None:
    listing, elsewhere, home = tmp_path / "listing", tmp_path / "elsewhere", tmp_path / "home"
    (listing / "photos").mkdir(parents=True)
    elsewhere.mkdir()
    for room in ("exterior", "kitchen", "bedroom"):
        room_photo(listing / "photos" / f"{room}.jpg", room, (480, 270))
    music_bed(listing / "music.mp3", seconds=3.0)
    spec = {
        "name": "12 Elm Street",
        "generate_native_audio": True,
        "music": {"audio_url": "music.mp3", "volume": 40},
        "clips": [
            {"image": "photos/exterior.jpg", "room_type": "exterior", "transition": "seamless"},
            {
                "image": "photos/kitchen.jpg",
                "room_type": "kitchen",
                "transition": "seamless",
                "duration": 10,
            },
            {"image": "./photos/bedroom.jpg", "room_type": "bedroom"},
        ],
    }
    (listing / "project.json").write_text(json.dumps(spec))
    (listing / "enhance.json").write_text(
        json.dumps({"image": "photos/kitchen.jpg", "room_type": "kitchen", "style": "cozy"})
    )

    fal = {"STUDIO_PROVIDER": "fal"}  # no FAL_KEY: pricing needs none
    done = studio(
        home, "submit", "../listing/project.json", "--draft", "--json", env=fal, cwd=elsewhere
    )
    assert done.returncode == 0, done.stderr
    draft = last_json(done.stdout)
    # Kling 2.6 Pro with audio: 5 s + 10 s + 5 s at 14 ¢/s = 280; 2 transitions of 5 s at 7 ¢/s
    assert draft["status"] == "draft" and draft["cost"]["estimated_cents"] == 280 + 70
    db = AppDatabase(url=f"sqlite:///{home / 'studio.db'}")
    with db.session() as session:
        project = rows.get(session, VideoProject, draft["id"])
        run_would = estimate(KLING_I2V, rows.clips(session, project.id), True).total_cents
        assert project.estimated_cost == run_would  # what video_clips computes for this provider

    local = last_json(studio(home, "submit", str(listing / "project.json"), "--json").stdout)
    assert local["status"] == "queued" and local["cost"]["estimated_cents"] == 0  # free engine

    image = studio(home, "submit", "../listing/enhance.json", "--draft", "--json", cwd=elsewhere)
    assert image.returncode == 0, image.stderr
    image_status = last_json(image.stdout)
    assert image_status["kind"] == "enhance" and image_status["status"] == "draft"
    # one shape: the video's fields where they apply, the image contract's fields kept
    shared = {"id", "status", "progress", "output", "error", "step", "label", "run_id"}
    assert shared <= set(draft) and shared <= set(image_status)
    assert {"kind", "result_image_url", "cost_cents", "version", "parent_id"} <= set(image_status)
    assert (
        set(image_status["progress"])
        == set(draft["progress"])
        == {"completed", "total", "percentage"}
    )


def test_spec_paths_resolve_against_the_spec_folder_but_uris_and_ids_do_not(
    tmp_path: Path,
) -> None:
    spec = {
        "image": "img_0123abcd",
        "mask": "masks/sofa.png",
        "clips": [{"image": "s3://bucket/a.jpg", "end_image": "b.jpg"}, {"image": "/abs/c.jpg"}],
        "music": {"track_id": "mt_1"},
    }
    out = spec_with_paths_from(spec, tmp_path)
    assert out["image"] == "img_0123abcd" and out["mask"] == str(tmp_path / "masks/sofa.png")
    assert out["clips"] == [
        {"image": "s3://bucket/a.jpg", "end_image": str(tmp_path / "b.jpg")},
        {"image": "/abs/c.jpg"},
    ]
    assert out["music"] == {"track_id": "mt_1"} and spec["mask"] == "masks/sofa.png"


def test_commands_on_a_missing_database_say_where_they_looked_and_create_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "nowhere"
    env = {"STUDIO_HOME": str(home), "STUDIO_DATABASE_URL": "", "DAGSTER_HOME": ""}
    runner = CliRunner()
    for command in (
        ["status", "vp_1"],
        ["cancel", "vp_1"],
        ["retry", "vp_1"],
        ["launch", "vp_1"],
        ["run", "vp_1"],
        ["status", "img_1", "--watch"],
    ):
        done = runner.invoke(cli.app, command, env=env)
        assert done.exit_code == 1, (command, done.output)
        message = " ".join(done.output.split())
        assert f"no studio database at {home / 'studio.db'}" in message, message
        assert "STUDIO_HOME" in message and "STUDIO_DATABASE_URL" in message
    assert not home.exists()


def test_the_default_home_is_the_checkout_s_or_the_user_data_dir_never_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).home == settings.PROJECT_ROOT / ".studio"
    assert load_settings({}).dagster_home == settings.PROJECT_ROOT / ".studio" / "dagster"
    assert not settings.is_checkout(tmp_path)
    monkeypatch.setattr(settings, "is_checkout", lambda: False)  # an installed wheel
    assert load_settings({}).home == platformdirs.user_data_path("studio", appauthor=False)
    assert load_settings({"STUDIO_HOME": "h"}).home == tmp_path / "h"


def _on_a_terminal(args: list[str], env: dict[str, str], timeout_s: float = 300) -> str:
    """Run a command with stdin/stdout/stderr on a pseudo-terminal; everything it drew."""
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    drawn = bytearray()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed: the command ended
                break
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(leader)
    assert proc.returncode == 0, drawn.decode(errors="replace")[-2000:]
    return drawn.decode(errors="replace")


def test_studio_run_draws_each_stage_as_it_happens(tmp_path: Path) -> None:
    rooms = ("exterior", "kitchen", "bedroom")
    spec_file(tmp_path, "Progress house", rooms)
    home = tmp_path / "home"
    submitted = studio(home, "submit", str(tmp_path / "spec.json"), "--draft", "--json")
    project_id = last_json(submitted.stdout)["id"]
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FAL_KEY")}
    # One clip at a time: each "Generated k of 3 clips" stays up for a whole clip's making,
    # several polls long (three at once end within one poll of each other).
    env |= {"STUDIO_HOME": str(home), "COLUMNS": "120", "TERM": "xterm"}
    env |= {"STUDIO_MAX_CONCURRENT_CLIPS": "1"}

    screen = _on_a_terminal([STUDIO, "run", project_id], env)

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    bar = r"(queued|generating|compiling|completed)\s+\S+\s+(\d+)%\s+([^\r\n]*)"
    frames = re.findall(bar, text)
    percents = {int(p) for _, p, _ in frames}
    stages = [s for s, _, _ in frames]
    assert any(0 < p < 100 for p in percents), text[-2000:]
    assert "generating" in stages and stages[-1] == "completed", stages
    assert stages.index("generating") < stages.index("completed")
    labels = {label.split(" 0:")[0].strip() for _, _, label in frames}
    assert any(f"of {len(rooms)} clips" in label for label in labels), labels


def test_watch_explains_a_draft_and_a_queue_nobody_takes_from(tmp_path: Path) -> None:
    photo = room_photo(tmp_path / "kitchen.jpg", "kitchen", (640, 360))
    (tmp_path / "spec.json").write_text(
        json.dumps({"name": "Idle house", "clips": [{"image": str(photo), "room_type": "kitchen"}]})
    )
    home = tmp_path / "home"
    spec = str(tmp_path / "spec.json")
    draft = last_json(studio(home, "submit", spec, "--draft", "--json").stdout)

    watched = studio(home, "status", draft["id"], "--watch", "--json")  # returns, not forever

    assert watched.returncode == 0 and last_json(watched.stdout)["status"] == "draft"
    assert "is a draft" in watched.stderr and f"studio run {draft['id']}" in watched.stderr

    queued = last_json(studio(home, "submit", spec, "--json").stdout)
    db = AppDatabase(url=f"sqlite:///{home / 'studio.db'}")
    with db.session() as session:  # as if it had waited two minutes with no daemon
        row = rows.get(session, VideoProject, queued["id"])
        row.queued_at = row.queued_at - dt.timedelta(minutes=2)
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FAL_KEY")}
    follow = subprocess.Popen(
        [STUDIO, "status", queued["id"], "--watch"],
        env={**env, "STUDIO_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = ""
    try:
        while follow.stderr and "queued for" not in said:  # after the progress line
            said = follow.stderr.readline()
    finally:
        follow.kill()
        follow.wait()
    assert "queued for 1" in said and "no Dagster daemon is running" in said, said
    assert f"`studio run {queued['id']}`" in said


def test_a_draft_warns_about_a_tiny_photo_before_anyone_pays(tmp_path: Path) -> None:
    small = room_photo(tmp_path / "tiny.jpg", "kitchen", (320, 240))
    large = room_photo(tmp_path / "big.jpg", "exterior", (1920, 1080))
    clips = [
        {"image": "big.jpg", "room_type": "exterior"},
        {"image": "tiny.jpg", "room_type": "kitchen"},
    ]
    (tmp_path / "spec.json").write_text(json.dumps({"name": "Small house", "clips": clips}))
    assert small.exists() and large.exists()

    draft = last_json(
        studio(tmp_path / "home", "submit", str(tmp_path / "spec.json"), "--draft", "--json").stdout
    )

    assert draft["status"] == "draft"
    (warning,) = draft["warnings"]
    assert warning.startswith("clip 2 (kitchen): photo is 320×240 px") and "1920×1080" in warning


def test_a_paid_tier_s_priority_reaches_its_rows_and_status_and_a_wrong_word_is_refused(
    tmp_path: Path,
) -> None:
    home, folder = tmp_path / "home", tmp_path / "listing"
    folder.mkdir()
    room_photo(folder / "kitchen.jpg", "kitchen", (480, 270))
    clips = [{"image": "kitchen.jpg", "room_type": "kitchen"}]
    photos = [{"image": "kitchen.jpg", "room_type": "kitchen"}]
    specs = {
        "paid.json": {
            "name": "Paid",
            "workspace_id": "ws_gold",
            "priority": "high",
            "clips": clips,
        },
        "plain.json": {"name": "Plain", "clips": clips},
        "photos.json": {"name": "Shoot", "style": "modern", "priority": "high", "photos": photos},
        "wrong.json": {"name": "Wrong", "priority": "urgent", "clips": clips},
    }
    for name, spec in specs.items():
        (folder / name).write_text(json.dumps(spec))

    paid, plain = (
        last_json(studio(home, "submit", str(folder / n), "--draft", "--json").stdout)
        for n in ("paid.json", "plain.json")
    )
    shoot = studio(home, "images", "submit", str(folder / "photos.json"), "--draft", "--json")
    wrong = studio(home, "submit", str(folder / "wrong.json"), "--json")

    assert (paid["workspace_id"], paid["priority"]) == ("ws_gold", "high")
    assert (plain["workspace_id"], plain["priority"]) == ("ws_default", "normal")
    assert shoot.returncode == 0, shoot.stderr
    assert last_json(shoot.stdout)["priority"] == "high"
    db = AppDatabase(url=f"sqlite:///{home / 'studio.db'}")
    with db.session() as session:
        assert rows.get(session, VideoProject, paid["id"]).priority == 1
    assert wrong.returncode != 0
    assert "priority: Input should be 'normal' or 'high'" in wrong.stderr


def test_voices_are_listed_and_an_unknown_one_is_refused_at_submit_with_the_list(
    tmp_path: Path,
) -> None:
    listed = studio(tmp_path / "home", "voices", "--json")
    assert listed.returncode == 0
    voices = last_json(listed.stdout)["voices"]
    assert voices[0] == {
        "voice": "joe",
        "engine": "offline",
        "language": "en-US",
        "cents_per_1000_chars": 0.0,
        "default": True,
        "description": voices[0]["description"],
    }
    kokoro = [v for v in voices if v["engine"] == "fal"]
    assert len(kokoro) == 20 and {v["cents_per_1000_chars"] for v in kokoro} == {2.0}
    assert {"af_heart", "am_adam"} <= {v["voice"] for v in kokoro}

    spec = spec_file(tmp_path, "Elm house", ["exterior", "kitchen"])
    data = json.loads(spec.read_text())
    spec.write_text(json.dumps({**data, "narration": {"voice": "alice"}}))
    refused = studio(tmp_path / "home", "submit", str(spec), "--draft", "--json")
    assert refused.returncode != 0 and refused.stdout == ""
    assert "unknown voice 'alice'; the voices are: joe, af_heart, af_alloy" in refused.stderr

    spec.write_text(json.dumps({**data, "narration": {"script": ["The front.", "Cook here."]}}))
    draft = studio(tmp_path / "home", "submit", str(spec), "--draft", "--json")
    assert draft.returncode == 0, draft.stderr
    script = last_json(draft.stdout)["narration"]["script"]
    assert [(line["clip"], line["text"]) for line in script] == [
        (1, "Welcome to Elm house."),
        (1, "The front."),
        (2, "Cook here."),
    ]
    assert script[1]["start_s"] > script[0]["start_s"] + script[0]["duration_s"]
