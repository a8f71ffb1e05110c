"""Fetching input URLs: the SSRF guard, size and time limits, and what each failure means."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from resources import fetch as fetch_module
from resources.errors import InputRejected, ProviderError, StudioError
from resources.fetch import (
    CheckedTarget,
    _pinned_request,
    check_url_allowed,
    fetch_to_file,
    parse_allow_hosts,
)
from studio_assets.settings import load_settings
from tests.support.peers import HttpPeer


@pytest.fixture
def local(http_server: HttpPeer) -> list[str]:
    """The allowlist naming the test server: `host:port`, never a whole host."""
    return [f"127.0.0.1:{http_server.server_address[1]}"]


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


def test_allowed_host_file_arrives_intact(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    body = os.urandom(300_000)
    url = http_server.serve("/photo.jpg", body, content_type="image/jpeg")
    with pytest.raises(InputRejected, match="private or loopback"):
        fetch_to_file(url, tmp_path / "refused.jpg")
    dest = fetch_to_file(url, tmp_path / "photo.jpg", allow_hosts=local, expect_types=("image/",))
    assert dest == tmp_path / "photo.jpg"
    assert dest.read_bytes() == body


def test_body_of_exactly_max_bytes_is_accepted(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    url = http_server.serve("/exact", b"x" * 1000, content_length=False)
    assert (
        fetch_to_file(url, tmp_path / "f", allow_hosts=local, max_bytes=1000).stat().st_size == 1000
    )


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
def test_oversized_body_is_refused_without_partial_file(
    local: list[str], http_server: HttpPeer, tmp_path: Path, declared: bool
) -> None:
    url = http_server.serve("/big.jpg", os.urandom(200_000), content_length=declared)
    dest = tmp_path / "big.jpg"
    with pytest.raises(InputRejected, match="100000") as caught:
        fetch_to_file(url, dest, allow_hosts=local, max_bytes=100_000)
    assert ("200000 bytes" in str(caught.value)) is declared
    assert list(tmp_path.iterdir()) == []


def test_not_found_is_input_rejected(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    with pytest.raises(InputRejected, match="HTTP 404"):
        fetch_to_file(http_server.base_url + "/missing.jpg", tmp_path / "f", allow_hosts=local)
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("status", [429, 503])
def test_overload_and_outage_are_retryable(
    local: list[str], http_server: HttpPeer, tmp_path: Path, status: int
) -> None:
    url = http_server.serve("/busy.jpg", b"try later", status=status)
    with pytest.raises(ProviderError, match=f"HTTP {status}") as caught:
        fetch_to_file(url, tmp_path / "f", allow_hosts=local)
    assert caught.value.retryable
    assert not isinstance(caught.value, InputRejected)


def test_unexpected_content_type_is_refused(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    url = http_server.serve("/page", b"<html>login</html>", content_type="text/html; charset=utf-8")
    with pytest.raises(InputRejected, match="served text/html, expected media"):
        fetch_to_file(url, tmp_path / "f", allow_hosts=local, expect_types=("image/", "video/"))
    assert not (tmp_path / "f").exists()
    ok = http_server.serve("/ok.png", b"png", content_type="image/png; charset=binary")
    assert fetch_to_file(ok, tmp_path / "ok", allow_hosts=local, expect_types=("image/",))


def test_redirects_are_followed_and_each_hop_checked(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    http_server.serve("/final.jpg", b"jpeg bytes", content_type="image/jpeg")
    hop = http_server.serve("/hop", status=302, headers={"Location": "/final.jpg"})
    assert fetch_to_file(hop, tmp_path / "f", allow_hosts=local).read_bytes() == b"jpeg bytes"
    port = http_server.server_address[1]
    sneaky = http_server.serve(
        "/sneaky", status=302, headers={"Location": f"http://localhost:{port}/final.jpg"}
    )
    with pytest.raises(InputRejected, match="localhost resolves to a private"):
        fetch_to_file(sneaky, tmp_path / "g", allow_hosts=local)
    to_file = http_server.serve("/to-file", status=301, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(InputRejected, match="only http"):
        fetch_to_file(to_file, tmp_path / "h", allow_hosts=local)
    loop = http_server.serve("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(InputRejected, match="redirects more than"):
        fetch_to_file(loop, tmp_path / "i", allow_hosts=local)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_slow_transfer_hits_the_overall_deadline(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    url = http_server.serve("/slow", os.urandom(1 << 20), drip_s=0.1)
    with pytest.raises(ProviderError, match="took over 0.5 s") as caught:
        fetch_to_file(url, tmp_path / "f", allow_hosts=local, timeout_s=0.5)
    assert caught.value.retryable
    assert not (tmp_path / "f").exists()


def test_connection_refused_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderError, match="ConnectError") as caught:
        fetch_to_file(
            f"http://127.0.0.1:{port}/x.jpg", tmp_path / "f", allow_hosts=[f"127.0.0.1:{port}"]
        )
    assert caught.value.retryable


def test_the_allowlist_names_a_port_not_a_whole_host(
    local: list[str], http_server: HttpPeer, tmp_path: Path
) -> None:
    url = http_server.serve("/photo.jpg", b"jpeg", content_type="image/jpeg")
    port = http_server.server_address[1]
    with pytest.raises(StudioError, match="must be host:port"):
        fetch_to_file(url, tmp_path / "f", allow_hosts=["127.0.0.1"])
    with pytest.raises(InputRejected, match=f"add 127.0.0.1:{port} to STUDIO_FETCH_ALLOW_HOSTS"):
        fetch_to_file(url, tmp_path / "f", allow_hosts=[f"127.0.0.1:{port + 1}"])
    assert fetch_to_file(url, tmp_path / "f", allow_hosts=local).read_bytes() == b"jpeg"
    assert parse_allow_hosts(["a.example:443", " [::1]:8080 ", ""]) == {
        ("a.example", 443),
        ("::1", 8080),
    }
    for bad in ("a.example", "a.example:", "a.example:http", "u@a.example:80", "a.example:80/x"):
        with pytest.raises(StudioError, match="must be host:port"):
            parse_allow_hosts([bad])


def test_a_bare_host_in_the_environment_fails_at_start_up() -> None:
    with pytest.raises(StudioError, match="must be host:port"):
        load_settings({"STUDIO_FETCH_ALLOW_HOSTS": "127.0.0.1"})
    assert load_settings({"STUDIO_FETCH_ALLOW_HOSTS": "127.0.0.1:9000"}).fetch_allow_hosts


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/internal.jpg",
        "http://[::1]/x.jpg",
        "http://127.0.0.1:{other}/x.jpg",  # the allowed host, another port: an internal service
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    local: list[str], http_server: HttpPeer, tmp_path: Path, location: str
) -> None:
    target = location.format(other=http_server.server_address[1] + 1)
    hop = http_server.serve("/hop", status=302, headers={"Location": target})
    with pytest.raises(InputRejected, match="resolves to a private or loopback address") as caught:
        fetch_to_file(hop, tmp_path / "f", allow_hosts=local, timeout_s=3)
    assert f"refused to fetch {target}" in str(caught.value)  # the hop, not the first URL
    assert not (tmp_path / "f").exists()


class _HostRecorder(BaseHTTPRequestHandler):
    """Answers every GET with a JPEG-ish body and records the Host header it was sent."""

    hosts: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.hosts.append(self.headers.get("Host", ""))
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"jpeg")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    _HostRecorder.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_dns_rebinding_cannot_move_the_connection(
    recorder: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rebind.test` answers a public address first and a private one to any later lookup.

    127.0.0.1 (where the recorder listens) plays the public address; 10.255.255.1 the private
    one. The fetcher must look the name up once and connect to the address it checked.
    """
    port = recorder.server_address[1]
    real = socket.getaddrinfo
    lookups: list[str] = []

    def flipping(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", flipping)
    monkeypatch.setattr(fetch_module, "_blocked", lambda address: not address.startswith("127."))

    url = f"http://rebind.test:{port}/photo.jpg"
    assert fetch_to_file(url, tmp_path / "f", timeout_s=3).read_bytes() == b"jpeg"
    assert lookups == ["rebind.test"], "the name must be resolved exactly once"
    assert _HostRecorder.hosts == [f"rebind.test:{port}"], "the checked address, original name"


def test_the_second_answer_is_never_used_even_when_it_is_private(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name whose *first* answer is private is refused before any connection."""
    calls: list[str] = []

    def private_first(host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.1.2.3", 80))]

    monkeypatch.setattr(socket, "getaddrinfo", private_first)
    with pytest.raises(InputRejected, match="rebind.test resolves to a private"):
        check_url_allowed("http://rebind.test/x.jpg")
    assert calls == ["rebind.test"]


def test_the_pinned_request_keeps_the_name_for_host_and_tls() -> None:
    target = CheckedTarget(host="media.example", port=443, address="93.184.216.34")
    with httpx.Client() as client:
        request = _pinned_request(client, "https://media.example/a.jpg?sig=1", target)
    assert request.url.host == "93.184.216.34" and request.url.query == b"sig=1"
    assert request.headers["host"] == "media.example"
    assert request.extensions["sni_hostname"] == "media.example"  # SNI and certificate check
    v6 = CheckedTarget(host="media.example", port=8443, address="2606:2800:220:1::1")
    with httpx.Client() as client:
        request = _pinned_request(client, "https://media.example:8443/a.jpg", v6)
    assert request.url.host == "2606:2800:220:1::1" and request.headers["host"] == (
        "media.example:8443"
    )
