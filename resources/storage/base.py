"""The storage interface: one door to files, whether on local disk or S3 (hooli's pattern)."""

from __future__ import annotations

import mimetypes
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import dagster as dg

from resources.errors import InputRejected
from resources.fetch import DEFAULT_MAX_BYTES, fetch_to_file
from resources.storage.scope import check_in_scope


def content_type_for(path: Path | str) -> str:
    return mimetypes.guess_type(str(path))[0] or "application/octet-stream"


class StorageResource(dg.ConfigurableResource, ABC):
    """Where inputs are read from and every output is written to.

    URIs stored in the app DB are `file:///…` or `s3://bucket/key`; `downloadable_url` turns
    them into something a person or the app can open.
    """

    fetch_allow_hosts: str = ""
    """Comma-separated `host:port`s exempt from the private-address refusal
    (STUDIO_FETCH_ALLOW_HOSTS)."""

    upload_prefix: str = ""
    """Where the app drops inputs besides `workspaces/{id}/`: `{upload_prefix}/{workspace_id}/…`
    under the storage root (STUDIO_UPLOAD_PREFIX); empty for none."""

    @abstractmethod
    def uri_for(self, key: str) -> str:
        """The URI an object under `key` has (whether or not it exists yet)."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        """Store the file at `path` under `key` (streamed) and return its URI."""

    @abstractmethod
    def download(self, uri: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
        """Copy the object at one of this storage's URIs to `dest`."""

    @abstractmethod
    def open_stream(self, uri: str) -> AbstractContextManager[BinaryIO]:
        """One of this storage's objects, opened for reading in chunks (never loaded whole);
        NotFound if it is not there."""

    @abstractmethod
    def key_of(self, uri: str) -> str:
        """The key of one of this storage's URIs; refuses any spelling outside the root."""

    @abstractmethod
    def exists(self, uri: str) -> bool: ...

    @abstractmethod
    def delete(self, uri: str) -> None: ...

    @abstractmethod
    def keys_under(self, prefix: str) -> list[str]:
        """Every key stored under `prefix` (a folder, ending in `/`), sorted."""

    @abstractmethod
    def delete_keys(self, keys: list[str]) -> None:
        """Delete the objects under `keys` (batched on S3); one that is not there is skipped."""

    @abstractmethod
    def downloadable_url(self, uri: str, expires_s: int = 3600) -> str:
        """A local path or a presigned HTTPS URL for `uri`."""

    def remote_url(self, uri: str, expires_s: int = 3600) -> str | None:
        """An HTTPS URL a remote provider can fetch `uri` from directly, if there is one."""
        return None

    @property
    def allow_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.fetch_allow_hosts.split(",") if h.strip())

    def fetch(self, uri: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
        """Bring any input (`file://`, `s3://`, `http(s)://`) to a local file, size-limited.

        Stored objects are read only from inside the storage root (`key_of`); `fetch_input`
        also confines them to a workspace.
        """
        scheme = _scheme(uri)
        if scheme in ("http", "https"):
            return fetch_to_file(uri, dest, allow_hosts=self.allow_hosts, max_bytes=max_bytes)
        if scheme in ("file", "s3"):
            return self.download(uri, dest, max_bytes)
        raise InputRejected(f"unsupported input URL {uri!r}: use file://, s3:// or https://")

    def check_input(self, uri: str, workspace_id: str, *, library: bool = False) -> None:
        """Refuse a row's input unless it is in the row's own workspace (tenant isolation).

        `file://`/`s3://` inputs must be inside the storage root under `workspaces/{id}/` or
        `{upload_prefix}/{id}/` (`library`: or the shared `library/music/`); http(s) inputs
        are checked when fetched (SSRF guard).
        """
        scheme = _scheme(uri)
        if scheme in ("http", "https"):
            return
        if scheme not in ("file", "s3"):
            raise InputRejected(f"unsupported input URL {uri!r}: use file://, s3:// or https://")
        parts = urlsplit(uri)
        check_in_scope(
            parts,
            self.key_of(uri),
            workspace_id,
            upload_prefix=self.upload_prefix,
            library=library,
        )

    def fetch_input(
        self,
        uri: str,
        dest: Path,
        workspace_id: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        library: bool = False,
    ) -> Path:
        """`fetch` a row's input after `check_input`: one workspace never reads another's."""
        self.check_input(uri, workspace_id, library=library)
        return self.fetch(uri, dest, max_bytes)


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""
