"""Tenant isolation: the one place that decides which stored objects a row may read.

A `file://` or `s3://` input must spell a plain path (no `..`, no backslash, no percent-encoded
`.`, `/`, `\\` or `%`, no query), lie inside the storage root (the bucket and its prefix), and
its key must start with one of the row's own workspace prefixes (`resources.keys`); music may
also come from the shared library (`library/music/`). Anything else is `InputRejected`, before
a byte is read or a cent is spent.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote

from resources.errors import InputRejected
from resources.keys import LIBRARY_MUSIC_PREFIX, check_key, workspace_prefixes

_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|25)", re.IGNORECASE)


def shown(parts: SplitResult) -> str:
    """A URI for messages: no query string, no credentials."""
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


def refuse(parts: SplitResult, reason: str) -> InputRejected:
    return InputRejected(f"input {shown(parts)} refused: {reason}")


def plain_path(parts: SplitResult, *, decode: bool) -> str:
    """The URI's path, decoded once; refuses every spelling that could climb out of a prefix."""
    raw = parts.path
    if parts.query or parts.fragment or "?" in raw or "#" in raw:
        raise refuse(parts, "storage URIs take no query string or fragment")
    if "\\" in raw:
        raise refuse(parts, "backslashes are not allowed in storage URIs")
    if _ENCODED_SEPARATOR.search(raw) or (not decode and "%" in raw):
        raise refuse(parts, "percent-encoded '.', '/', '\\' or '%' are not allowed")
    path = unquote(raw) if decode else raw
    if "\\" in path or "%" in path:
        raise refuse(parts, "percent-encoded '.', '/', '\\' or '%' are not allowed")
    if any(segment in (".", "..") for segment in path.split("/")) or "//" in path:
        raise refuse(parts, "'.', '..' and empty path segments are not allowed")
    return path


def plain_key(parts: SplitResult, key: str) -> str:
    """`key` if it is made of plain names, as every key studio writes is (`check_key`)."""
    try:
        return check_key(key)
    except InputRejected:
        raise refuse(parts, "its path is not made of plain names (A-Z a-z 0-9 . _ -)") from None


def check_in_scope(
    parts: SplitResult,
    key: str,
    workspace_id: str,
    *,
    upload_prefix: str = "",
    library: bool = False,
) -> None:
    """Refuse `key` unless it lies under one of `workspace_id`'s prefixes (or the library)."""
    prefixes = workspace_prefixes(workspace_id, upload_prefix)
    if library:
        prefixes = (*prefixes, LIBRARY_MUSIC_PREFIX)
    if not key.startswith(prefixes):
        allowed = " or ".join(f"{p}…" for p in prefixes)
        raise refuse(
            parts, f"it is outside workspace {workspace_id!r} (inputs must be under {allowed})"
        )
