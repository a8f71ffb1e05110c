"""Dagit in a real browser: the asset graph, `final_video`'s metadata, the README's screenshot.

Headless Debian Chromium (`make browser` installs it) driven by Playwright's Python client —
never Playwright's own browser download. Run alone with `.venv/bin/pytest -m browser`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect, sync_playwright

from studio_assets.app.samples import music_bed, room_photo
from studio_assets.cli.wiring import Wiring
from tests.support.dagster_processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these Chromium keeps dialling Google's services.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
SCREENSHOT = ROOT / "docs" / "dagit.png"
ASSETS = ("enhanced_image", "inpainted_image", "video_clips", "transition_clips", "final_video")
# The global lineage with both groups expanded (Dagit 1.13 names them `global@global:<group>`;
# collapsed groups would hide the asset names).
GRAPH = "/asset-groups?expanded=global%40global%3Aimages%2Cglobal%40global%3Avideo"
# Dagit's "Join the Dagster community" dialog opens on loopback origins unless dismissed once.
NO_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', '1')"
WAIT_MS = 30_000
NUMBER = re.compile(r"^\s*-?[\d,]+(\.\d+)?\s*$")


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium; missing is a skip here and a failure in CI."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (`make browser` installs Debian's chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@contextmanager
def chromium_page(executable: str, profile: Path) -> Iterator[Page]:
    """A page in headless Chromium with a fresh profile; the browser is always closed."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport=VIEWPORT,
        )
        try:
            context.set_default_timeout(WAIT_MS)
            context.add_init_script(NO_COMMUNITY_DIALOG)
            yield context.new_page()
        finally:
            context.close()


def two_room_project(folder: Path) -> dict[str, Any]:
    """A small demo-like spec: exterior → living room with one seamless transition, music."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = [
        {
            "image": str(room_photo(folder / f"{room}.jpg", room, (640, 360), dull=False)),
            "room_type": room,
            "transition": transition,
        }
        for room, transition in (("exterior", "seamless"), ("living-room", "cut"))
    ]
    return {
        "name": "12 Elm Street (browser test)",
        "workspace_id": "ws_demo",
        "aspect_ratio": "16:9",
        "generate_native_audio": True,
        "music": {"audio_url": str(music_bed(folder / "music.mp3", seconds=8.0)), "volume": 40},
        "clips": clips,
    }


def metadata_row(page: Page, label: str) -> Locator:
    """The row of the materialization's metadata table whose key is `label`."""
    return page.get_by_role("row").filter(has=page.get_by_text(label, exact=True))


def metadata_number(page: Page, label: str) -> float:
    """The number Dagit shows for metadata key `label` (thousands separators dropped)."""
    value = metadata_row(page, label).locator("td").nth(1)
    expect(value).to_have_text(NUMBER)
    return float(value.inner_text().replace(",", ""))


def test_dagit_shows_the_asset_graph_and_final_video_metadata(
    chromium_path: str, webserver: str, studio_home: Path, tmp_path: Path
) -> None:
    wiring = Wiring()  # after `studio_home` has set STUDIO_HOME / DAGSTER_HOME
    wiring.db.upgrade()
    project_id = wiring.submit_project(two_room_project(tmp_path / "inputs"))
    assert all(result.success for result in wiring.run(project_id))
    status = wiring.status(project_id)
    assert status["status"] == "completed"

    shot = tmp_path / "dagit.png"
    with chromium_page(chromium_path, tmp_path / "chromium-profile") as page:
        page.goto(webserver + GRAPH)
        for name in ASSETS:
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        # Live data loaded: the project's partition is materialized in all three video assets.
        expect(page.get_by_text("100% filled")).to_have_count(3)
        page.screenshot(path=str(shot))

        page.goto(f"{webserver}/assets/final_video?view=events&partition={project_id}")
        expect(page.get_by_text(f"Partition {project_id} materialized")).to_be_visible()
        assert metadata_number(page, "cost_cents") == status["cost"]["actual_cents"]
        duration = status["output"]["duration_seconds"]
        assert metadata_number(page, "duration_s") == pytest.approx(duration, abs=0.01)

        metadata_row(page, "thumbnail").get_by_text("[Show Markdown]").click()
        thumbnail = page.get_by_role("dialog").locator('img[src^="data:image/jpeg;base64,"]')
        expect(thumbnail).to_be_visible()
        assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0

    shutil.copyfile(shot, SCREENSHOT)  # only a run whose assertions passed updates the README's
