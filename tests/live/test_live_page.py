"""The live page in a real browser: headless Chromium opens `studio events serve`'s page with a
row's token and its bar moves as the run goes, to 100 % when the video is made."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio_assets.app import live
from tests.live.test_dagit_browser import chromium_page
from tests.live.test_dagit_browser import chromium_path as chromium_path  # noqa: F401
from tests.pipeline.test_live_events import SECRET, serving
from tests.support.projects import make_project, run
from tests.support.studio_fixtures import Studio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_the_live_page_shows_the_bar_moving_to_done(
    sqlite_studio: Studio, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    studio = sqlite_studio
    chromium = request.getfixturevalue("chromium_path")
    project_id = make_project(studio, rooms=("exterior", "kitchen", "bedroom"), seamless=())
    token, _ = live.issue_token(SECRET, project_id, 600)
    with serving(studio) as base, chromium_page(chromium, tmp_path / "profile") as page:
        page.goto(f"{base}/?row={project_id}&token={token}")
        expect(page.locator("#label")).to_have_text("Waiting for a worker…")
        running = threading.Thread(target=run, args=(studio, project_id))
        running.start()
        seen: set[int] = set()
        percent = page.locator("#percent")
        while True:  # what the page shows, as it changes
            value = int(percent.inner_text())
            seen.add(value)
            if value == 100:
                break
            page.wait_for_function(
                f"document.getElementById('percent').textContent != '{value}'", timeout=120_000
            )
        running.join(timeout=120)
        expect(page.locator("#label")).to_have_text("Video ready!")
        assert page.locator("#fill").evaluate("e => e.style.width") == "100%"
        assert page.locator("#clips li").count() == 3  # each clip, linked, as it was made
    assert len(seen - {0, 100}) >= 3, seen  # the bar moved through the run, not just jumped
