"""What the pipeline found wrong with a project's photos, kept for the status JSON.

`video_clips` records one line per flagged photo (a photo far below the frame's resolution)
when it reads the photos; `photo_warnings` reads them back, so the status JSON and the CLI can
show them without opening a photo. They live in storage next to the project's other inputs,
replaced on every run (an empty list once the photos are fine).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from resources.keys import video_key
from resources.models import VideoProject
from resources.storage import StorageResource

_NAME = "inputs/photo-warnings.json"
_MAX_BYTES = 1024 * 1024


def record_photo_warnings(
    storage: StorageResource, project: VideoProject, warnings: list[str]
) -> str:
    """Store `warnings` (one line each) as the project's photo warnings; their URI."""
    with tempfile.TemporaryDirectory(prefix="studio-warnings-") as tmp:
        path = Path(tmp) / "photo-warnings.json"
        path.write_text(json.dumps({"warnings": warnings}, ensure_ascii=False))
        key = video_key(project.workspace_id, project.id, _NAME)
        return storage.put_file(key, path, "application/json")


def photo_warnings(storage: StorageResource, project: VideoProject) -> list[str]:
    """The project's photo warnings as its last run recorded them ([] before any run)."""
    uri = storage.uri_for(video_key(project.workspace_id, project.id, _NAME))
    try:
        if not storage.exists(uri):
            return []
        with tempfile.TemporaryDirectory(prefix="studio-warnings-") as tmp:
            path = storage.fetch(uri, Path(tmp) / "photo-warnings.json", max_bytes=_MAX_BYTES)
            warnings = json.loads(path.read_text()).get("warnings", [])
    except Exception:  # storage down, or a file not ours: the status must answer anyway
        return []
    return [str(w) for w in warnings] if isinstance(warnings, list) else []
