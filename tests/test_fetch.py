"""Fetching input URLs: the SSRF guard, size and time limits, and what each failure means."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from resources.errors import InputRejected, ProviderError
from resources.fetch import check_url_allowed, fetch_to_file
from tests.peers import HttpPeer

LOCAL = ["127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1/photo.jpg", "127.0.0.1"),
        ("http://localhost/photo.jpg", "localhost"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://100.100.100.200/latest/meta-data", "100.100.100.200"),
        ("http://10.0.0.1/x", "10.0.0.1"),
        ("http://192.168.1.20:8080/x", "192.168.1.20"),
        ("https://[::1]/x", "::1"),
        ("http://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1"),
        ("http://0.0.0.0/x", "0.0.0.0"),
    ],
)
def test_internal_addresses_are_refused(url: str, host: str, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with pytest.raises(InputRejected, match="private or loopback") as caught:
        fetch_to_file(url, dest)
    assert host in str(caught.value)
    assert "STUDIO_FETCH_ALLOW_HOSTS" in str(caught.value)
    assert not dest.exists()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x.jpg", "gopher://x/", "http:///nohost"]
)
def test_only_http_urls_can_be_fetched(url: str, tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="only http\\(s\\) can be fetched"):
        fetch_to_file(url, tmp_path / "out")


def test_messages_never_show_query_strings() -> None:
    with pytest.raises(InputRejected) as caught:
        check_url_allowed("http://127.0.0.1/a.jpg?X-Amz-Signature=s3cr3t&token=t0k3n")
    assert "s3cr3t" not in str(caught.value) and "t0k3n" not in str(caught.value)
    assert "http://127.0.0.1/a.jpg" in str(caught.value)


def test_bad_port_is_input_rejected() -> None:
    with pytest.raises(InputRejected, match="invalid port"):
        check_url_allowed("http://example.com:99999/x.jpg")


def test_allowed_host_file_arrives_intact(http_server: HttpPeer, tmp_path: Path) -> None:
    body = os.urandom(300_000)
    url = http_server.serve("/photo.jpg", body, content_type="image/jpeg")
    with pytest.raises(InputRejected, match="private or loopback"):
        fetch_to_file(url, tmp_path / "refused.jpg")
    dest = fetch_to_file(url, tmp_path / "photo.jpg", allow_hosts=LOCAL, expect_types=("image/",))
    assert dest == tmp_path / "photo.jpg"
    assert dest.read_bytes() == body


def test_body_of_exactly_max_bytes_is_accepted(http_server: HttpPeer, tmp_path: Path) -> None:
    url = http_server.serve("/exact", b"x" * 1000, content_length=False)
    assert (
        fetch_to_file(url, tmp_path / "f", allow_hosts=LOCAL, max_bytes=1000).stat().st_size == 1000
    )


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
def test_oversized_body_is_refused_without_partial_file(
    http_server: HttpPeer, tmp_path: Path, declared: bool
) -> None:
    url = http_server.serve("/big.jpg", os.urandom(200_000), content_length=declared)
    dest = tmp_path / "big.jpg"
    with pytest.raises(InputRejected, match="100000") as caught:
        fetch_to_file(url, dest, allow_hosts=LOCAL, max_bytes=100_000)
    assert ("200000 bytes" in str(caught.value)) is declared
    assert list(tmp_path.iterdir()) == []


def test_not_found_is_input_rejected(http_server: HttpPeer, tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="HTTP 404"):
        fetch_to_file(http_server.base_url + "/missing.jpg", tmp_path / "f", allow_hosts=LOCAL)
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("status", [429, 503])
def test_overload_and_outage_are_retryable(
    http_server: HttpPeer, tmp_path: Path, status: int
) -> None:
    url = http_server.serve("/busy.jpg", b"try later", status=status)
    with pytest.raises(ProviderError, match=f"HTTP {status}") as caught:
        fetch_to_file(url, tmp_path / "f", allow_hosts=LOCAL)
    assert caught.value.retryable
    assert not isinstance(caught.value, InputRejected)


def test_unexpected_content_type_is_refused(http_server: HttpPeer, tmp_path: Path) -> None:
    url = http_server.serve("/page", b"<html>login</html>", content_type="text/html; charset=utf-8")
    with pytest.raises(InputRejected, match="served text/html, expected media"):
        fetch_to_file(url, tmp_path / "f", allow_hosts=LOCAL, expect_types=("image/", "video/"))
    assert not (tmp_path / "f").exists()
    ok = http_server.serve("/ok.png", b"png", content_type="image/png; charset=binary")
    assert fetch_to_file(ok, tmp_path / "ok", allow_hosts=LOCAL, expect_types=("image/",))


def test_redirects_are_followed_and_each_hop_checked(http_server: HttpPeer, tmp_path: Path) -> None:
    http_server.serve("/final.jpg", b"jpeg bytes", content_type="image/jpeg")
    hop = http_server.serve("/hop", status=302, headers={"Location": "/final.jpg"})
    assert fetch_to_file(hop, tmp_path / "f", allow_hosts=LOCAL).read_bytes() == b"jpeg bytes"
    port = http_server.server_address[1]
    sneaky = http_server.serve(
        "/sneaky", status=302, headers={"Location": f"http://localhost:{port}/final.jpg"}
    )
    with pytest.raises(InputRejected, match="localhost resolves to a private"):
        fetch_to_file(sneaky, tmp_path / "g", allow_hosts=LOCAL)
    to_file = http_server.serve("/to-file", status=301, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(InputRejected, match="only http"):
        fetch_to_file(to_file, tmp_path / "h", allow_hosts=LOCAL)
    loop = http_server.serve("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(InputRejected, match="redirects more than"):
        fetch_to_file(loop, tmp_path / "i", allow_hosts=LOCAL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_slow_transfer_hits_the_overall_deadline(http_server: HttpPeer, tmp_path: Path) -> None:
    url = http_server.serve("/slow", os.urandom(1 << 20), drip_s=0.1)
    with pytest.raises(ProviderError, match="took over 0.5 s") as caught:
        fetch_to_file(url, tmp_path / "f", allow_hosts=LOCAL, timeout_s=0.5)
    assert caught.value.retryable
    assert not (tmp_path / "f").exists()


def test_connection_refused_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderError, match="ConnectError") as caught:
        fetch_to_file(f"http://127.0.0.1:{port}/x.jpg", tmp_path / "f", allow_hosts=LOCAL)
    assert caught.value.retryable
