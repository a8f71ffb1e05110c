"""Storage on local disk under one root directory (the embedded default)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from resources.errors import InputRejected, NotFound
from resources.fetch import DEFAULT_MAX_BYTES
from resources.keys import check_key
from resources.storage.base import StorageResource


def path_of(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise InputRejected(f"not a local file URI: {uri!r}")
    return Path(unquote(parts.path))


class LocalStorage(StorageResource):
    """Files under `root`; URIs are `file:///abs/path`."""

    root: str

    def uri_for(self, key: str) -> str:
        return (Path(self.root).resolve() / check_key(key)).as_uri()

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        target = Path(self.root).resolve() / check_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)  # readers never see a half-written object
        return target.as_uri()

    def download(self, uri: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
        if uri.startswith("s3://"):
            raise InputRejected(f"{uri!r} is on S3 but storage is local: set STUDIO_STORAGE_URL")
        source = path_of(uri)
        if not source.is_file():
            raise NotFound(f"input file not found: {source}")
        size = source.stat().st_size
        if size > max_bytes:
            raise InputRejected(f"{source.name} is {size} bytes, over the {max_bytes}-byte limit")
        shutil.copyfile(source, dest)
        return dest

    def exists(self, uri: str) -> bool:
        return uri.startswith("file://") and path_of(uri).is_file()

    def delete(self, uri: str) -> None:
        path_of(uri).unlink(missing_ok=True)

    def downloadable_url(self, uri: str, expires_s: int = 3600) -> str:
        return str(path_of(uri))
