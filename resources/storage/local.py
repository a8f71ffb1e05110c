"""Storage on local disk under one root directory (the embedded default)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from resources.errors import InputRejected, NotFound
from resources.fetch import DEFAULT_MAX_BYTES
from resources.keys import check_key
from resources.storage.base import StorageResource
from resources.storage.scope import plain_key, plain_path, refuse


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

    def key_of(self, uri: str) -> str:
        return self._checked(uri)[0]

    def _checked(self, uri: str) -> tuple[str, Path]:
        """The key and real path of a `file://` URI inside the root; nothing else.

        The path is decoded once and must be plain; symlinks are refused (their target could be
        anywhere), so the file read is exactly the file checked.
        """
        if uri.startswith("s3://"):
            raise InputRejected(f"{uri!r} is on S3 but storage is local: set STUDIO_STORAGE_URL")
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise InputRejected(f"not a local file URI: {uri!r}")
        path = Path(plain_path(parts, decode=True))
        root = Path(self.root).resolve()
        for base in (root, Path(self.root).absolute()):
            if path.is_absolute() and path.is_relative_to(base) and path != base:
                key = plain_key(parts, path.relative_to(base).as_posix())
                break
        else:
            raise refuse(parts, "it is outside the storage root")
        candidate = root / key
        if Path(os.path.realpath(candidate)) != candidate:
            raise refuse(parts, "it is (or goes through) a symlink")
        return key, candidate

    def download(self, uri: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
        _, source = self._checked(uri)
        if not source.is_file():
            raise NotFound(f"input file not found: {source}")
        size = source.stat().st_size
        if size > max_bytes:
            raise InputRejected(f"{source.name} is {size} bytes, over the {max_bytes}-byte limit")
        with self.open_stream(uri) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out)
        return dest

    def open_stream(self, uri: str) -> BinaryIO:
        _, source = self._checked(uri)
        try:
            # O_NOFOLLOW: a symlink swapped in after the check is not followed either.
            fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise NotFound(f"file not found: {source}") from None
        return os.fdopen(fd, "rb")

    def exists(self, uri: str) -> bool:
        return uri.startswith("file://") and path_of(uri).is_file()

    def delete(self, uri: str) -> None:
        path_of(uri).unlink(missing_ok=True)

    def keys_under(self, prefix: str) -> list[str]:
        root = Path(self.root).resolve()
        folder = root / check_key(prefix.rstrip("/"))
        if not folder.is_dir() or folder.is_symlink():
            return []
        return sorted(
            path.relative_to(root).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and not path.is_symlink() and not path.name.startswith(".")
        )

    def delete_keys(self, keys: list[str]) -> None:
        root = Path(self.root).resolve()
        for key in keys:
            target = root / check_key(key)
            target.unlink(missing_ok=True)
            for folder in target.parents:  # the folders it leaves empty go too
                if folder == root or (folder.is_dir() and any(folder.iterdir())):
                    break
                if folder.is_dir():
                    folder.rmdir()

    def downloadable_url(self, uri: str, expires_s: int = 3600) -> str:
        return str(path_of(uri))
