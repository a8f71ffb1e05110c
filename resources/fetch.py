"""Fetching input media over HTTP(S) with a size limit, a timeout and an SSRF guard.

A URL whose host resolves to a loopback, private, link-local, reserved or metadata address is
refused unless the host is listed in `STUDIO_FETCH_ALLOW_HOSTS` (test servers, on-prem storage);
every redirect hop is checked the same way.
TLS is always verified (httpx honours `SSL_CERT_FILE`).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from resources.errors import InputRejected, ProviderError

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_REDIRECTS = 5


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
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


def check_url_allowed(url: str, allow_hosts: Iterable[str] = ()) -> None:
    """Refuse non-HTTP(S) URLs and hosts that resolve to internal addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputRejected(f"unsupported URL {_redact(url)}: only http(s) can be fetched")
    host = parts.hostname
    if host in {h.lower() for h in allow_hosts}:
        return
    try:
        port = parts.port
    except ValueError:
        raise InputRejected(f"invalid port in {_redact(url)}") from None
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise InputRejected(f"cannot resolve host {host!r} of {_redact(url)}") from exc
    for info in infos:
        if _blocked(str(info[4][0])):
            raise InputRejected(
                f"refused to fetch {_redact(url)}: {host} resolves to a private or loopback "
                "address (add it to STUDIO_FETCH_ALLOW_HOSTS to allow it)"
            )


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
    check_url_allowed(url, allowed)
    deadline = time.monotonic() + timeout_s

    def check_hop(request: httpx.Request) -> None:
        check_url_allowed(str(request.url), allowed)

    client = httpx.Client(
        timeout=timeout_s,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"request": [check_hop]},
    )
    try:
        with client, client.stream("GET", url) as response:
            if not response.is_success:
                retryable = response.status_code == 429 or response.status_code >= 500
                message = f"fetching {_redact(url)} failed: HTTP {response.status_code}"
                if retryable:
                    raise ProviderError(message, retryable=True)
                raise InputRejected(message)
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if expect_types and not ctype.startswith(expect_types):
                raise InputRejected(
                    f"{_redact(url)} served {ctype or 'no content type'}, expected media"
                )
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
    except httpx.TooManyRedirects:
        dest.unlink(missing_ok=True)
        raise InputRejected(f"{_redact(url)} redirects more than {MAX_REDIRECTS} times") from None
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        message = f"fetching {_redact(url)} failed: {type(exc).__name__}"
        raise ProviderError(message, retryable=True) from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _redact(url: str) -> str:
    """Drop the query string (presigned signatures, tokens) from URLs shown in messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
