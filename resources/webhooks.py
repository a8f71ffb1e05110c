"""Signed webhooks to the app: one JSON POST per event, retried a few times, never fatal (the
outbox, `resources.repository.outbox`, tries again for hours)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import httpx
from pydantic import model_validator

from resources.errors import StudioError

RETRYABLE_STATUS = {429} | set(range(500, 600))


class Log(Protocol):
    def info(self, msg: str) -> Any: ...

    def warning(self, msg: str) -> Any: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "timestamp.body">`, the `X-Studio-Signature` header."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _redacted(url: str) -> str:
    """The URL without query, fragment or credentials (tokens often live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


SECRET_REQUIRED = (
    "STUDIO_WEBHOOK_URL is set but STUDIO_WEBHOOK_SECRET is not: every webhook is signed with "
    "the secret, so set it (and give it to the receiver) or unset the URL"
)


def refuse_unsigned(url: str, secret: str) -> None:
    """Raise `StudioError` for a webhook URL without a secret (never says what the secret is)."""
    if url.strip() and not secret.strip():
        raise StudioError(SECRET_REQUIRED)


class WebhookResource(dg.ConfigurableResource):
    """POSTs signed JSON events to `STUDIO_WEBHOOK_URL`; a no-op without a URL."""

    url: str = ""
    secret: str = ""
    attempts: int = 5
    base_delay_s: float = 0.5
    timeout_s: float = 5.0

    @model_validator(mode="after")
    def _signed(self) -> WebhookResource:
        # An HMAC with an empty key proves nothing: a receiver could not tell us from anyone.
        if self.url and isinstance(self.secret, str) and not self.secret.strip():
            raise ValueError(SECRET_REQUIRED)
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def deliver(self, payload: dict[str, Any], log: Log) -> bool:
        """POST `payload`, retrying connection errors, 5xx and 429 with exponential backoff.

        Returns whether the receiver accepted it; never raises. Total time is bounded by
        attempts × timeout + the backoff (0.5 + 1 + 2 + 4 s by default).
        """
        return self.send(payload, log) is None

    def send(self, payload: dict[str, Any], log: Log) -> str | None:
        """`deliver`, saying why not: None when the receiver accepted it, else the last
        attempt's outcome (`503`, `ConnectError`, `no STUDIO_WEBHOOK_URL`). Never raises."""
        if not self.url:
            return "no STUDIO_WEBHOOK_URL"
        try:
            return self._deliver(payload, log)
        except Exception as exc:  # a webhook must never fail a run or a sensor
            log.warning(f"webhook to {_redacted(self.url)} gave up: {type(exc).__name__}")
            return type(exc).__name__

    def _deliver(self, payload: dict[str, Any], log: Log) -> str | None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        target = _redacted(self.url)
        event = payload.get("event", "")
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            for attempt in range(1, self.attempts + 1):
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "studio-webhooks",
                    "X-Studio-Event": str(event),
                    "X-Studio-Timestamp": timestamp,
                    "X-Studio-Signature": sign(self.secret, timestamp, body),
                }
                try:
                    response = client.post(self.url, content=body, headers=headers)
                    outcome, retry = (
                        str(response.status_code),
                        (response.status_code in RETRYABLE_STATUS),
                    )
                    ok = 200 <= response.status_code < 300
                except httpx.TransportError as exc:
                    outcome, retry, ok = type(exc).__name__, True, False
                log.info(
                    f"webhook {event} attempt {attempt}/{self.attempts} to {target} → {outcome}"
                )
                if ok:
                    return None
                if not retry or attempt == self.attempts:
                    break
                time.sleep(self.base_delay_s * 2 ** (attempt - 1))
        log.warning(f"webhook {event} to {target} not delivered after {attempt} attempt(s)")
        return outcome
