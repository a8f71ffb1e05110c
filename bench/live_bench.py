"""Benchmark: how soon a committed progress event reaches a live-stream client.

Run from the repository root: `.venv/bin/python bench/live_bench.py` (in `make bench`). It
serves `studio events serve`'s app (uvicorn, in this process) over a fresh app DB, follows one
row, and commits `EVENTS` feed events one at a time (each carrying its commit time); the
latency is the time from commit to the client having the event. The client is headless
Chromium's `EventSource` on the live page (`live_*_browser`), and an httpx SSE client
(`live_*`). Side by side in one run: Postgres (the commit's NOTIFY wakes the stream) and
SQLite (the stream looks every 0.5 s). Target: `live_p95_s_postgres_browser` ≤ 1 s.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS = 40
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


CHROMIUM = "/usr/bin/chromium"
LISTEN_JS = """(url) => {
  window.latencies = [];
  const source = new EventSource(url);
  source.addEventListener("progress", (e) => {
    window.latencies.push(Date.now() / 1000 - JSON.parse(e.data).sent);
  });
}"""


def measure(db_url: str, folder: Path, row: str, browser: bool = False) -> list[float]:
    import httpx
    import uvicorn
    from httpx_sse import connect_sse

    from resources.database import AppDatabase, upgrade
    from resources.models import VideoProject
    from resources.repository import feed
    from resources.storage import LocalStorage
    from studio_assets.app import live

    upgrade(db_url)
    db = AppDatabase(url=db_url)
    with db.session() as session:
        if session.get(VideoProject, row) is None:
            session.add(VideoProject(id=row, workspace_id="ws_bench", name="bench"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = live.live_app(db, LocalStorage(root=str(folder / "storage")), "bench", poll_s=0.5)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    token, _ = live.issue_token("bench", row, 600)
    latencies: list[float] = []
    ready = threading.Event()

    def follow() -> None:
        url = f"http://127.0.0.1:{port}/v1/events/{row}"
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
            connect_sse(client, "GET", url, headers={"Authorization": f"Bearer {token}"}) as sse,
        ):
            ready.set()
            for event in sse.iter_sse():
                if event.event == "progress":
                    latencies.append(time.time() - json.loads(event.data)["sent"])
                    if len(latencies) == EVENTS:
                        return

    def follow_in_chromium() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = chromium.new_page()
            page.goto(f"http://127.0.0.1:{port}/?row={row}&token={token}")
            page.evaluate(LISTEN_JS, f"/v1/events/{row}?token={token}")
            ready.set()
            page.wait_for_function(f"window.latencies.length >= {EVENTS}", timeout=120_000)
            latencies.extend(page.evaluate("window.latencies"))
            chromium.close()

    reader = threading.Thread(target=follow_in_chromium if browser else follow)
    reader.start()
    ready.wait(30)
    time.sleep(1.0)  # the stream is listening
    for n in range(EVENTS):
        time.sleep(0.3 + (n % 3) * 0.17)  # commits at uneven moments against the poll
        with db.session() as session:
            feed.add(session, row, "progress", {"progress": n, "sent": time.time()})
    reader.join(timeout=60)
    server.should_exit = True
    return latencies


def main() -> None:
    import sqlalchemy as sa

    name = f"bench_live_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            pg_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            lite_url = f"sqlite:///{folder / 'app.db'}"
            results = {
                "postgres": measure(pg_url, folder, "vp_bench_pg"),
                "sqlite": measure(lite_url, folder, "vp_bench_lite"),
                "postgres_browser": measure(pg_url, folder, "vp_bench_pg_b", browser=True),
                "sqlite_browser": measure(lite_url, folder, "vp_bench_lite_b", browser=True),
            }
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for label, values in results.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"live_events_{label}={len(values)}")
        print(f"live_p50_s_{label}={statistics.median(values):.3f}")
        print(f"live_p95_s_{label}={p95:.3f}")


if __name__ == "__main__":
    main()
