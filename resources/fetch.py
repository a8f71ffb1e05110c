"""Fetching input media over HTTP(S) with a size limit, a timeout and an SSRF guard.

Each hop's host is resolved exactly once; every address it resolves to must be public (not
loopback, private, link-local, reserved or metadata) unless `host:port` is listed in
`STUDIO_FETCH_ALLOW_HOSTS`; the connection then goes to that checked address, with the original
name in the Host header and TLS SNI/certificate check, so a second DNS answer (rebinding) can
never redirect it. Redirects are followed by hand, each hop checked the same way. Proxies from
the environment are not used (a proxy would resolve the name again). TLS is always verified
(`SSL_CERT_FILE` is honoured).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from resources.errors import InputRejected, ProviderError, StudioError

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class CheckedTarget:
    """A URL's host and port, and the one address it was resolved to and checked at."""

    host: str
    port: int
    address: str


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # `not is_global` also covers shared address space (100.64/10, where Alibaba Cloud's
    # metadata service 100.100.100.200 lives), which is neither private nor loopback.
    return (
        not ip.is_global
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def parse_allow_hosts(entries: Iterable[str]) -> frozenset[tuple[str, int]]:
    """`host:port` entries (`[::1]:8080` for IPv6) as (host, port) pairs; a bare host is refused.

    A bare host would open every port on it (an internal admin API next to the test server),
    so the port is required.
    """
    allowed = set()
    for entry in entries:
        text = entry.strip().lower()
        if not text:
            continue
        parts = urlsplit(f"//{text}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.path or parts.username is not None:
            raise StudioError(
                f"STUDIO_FETCH_ALLOW_HOSTS entry {entry.strip()!r} must be host:port "
                "(for example 127.0.0.1:9000 or [::1]:9000): a bare host would allow every port"
            )
        allowed.add((parts.hostname, port))
    return frozenset(allowed)


def check_url_allowed(url: str, allow_hosts: Iterable[str] = ()) -> CheckedTarget:
    """Resolve `url`'s host once and refuse it unless every address is public (or allowed).

    Returns the address the connection must go to: fetching never resolves the name again.
    """
    allowed = parse_allow_hosts(allow_hosts)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InputRejected(f"unsupported URL {_redact(url)}: only http(s) can be fetched")
    host = parts.hostname
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise InputRejected(f"invalid port in {_redact(url)}") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputRejected(f"cannot resolve host {host!r} of {_redact(url)}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise InputRejected(f"cannot resolve host {host!r} of {_redact(url)}")
    if (host, port) not in allowed and any(_blocked(a) for a in addresses):
        raise InputRejected(
            f"refused to fetch {_redact(url)}: {host} resolves to a private or loopback "
            f"address (add {_host_port(host, port)} to STUDIO_FETCH_ALLOW_HOSTS to allow it)"
        )
    return CheckedTarget(host, port, addresses[0])


def fetch_to_file(
    url: str,
    dest: Path,
    *,
    allow_hosts: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    expect_types: tuple[str, ...] = (),
) -> Path:
    """Stream `url` into `dest`; refuse oversized bodies and unexpected content types.

    Redirects are followed (at most 5), each hop checked like the first URL; `timeout_s` bounds
    every read and the whole transfer.
    """
    allowed = tuple(allow_hosts)
    deadline = time.monotonic() + timeout_s
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            target = check_url_allowed(current, allowed)
            # A fresh client per hop: a pooled TLS connection verified for one name is never
            # reused for another name that happens to share its address.
            transport = httpx.HTTPTransport(verify=True, trust_env=True)
            with httpx.Client(transport=transport, timeout=timeout_s) as client:
                request = _pinned_request(client, current, target)
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        current = str(httpx.URL(current).join(response.headers["location"]))
                        continue
                    _receive(response, url, dest, max_bytes, deadline, timeout_s, expect_types)
                    return dest
                finally:
                    response.close()
        raise InputRejected(f"{_redact(url)} redirects more than {MAX_REDIRECTS} times")
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        message = f"fetching {_redact(url)} failed: {type(exc).__name__}"
        raise ProviderError(message, retryable=True) from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _pinned_request(client: httpx.Client, url: str, target: CheckedTarget) -> httpx.Request:
    """GET `url` at the checked address; Host header and SNI keep the original name."""
    scheme = urlsplit(url).scheme.lower()
    default = DEFAULT_PORTS[scheme] == target.port
    host_header = _host_port(target.host, None if default else target.port)
    return client.build_request(
        "GET",
        httpx.URL(url).copy_with(host=target.address.split("%", 1)[0]),
        headers={"Host": host_header},
        extensions={"sni_hostname": target.host},
    )


def _receive(
    response: httpx.Response,
    url: str,
    dest: Path,
    max_bytes: int,
    deadline: float,
    timeout_s: float,
    expect_types: tuple[str, ...],
) -> None:
    if not response.is_success:
        retryable = response.status_code == 429 or response.status_code >= 500
        message = f"fetching {_redact(url)} failed: HTTP {response.status_code}"
        if retryable:
            raise ProviderError(message, retryable=True)
        raise InputRejected(message)
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if expect_types and not ctype.startswith(expect_types):
        raise InputRejected(f"{_redact(url)} served {ctype or 'no content type'}, expected media")
    declared = int(response.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise InputRejected(f"{_redact(url)} is {declared} bytes, over {max_bytes}")
    written = 0
    with dest.open("wb") as out:
        for chunk in response.iter_bytes(1 << 16):
            written += len(chunk)
            if written > max_bytes:
                raise InputRejected(f"{_redact(url)} is over the {max_bytes}-byte limit")
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"fetching {_redact(url)} took over {timeout_s:g} s", retryable=True
                )
            out.write(chunk)


def _host_port(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port is None else f"{name}:{port}"


def _redact(url: str) -> str:
    """Drop the query string and credentials (presigned signatures, tokens) from messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}"
