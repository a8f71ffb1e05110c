"""Storage on local disk and on S3 (moto's server over real HTTP): the same promises from both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from resources.errors import InputRejected, NotFound, StudioError
from resources.storage import LocalStorage, S3Storage, StorageResource, storage_from_url
from resources.storage import s3 as s3_module
from tests.support.peers import HttpPeer

KEY = "workspaces/ws_1/videos/vp_1/final.mp4"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageResource:
    """Each storage, empty: a directory under tmp_path, or a fresh bucket with a prefix."""
    allow = f"127.0.0.1:{request.getfixturevalue('_http_peer').server_address[1]}"
    if request.param == "local":
        return LocalStorage(root=str(tmp_path / "store"), fetch_allow_hosts=allow)
    endpoint = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Storage(bucket=bucket, prefix="studio", endpoint_url=endpoint, fetch_allow_hosts=allow)


def stored_objects(storage: StorageResource, s3_client: Any | None = None) -> list[str]:
    """Everything a storage holds: file paths under the root, or keys in the bucket."""
    if isinstance(storage, LocalStorage):
        root = Path(storage.root)
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert isinstance(storage, S3Storage) and s3_client is not None
    listing = s3_client.list_objects_v2(Bucket=storage.bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_round_trip_exists_delete(storage: StorageResource, tmp_path: Path) -> None:
    data = write_random(tmp_path / "src.mp4", 100_000)
    uri = storage.put_file(KEY, tmp_path / "src.mp4")
    assert uri == storage.uri_for(KEY)
    assert (
        uri.startswith("file:///")
        if isinstance(storage, LocalStorage)
        else uri.startswith(f"s3://{storage.bucket}/studio/workspaces/")
    )
    assert storage.exists(uri)
    assert storage.download(uri, tmp_path / "back.mp4").read_bytes() == data
    assert storage.fetch(uri, tmp_path / "fetched.mp4").read_bytes() == data
    storage.delete(uri)
    assert not storage.exists(uri)
    with pytest.raises(NotFound):
        storage.download(uri, tmp_path / "gone.mp4")


def test_keys_under_a_folder_are_listed_and_deleted_in_batches(
    storage: StorageResource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing sees only the folder (not a sibling sharing its name's start); deleting many
    keys goes in batches on S3 and leaves the neighbours alone."""
    import resources.storage.s3 as s3_module

    monkeypatch.setattr(s3_module, "DELETE_BATCH", 3)  # 7 keys: three DeleteObjects requests
    (tmp_path / "f.bin").write_bytes(b"x")
    mine = [f"workspaces/ws1/videos/vp_1/r{n}/final.mp4" for n in range(7)]
    neighbour = "workspaces/ws1/videos/vp_10/final.mp4"
    for key in [*mine, neighbour]:
        storage.put_file(key, tmp_path / "f.bin")
    assert storage.keys_under("workspaces/ws1/videos/vp_1/") == sorted(mine)
    storage.delete_keys([*mine, "workspaces/ws1/videos/vp_1/never-there.mp4"])
    assert storage.keys_under("workspaces/ws1/videos/vp_1/") == []
    assert storage.keys_under("workspaces/ws1/videos/") == [neighbour]
    assert storage.exists(storage.uri_for(neighbour))
    if isinstance(storage, LocalStorage):  # no empty folders left behind
        assert not (Path(storage.root) / "workspaces/ws1/videos/vp_1").exists()


def test_overwrite_replaces_the_object(storage: StorageResource, tmp_path: Path) -> None:
    write_random(tmp_path / "a", 10)
    second = write_random(tmp_path / "b", 20)
    storage.put_file(KEY, tmp_path / "a")
    uri = storage.put_file(KEY, tmp_path / "b")
    assert storage.download(uri, tmp_path / "back").read_bytes() == second


