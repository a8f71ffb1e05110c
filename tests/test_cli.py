"""The `studio` command as users run it: a subprocess, JSON on the last stdout line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from studio_assets.samples import room_photo

STUDIO = str(Path(sys.executable).parent / "studio")


def studio(home: Path, *args: str, db_url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDIO_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    env.pop("FAL_KEY", None)
    if db_url:
        env["STUDIO_DATABASE_URL"] = db_url
    return subprocess.run(
        [STUDIO, *args], capture_output=True, text=True, env=env, timeout=300, check=False
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
    assert "not an image" in done.stderr

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
