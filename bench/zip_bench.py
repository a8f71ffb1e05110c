"""Benchmark: the ZIP of a 100-photo image project of 5 MB photos, and the memory it takes.

Run from the repository root: `.venv/bin/python bench/zip_bench.py` (in `make bench`). It writes
an image project of 100 finished photos (5 MB each, 500 MB in all) into a SQLite app DB and
storage, then zips it in a fresh process per way, side by side in one run:

- `zip_local_*`: `zipping.save_zip` from local disk, as `studio images zip` does;
- `zip_s3_*`: the same from S3 (moto's server over HTTP, in this process; the zipper is a
  separate process, so the server's memory is not counted);
- `zip_in_memory_*`: what it replaced — the whole archive built in memory, then written.

`*_peak_rss_mb` is the zipping process's peak resident memory (imports included),
`*_added_mb` the peak above what that process held before it zipped; the target is a peak
under 200 MB for the streamed ways. `zip_memory_ratio` is in-memory peak / local peak.
"""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = 100
PHOTO_BYTES = 5 * 1024 * 1024
PROJECT = "ip_bench"


def main() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    with tempfile.TemporaryDirectory(prefix="studio-zip-bench-") as tmp:
        work = Path(tmp)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ[key] = "testing"
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        try:
            setups = {
                "local": {"storage": "local", "root": str(work / "storage")},
                "s3": {"storage": "s3", "endpoint": endpoint},
            }
            for name, setup in setups.items():
                _project(work / f"{name}.db", setup)
            results = {
                "local": _child(work, "stream", setups["local"], work / "local.db"),
                "s3": _child(work, "stream", setups["s3"], work / "s3.db"),
                "in_memory": _child(work, "memory", setups["local"], work / "local.db"),
            }
        finally:
            server.stop()
    print(f"zip_photos={PHOTOS}")
    print(f"zip_photo_mb={PHOTO_BYTES / 2**20:.0f}")
    for name, got in results.items():
        print(f"zip_{name}_seconds={got['seconds']:.2f}")
        print(f"zip_{name}_peak_rss_mb={got['peak_mb']:.0f}")
        print(f"zip_{name}_added_mb={got['peak_mb'] - got['before_mb']:.0f}")
        print(f"zip_{name}_archive_mb={got['archive_mb']:.0f}")
    print(f"zip_memory_ratio={results['in_memory']['peak_mb'] / results['local']['peak_mb']:.1f}")


def _storage(setup: dict[str, str]):  # type: ignore[no-untyped-def]
    from resources.storage import LocalStorage, S3Storage

    if setup["storage"] == "s3":
        return S3Storage(bucket="bench", prefix="studio", endpoint_url=setup["endpoint"])
    return LocalStorage(root=setup["root"])


def _project(db_path: Path, setup: dict[str, str]) -> None:
    """100 finished photos of 5 MB (incompressible, as JPEGs are) and their project's rows."""
    from resources.database import AppDatabase
    from resources.models import ImageGeneration, ImageProject
    from resources.repository import rows

    db = AppDatabase(url=f"sqlite:///{db_path}")
    db.upgrade()
    storage = _storage(setup)
    source = db_path.parent / "photo.bin"
    with db.session() as session:
        rows.add(
            session,
            ImageProject(id=PROJECT, workspace_id="ws_bench", name="Bench", style="natural"),
        )
        for order in range(PHOTOS):
            source.write_bytes(os.urandom(PHOTO_BYTES))
            photo_id = f"img_bench{order:03d}"
            key = f"workspaces/ws_bench/images/{photo_id}/result.jpg"
            rows.add(
                session,
                ImageGeneration(
                    id=photo_id,
                    workspace_id="ws_bench",
                    kind="enhance",
                    room_type="kitchen",
                    style="natural",
                    original_image_url=f"file:///uploads/IMG_{order:04d}.jpg",
                    result_image_url=storage.put_file(key, source, "image/jpeg"),
                    status="completed",
                    image_project_id=PROJECT,
                    project_order=order,
                ),
            )


def _child(work: Path, how: str, setup: dict[str, str], db_path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", how, json.dumps(setup), str(db_path), str(work)],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _zip_in_child(how: str, setup: dict[str, str], db_path: Path, work: Path) -> None:
    from resources.database import AppDatabase
    from studio_assets.app import zipping

    db, storage = AppDatabase(url=f"sqlite:///{db_path}"), _storage(setup)
    archive = zipping.plan(db, PROJECT)
    out = work / f"{setup['storage']}-{how}.zip"
    before = _peak_mb()
    started = time.perf_counter()
    if how == "stream":
        zipping.save_zip(storage, archive, out)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for entry in archive.entries:
                with storage.open_stream(entry.uri) as src:
                    zf.writestr(entry.name, src.read())
        out.write_bytes(buffer.getvalue())
    seconds = time.perf_counter() - started
    size = out.stat().st_size / 2**20
    out.unlink()
    print(
        json.dumps(
            {"seconds": seconds, "peak_mb": _peak_mb(), "before_mb": before, "archive_mb": size}
        )
    )


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not `ru_maxrss`: Linux carries the peak of
    the parent's pages over `fork` + `exec` into it, and the parent holds the S3 server."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _zip_in_child(sys.argv[2], json.loads(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
    else:
        main()
