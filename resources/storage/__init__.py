"""Storage: `LocalStorage` (file://) and `S3Storage` (s3://), chosen by `storage_from_url`."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from resources.errors import StudioError
from resources.storage.base import StorageResource, content_type_for
from resources.storage.local import LocalStorage
from resources.storage.s3 import S3Storage


def storage_from_url(
    url: str,
    *,
    endpoint_url: str | None = None,
    fetch_allow_hosts: str = "",
    upload_prefix: str = "",
) -> StorageResource:
    """Build the storage resource for `STUDIO_STORAGE_URL` (`file:///dir` or `s3://bucket/prefix`)."""
    parts = urlsplit(url)
    common = {"fetch_allow_hosts": fetch_allow_hosts, "upload_prefix": upload_prefix}
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return LocalStorage(root=unquote(parts.path), **common)
    if parts.scheme == "file" and parts.netloc.startswith("."):
        # `file://./dir` (what `file://$STUDIO_HOME/storage` gives for STUDIO_HOME=./.studio)
        # would otherwise lose its leading `.` to the URL's host part and land at `/dir`.
        return LocalStorage(root=unquote(parts.netloc + parts.path), **common)
    if parts.scheme == "s3" and parts.netloc:
        return S3Storage(
            bucket=parts.netloc, prefix=parts.path.strip("/"), endpoint_url=endpoint_url, **common
        )
    raise StudioError(
        f"STUDIO_STORAGE_URL must be file:///abs/dir, file://./rel/dir or s3://bucket/prefix, "
        f"not {url!r}"
    )


__all__ = ["LocalStorage", "S3Storage", "StorageResource", "content_type_for", "storage_from_url"]
