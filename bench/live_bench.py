"""Benchmark: how soon a committed progress event reaches a live-stream client.

Run from the repository root: `.venv/bin/python bench/live_bench.py` (in `make bench`). It
serves `studio events serve`'s app (uvicorn, in this process) over a fresh app DB, follows one
row with an SSE client, and commits `EVENTS` feed events one at a time (each carrying its commit
time); the latency is the time from commit to the client having parsed the event. Side by side
in one run: Postgres (the commit's NOTIFY wakes the stream) and SQLite (the stream looks every
0.5 s). Target: `live_p95_s_postgres` ≤ 1 s.
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
ROW = "vp_bench_live"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def measure(db_url: str, folder: Path) -> list[float]:
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
        session.add(VideoProject(id=ROW, workspace_id="ws_bench", name="bench"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = live.live_app(db, LocalStorage(root=str(folder / "storage")), "bench", poll_s=0.5)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    token, _ = live.issue_token("bench", ROW, 600)
    latencies: list[float] = []
    ready = threading.Event()

    def follow() -> None:
        url = f"http://127.0.0.1:{port}/v1/events/{ROW}"
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

    reader = threading.Thread(target=follow)
    reader.start()
    ready.wait(10)
    time.sleep(1.0)  # the stream is listening
    for n in range(EVENTS):
        time.sleep(0.3 + (n % 3) * 0.17)  # commits at uneven moments against the poll
        with db.session() as session:
            feed.add(session, ROW, "progress", {"progress": n, "sent": time.time()})
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
            pg = measure(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", folder)
            lite = measure(f"sqlite:///{folder / 'app.db'}", folder)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for label, values in (("postgres", pg), ("sqlite", lite)):
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"live_events_{label}={len(values)}")
        print(f"live_p50_s_{label}={statistics.median(values):.3f}")
        print(f"live_p95_s_{label}={p95:.3f}")


if __name__ == "__main__":
    main()
