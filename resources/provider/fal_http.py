"""fal-client's HTTP layer with fal-client's own retries taken out of the paid path.

fal-client 1.0.3 retries a call up to 10 times on 408/409/429, nginx 502/503/504 and every
transport error; a dropped connection or a gateway error after sending is re-sent, each time a
possible paid job. `GuardedSyncClient`'s transport raises those failures past its retry loop as
`FalUnanswered`, saying whether fal may have taken the request, so `FalProvider` decides.
Request ids are `"{model}::{fal request id}"` (`join_request_id`, `split_request_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import fal_client
import httpx
from fal_client.client import USER_AGENT, BackupDomainTransport

from resources.errors import ProviderError

REQUEST_ID_SEPARATOR = "::"
# A gateway that timed out (504) or broke (502) may have passed the POST on: the job may exist.
SUBMIT_GATEWAY_SENT = {502: True, 503: False, 504: True}
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
SUBMIT_HEADER = "x-fal-request-timeout"  # fal-client sets it on submit(start_timeout=…) only


class FalUnanswered(Exception):
    """A call to fal got no usable answer. Not an httpx error, so fal-client's retry loop lets
    it through; `sent` is False only when fal surely did not take the request."""

    def __init__(self, cause: str, *, sent: bool) -> None:
        super().__init__(cause)
        self.sent = sent


CALL_FAILED = (FalUnanswered, httpx.HTTPError, KeyError, ValueError)


class OwnRetriesTransport(httpx.BaseTransport):
    """fal-client's transport, its failures raised past fal-client's retries, reads bounded."""

    def __init__(self, inner: httpx.BaseTransport, read_timeout_s: float) -> None:
        self._inner, self._cap = inner, read_timeout_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        submit = request.method == "POST" and SUBMIT_HEADER in request.headers
        if not submit:  # fal-client gives queue polls 120 s reads; our deadline needs less
            timeouts = request.extensions.get("timeout", {})
            request.extensions["timeout"] = {
                k: min(v or self._cap, self._cap) for k, v in timeouts.items()
            }
        try:
            response = self._inner.handle_request(request)
            response.read()  # a body cut off mid-way is a transport failure too
        except NOT_SENT as exc:
            raise FalUnanswered(type(exc).__name__, sent=False) from exc
        except httpx.TransportError as exc:
            raise FalUnanswered(type(exc).__name__, sent=True) from exc
        if submit and response.status_code in SUBMIT_GATEWAY_SENT:
            response.close()
            raise FalUnanswered(
                f"gateway HTTP {response.status_code}",
                sent=SUBMIT_GATEWAY_SENT[response.status_code],
            )
        return response

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class GuardedSyncClient(fal_client.SyncClient):
    """fal-client's `SyncClient` whose HTTP client reports transport failures to us."""

    request_timeout_s: float = 30.0

    @cached_property
    def _client(self) -> httpx.Client:
        # fal-client 1.0.3's SyncClient._client, with our transport around its own.
        return httpx.Client(
            transport=OwnRetriesTransport(BackupDomainTransport(), self.request_timeout_s),
            headers={"Authorization": self._auth.header_value, "User-Agent": USER_AGENT},
            timeout=self.default_timeout,
            follow_redirects=True,
        )


def join_request_id(model: str, fal_request_id: str) -> str:
    """Our request id for fal's `fal_request_id` on `model`."""
    return f"{model}{REQUEST_ID_SEPARATOR}{fal_request_id}"


def split_request_id(request_id: str) -> tuple[str, str]:
    """(model, fal request id) from one of our request ids."""
    model, sep, fal_id = request_id.rpartition(REQUEST_ID_SEPARATOR)
    if not (sep and model and fal_id):
        raise ProviderError(f"{request_id!r} is not a fal id ('model::id')", retryable=False)
    return model, fal_id
