"""The one place that builds storage keys from ids (DESIGN.md: one place for storage keys)."""

from __future__ import annotations

import re

from resources.errors import InputRejected

# fullmatch, not `$`: `$` also matches before a trailing newline ("name\n" would pass).
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_key(key: str) -> str:
    """Return `key` if every segment is a plain name; refuse `..`, absolute paths, odd chars."""
    if not key or key.startswith("/") or "\\" in key:
        raise InputRejected(f"unsafe storage key {key!r}: must be a relative path")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment) or ".." in segment:
            raise InputRejected(
                f"unsafe storage key {key!r}: segment {segment!r} is not a plain name"
            )
    return key


def image_key(workspace_id: str, image_id: str, name: str) -> str:
    """Key of a file that belongs to one image generation."""
    return check_key(f"workspaces/{workspace_id}/images/{image_id}/{name}")


def video_key(workspace_id: str, project_id: str, name: str) -> str:
    """Key of a file that belongs to one video project (clips, transitions, the final MP4)."""
    return check_key(f"workspaces/{workspace_id}/videos/{project_id}/{name}")


def upload_key(workspace_id: str, upload_id: str, name: str) -> str:
    """Key of an input the CLI uploaded on the app's behalf (photos, masks, music)."""
    return check_key(f"workspaces/{workspace_id}/uploads/{upload_id}/{name}")
