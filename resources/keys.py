"""The one place that builds storage keys from ids (DESIGN.md: one place for storage keys)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from resources.errors import InputRejected

# fullmatch, not `$`: `$` also matches before a trailing newline ("name\n" would pass).
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def plain_name(text: str, limit: int = 80) -> str:
    """`text` as a plain key segment or file name: accents dropped (`café` → `cafe`), anything
    else but letters, digits, `.`, `_`, `-` turned into `-`, starting with a letter or digit,
    at most `limit` characters; empty if nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore")
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text.decode())
    plain = re.sub(r"\.{2,}", ".", plain).lstrip("._-")
    return plain[:limit].rstrip(".-")


def content_id(prefix: str, *parts: str) -> str:
    """`{prefix}_` and a digest of `parts`: the same parts always name the same slot row."""
    return f"{prefix}_{hashlib.sha256(chr(0x1F).join(parts).encode()).hexdigest()[:40]}"


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


def image_folder(workspace_id: str, image_id: str) -> str:
    """The folder of every file one image generation owns (its result, its inputs as read)."""
    return check_key(f"workspaces/{workspace_id}/images/{image_id}") + "/"


def video_folder(workspace_id: str, project_id: str) -> str:
    """The folder of every file one video project owns (clips, transitions, speech, videos)."""
    return check_key(f"workspaces/{workspace_id}/videos/{project_id}") + "/"


def image_project_folder(workspace_id: str, project_id: str) -> str:
    """The folder of the files a whole image project owns (its stored ZIP)."""
    return check_key(f"workspaces/{workspace_id}/image-projects/{project_id}") + "/"


def upload_folder(workspace_id: str) -> str:
    """Where the CLI uploads a workspace's inputs (photos, masks, logos, music)."""
    return check_key(f"workspaces/{workspace_id}/uploads") + "/"


def image_key(workspace_id: str, image_id: str, name: str) -> str:
    """Key of a file that belongs to one image generation."""
    return check_key(image_folder(workspace_id, image_id) + name)


def video_key(workspace_id: str, project_id: str, name: str) -> str:
    """Key of a file that belongs to one video project (clips, transitions, the final MP4)."""
    return check_key(video_folder(workspace_id, project_id) + name)


def image_project_key(workspace_id: str, project_id: str, name: str) -> str:
    """Key of a file that belongs to a whole image project (its stored ZIP)."""
    return check_key(image_project_folder(workspace_id, project_id) + name)


def upload_key(workspace_id: str, upload_id: str, name: str) -> str:
    """Key of an input the CLI uploaded on the app's behalf (photos, masks, music)."""
    return check_key(f"{upload_folder(workspace_id)}{upload_id}/{name}")


LIBRARY_MUSIC_PREFIX = "library/music/"
"""Shared music tracks every workspace may use (the app's stock library)."""


def workspace_prefixes(workspace_id: str, upload_prefix: str = "") -> tuple[str, ...]:
    """The key prefixes a row of `workspace_id` may read its inputs from.

    Its own `workspaces/{id}/` (what the CLI uploads to and every output is written under) and,
    when the app drops uploads elsewhere, `{upload_prefix}/{id}/` (STUDIO_UPLOAD_PREFIX).
    """
    if not _SEGMENT.fullmatch(workspace_id or "") or ".." in workspace_id:
        raise InputRejected(f"workspace id {workspace_id!r} is not a plain name")
    prefixes = [f"workspaces/{workspace_id}/"]
    if upload_prefix.strip("/"):
        prefixes.append(f"{check_key(upload_prefix.strip('/'))}/{workspace_id}/")
    return tuple(prefixes)
