"""Storage on S3 (or an S3-compatible server) through boto3."""

from __future__ import annotations

from contextlib import AbstractContextManager, closing
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
import dagster as dg
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from resources.errors import InputRejected, NotFound, StudioError
from resources.fetch import DEFAULT_MAX_BYTES
from resources.keys import check_key
from resources.storage.base import StorageResource, content_type_for
from resources.storage.scope import plain_key, plain_path, refuse

TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)


@cache
def _client(endpoint_url: str | None, region: str | None) -> Any:
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        signature_version="s3v4",
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def split_s3_uri(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise InputRejected(f"not an S3 URI: {uri!r}")
    return parts.netloc, parts.path.lstrip("/")


DELETE_BATCH = 1000
"""S3's DeleteObjects takes at most 1000 keys a request."""


class S3Storage(StorageResource):
    """Objects in `bucket` under `prefix`; URIs are `s3://bucket/prefix/key`."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None

    @property
    def client(self) -> Any:
        return _client(self.endpoint_url or None, self.region or None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.check_reachable()

    def check_reachable(self) -> None:
        """Fail at start-up, not mid-run, when the bucket is missing or credentials are refused."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                raise StudioError(f"S3 bucket {self.bucket!r} does not exist") from None
            raise StudioError(
                f"S3 bucket {self.bucket!r} refused access ({code or 'error'}): check credentials"
            ) from None
        except BotoCoreError as exc:
            raise StudioError(f"S3 storage unreachable: {type(exc).__name__}") from None

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        full = self._key(key)
        extra = {"ContentType": content_type or content_type_for(path)}
        self.client.upload_file(str(path), self.bucket, full, ExtraArgs=extra, Config=TRANSFER)
        return f"s3://{self.bucket}/{full}"

    def key_of(self, uri: str) -> str:
        """The key under `prefix` of an `s3://` URI in this bucket; nothing else."""
        if not uri.startswith("s3://"):
            raise InputRejected(f"{uri!r} is not on S3; S3 storage reads s3:// and https:// only")
        parts = urlsplit(uri)
        if parts.netloc != self.bucket:
            raise refuse(parts, f"it is not in this storage's bucket {self.bucket!r}")
        full = plain_path(parts, decode=False).removeprefix("/")
        prefix = self.prefix.strip("/")
        if prefix and not full.startswith(f"{prefix}/"):
            raise refuse(parts, "it is outside the storage root (the bucket's prefix)")
        return plain_key(parts, full.removeprefix(f"{prefix}/") if prefix else full)

    def download(self, uri: str, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
        bucket, key = self.bucket, self._key(self.key_of(uri))
        try:
            size = self.client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            raise NotFound(f"input not found: {uri}") from exc
        if size > max_bytes:
            raise InputRejected(f"{uri} is {size} bytes, over the {max_bytes}-byte limit")
        self.client.download_file(bucket, key, str(dest), Config=TRANSFER)
        return dest

    def open_stream(self, uri: str) -> AbstractContextManager[BinaryIO]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(self.key_of(uri)))
        except ClientError as exc:
            raise NotFound(f"object not found: {uri}") from exc
        return closing(body["Body"])

    def exists(self, uri: str) -> bool:
        if not uri.startswith("s3://"):
            return False
        bucket, key = split_s3_uri(uri)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError:
            return False
        return True

    def delete(self, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self.client.delete_object(Bucket=bucket, Key=key)

    def keys_under(self, prefix: str) -> list[str]:
        root = self.prefix.strip("/")
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/")) + "/"
        )
        return sorted(
            item["Key"].removeprefix(f"{root}/") if root else item["Key"]
            for page in pages
            for item in page.get("Contents", [])
        )

    def delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self._key(key)} for key in keys[start : start + DELETE_BATCH]]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if errors := answer.get("Errors"):
                first = errors[0]
                raise StudioError(
                    f"S3 refused to delete {len(errors)} object(s), e.g. {first.get('Key')}: "
                    f"{first.get('Code')}"
                )

    def downloadable_url(self, uri: str, expires_s: int = 3600) -> str:
        bucket, key = split_s3_uri(uri)
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
            )
        )

    def remote_url(self, uri: str, expires_s: int = 3600) -> str | None:
        return self.downloadable_url(uri, expires_s) if uri.startswith("s3://") else None
