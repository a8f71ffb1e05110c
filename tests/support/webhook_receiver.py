"""A webhook receiver that checks studio's signature as the app would (the `receiver` fixture)."""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from resources.webhooks import sign

SECRET = "s3cret"


@dataclass
class Receiver:
    """An HTTP endpoint that verifies `X-Studio-Signature` like the app would (401 if wrong)."""

    url: str
    secret: str = SECRET
    status: int = 200  # what a correctly signed request gets
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every signed attempt
    fail_first: int = 0  # answer 503 to this many signed attempts first

    def wait_for(self, count: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


@contextmanager
def listening(port: int = 0) -> Iterator[Receiver]:
    """A receiver on `port` (0: any free one) until the block ends."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers.get("X-Studio-Timestamp", "")
            expected = sign(state.secret, timestamp, body)
            state.attempts += 1
            if not hmac.compare_digest(expected, self.headers.get("X-Studio-Signature", "")):
                self.send_response(401)
            elif state.fail_first > 0:
                state.fail_first -= 1
                state.bodies.append(json.loads(body))
                self.send_response(503)
            else:
                state.bodies.append(json.loads(body))
                if state.status == 200:
                    state.received.append(json.loads(body))
                self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/studio"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with listening() as state:
        yield state