def test_file_over_the_multipart_threshold_round_trips(
    storage: StorageResource, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = write_random(tmp_path / "big.mp4", 20 * 1024 * 1024)
    uri = storage.put_file(KEY, tmp_path / "big.mp4")
    back = storage.download(uri, tmp_path / "back.mp4", max_bytes=len(data))
    assert back.read_bytes() == data
    if isinstance(storage, S3Storage):
        head = request.getfixturevalue("s3_client").head_object(
            Bucket=storage.bucket, Key=f"studio/{KEY}"
        )
        assert "-" in head["ETag"], "expected a multipart upload"
        assert head["ContentType"] == "video/mp4"
    else:
        assert stored_objects(storage) == [KEY], "no partial file left behind"


def test_downloadable_url_opens_the_file(storage: StorageResource, tmp_path: Path) -> None:
    data = write_random(tmp_path / "thumb.jpg", 5000)
    uri = storage.put_file("workspaces/ws/videos/p/thumb.jpg", tmp_path / "thumb.jpg")
    url = storage.downloadable_url(uri, expires_s=600)
    if isinstance(storage, LocalStorage):
        assert Path(url).read_bytes() == data
        assert storage.remote_url(uri) is None
    else:
        assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature=" in url
        response = httpx.get(url)
        assert response.status_code == 200 and response.content == data
        assert response.headers["content-type"] == "image/jpeg"
        remote = storage.remote_url(uri)
        assert remote is not None and httpx.get(remote).content == data


@pytest.mark.parametrize("key", ["../escape.txt", "/etc/x", "a/../../b", "a b/c", "ok/..\\x"])
def test_unsafe_keys_are_refused_with_nothing_written(
    storage: StorageResource, tmp_path: Path, key: str, request: pytest.FixtureRequest
) -> None:
    write_random(tmp_path / "src", 10)
    with pytest.raises(InputRejected, match="unsafe storage key"):
        storage.put_file(key, tmp_path / "src")
    with pytest.raises(InputRejected, match="unsafe storage key"):
        storage.uri_for(key)
    client = request.getfixturevalue("s3_client") if isinstance(storage, S3Storage) else None
    assert stored_objects(storage, client) == []
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["src"]


def test_max_bytes_is_respected(storage: StorageResource, tmp_path: Path) -> None:
    write_random(tmp_path / "src.png", 2000)
    uri = storage.put_file("workspaces/ws/uploads/u/src.png", tmp_path / "src.png")
    for read in (storage.download, storage.fetch):
        with pytest.raises(InputRejected, match="over the 1999-byte limit"):
            read(uri, tmp_path / "dest.png", max_bytes=1999)
        assert not (tmp_path / "dest.png").exists()
    assert storage.fetch(uri, tmp_path / "ok.png", max_bytes=2000).stat().st_size == 2000


def test_fetch_reads_http_inputs_through_the_guard(
    storage: StorageResource, http_server: HttpPeer, tmp_path: Path
) -> None:
    url = http_server.serve("/photo.jpg", b"jpeg", content_type="image/jpeg")
    assert storage.fetch(url, tmp_path / "photo.jpg").read_bytes() == b"jpeg"
    guarded = storage.model_copy(update={"fetch_allow_hosts": ""})
    with pytest.raises(InputRejected, match="private or loopback"):
        guarded.fetch(url, tmp_path / "refused.jpg")
    with pytest.raises(InputRejected, match="unsupported input URL"):
        storage.fetch("ftp://example.com/photo.jpg", tmp_path / "ftp.jpg")


def test_local_storage_refuses_s3_inputs_clearly(tmp_path: Path) -> None:
    local = LocalStorage(root=str(tmp_path))
    with pytest.raises(InputRejected, match="is on S3 but storage is local"):
        local.fetch("s3://bucket/living.jpg", tmp_path / "x.jpg")
    assert not local.exists("s3://bucket/living.jpg")
    with pytest.raises(NotFound, match="input file not found"):
        local.fetch((tmp_path / "missing.jpg").as_uri(), tmp_path / "x.jpg")


def test_s3_storage_refuses_local_inputs_clearly(
    s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    s3 = S3Storage(bucket=s3_bucket, endpoint_url=s3_server)
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(InputRejected, match="is not on S3"):
        s3.fetch((tmp_path / "a.jpg").as_uri(), tmp_path / "b.jpg")
    assert not s3.exists((tmp_path / "a.jpg").as_uri())


def test_storage_from_url(s3_server: str, s3_bucket: str, s3_client: Any, tmp_path: Path) -> None:
    s3 = storage_from_url(f"s3://{s3_bucket}/team/media/", endpoint_url=s3_server)
    assert isinstance(s3, S3Storage) and s3.prefix == "team/media"
    (tmp_path / "a.png").write_bytes(b"png")
    assert s3.put_file("workspaces/ws/images/i/a.png", tmp_path / "a.png") == (
        f"s3://{s3_bucket}/team/media/workspaces/ws/images/i/a.png"
    )
    assert stored_objects(s3, s3_client) == ["team/media/workspaces/ws/images/i/a.png"]
    root_bucket = storage_from_url(f"s3://{s3_bucket}", endpoint_url=s3_server)
    assert root_bucket.uri_for("k/a.png") == f"s3://{s3_bucket}/k/a.png"

    local = storage_from_url((tmp_path / "store").as_uri(), fetch_allow_hosts="a.example:443, b:80")
    assert isinstance(local, LocalStorage) and local.root == str(tmp_path / "store")
    assert local.allow_hosts == ("a.example:443", "b:80")
    assert Path(storage_from_url("file://./rel/store").root) == Path("rel/store")
    for bad in ("s3:///no-bucket", "gs://bucket/x", "file://host/share", "/plain/path"):
        with pytest.raises(StudioError, match="STUDIO_STORAGE_URL must be"):
            storage_from_url(bad)


@contextmanager
def s3_auth_enforced(endpoint: str) -> Iterator[None]:
    """Make moto check credentials (it accepts any by default) for the duration."""
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


def test_check_reachable(s3_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    S3Storage(bucket=s3_bucket, endpoint_url=s3_server).check_reachable()
    with pytest.raises(StudioError, match="S3 bucket 'no-such-bucket-x' does not exist"):
        S3Storage(bucket="no-such-bucket-x", endpoint_url=s3_server).check_reachable()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789")
    s3_module._client.cache_clear()  # clients keep the credentials they were made with
    try:
        with s3_auth_enforced(s3_server), pytest.raises(StudioError) as caught:
            S3Storage(bucket=s3_bucket, endpoint_url=s3_server).check_reachable()
    finally:
        s3_module._client.cache_clear()
    message = str(caught.value)
    assert f"S3 bucket {s3_bucket!r} refused access" in message and "check credentials" in message
    assert "wrong-secret" not in message and "AKIAWRONG" not in message
