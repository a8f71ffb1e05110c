"""A local stand-in for Fal.ai: its queue, its CDN uploads and its media hosts, over real HTTPS.

It speaks the queue protocol exactly as fal-client 1.0.3 uses it:

- `POST /{model}` (JSON input) → `{"request_id", "status_url", "response_url", "cancel_url"}`
- `GET /{owner}/{app}/requests/{id}/status` → `{"status": "IN_QUEUE"|"IN_PROGRESS"|"COMPLETED", …}`
- `GET /{owner}/{app}/requests/{id}` → the result, whose media URLs point back at the stand-in
- `PUT /{owner}/{app}/requests/{id}/cancel` → `{"status": "CANCELLATION_REQUESTED"}`
- `POST /storage/auth/token` + `POST /files/upload` (fal-client's v3 CDN upload), `GET /files/…`

It records every POST, job, poll, cancel, upload and media download, and follows a `Script`
of misbehaviours set by each test. fal-client finds it through `FAL_QUEUE_RUN_HOST` (read once,
when fal_client is imported) and trusts it through `SSL_CERT_FILE`; see `standin_env` (for
subprocesses) and `point_fal_client_at` (for this process).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from resources.ffmpeg import run_ffmpeg

FAL_KEY = "fal-test-key-7c1e9a40:s3cr3t"
"""The key every test process uses: a grep of the logs for it must find nothing."""
CDN_TOKEN = "standin-cdn-token"
DETAIL_422 = [{"loc": ["body", "prompt"], "msg": "prompt is too vague", "type": "value_error"}]


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed CA-style certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fal stand-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "standin-cert.pem", directory / "standin-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Media:
    """Real media the stand-in serves as generation results."""

    jpeg: bytes
    mp4: bytes
    wav: bytes


SPEECH_S = 1.5
"""How long every line the stand-in's Kokoro "speaks" lasts (a tone)."""


def make_media(directory: Path) -> Media:
    """A small JPEG (Pillow), a 1-second H.264/AAC MP4 (FFmpeg: testsrc2 + sine) and a 1.5 s
    24 kHz mono WAV, as Kokoro answers."""
    buffer = BytesIO()
    Image.radial_gradient("L").convert("RGB").resize((160, 90)).save(buffer, "JPEG")
    clip = directory / "standin-clip.mp4"
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            str(clip),
        ],
        timeout_s=60,
    )  # fmt: skip
    speech = directory / "standin-speech.wav"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency=300:duration={SPEECH_S}", "-ar", "24000",
         "-ac", "1", str(speech)],
        timeout_s=60,
    )  # fmt: skip
    return Media(jpeg=buffer.getvalue(), mp4=clip.read_bytes(), wav=speech.read_bytes())


def rewrite_draft(body: dict[str, Any]) -> str:
    """What the any-llm stand-in answers the script writer: its draft said another way (the
    intro welcomes you home, each room invites you in), as JSON, within each line's limit."""
    draft = json.loads(body["prompt"])["draft"]
    lines = []
    for line in draft:
        text = line["text"]
        if line["role"] == "intro":
            text = text.replace("Welcome to", "Welcome home to")
        elif line["role"] == "room" and line["room"]:
            text = f"Come and see the {line['room']}."
        lines.append(text if len(text) <= line["max_characters"] else line["text"])
    return json.dumps({"lines": lines})


@dataclass
class Script:
    """How the stand-in misbehaves for one test (defaults: everything works at once)."""

    submit: list[str] = field(default_factory=list)
    """One entry consumed per POST: ok, 422, 429, 500, 503, 504, delay (accept, answer late),
    drop (accept, close without answering). Empty: ok."""
    submit_delay_s: float = 3.0
    queue_polls: int = 0
    """Status polls answered IN_QUEUE (position counting down) before IN_PROGRESS."""
    progress_polls: int = 0
    """Status polls answered IN_PROGRESS before COMPLETED; -1: forever."""
    status_errors: int = 0
    """The first N status polls answer HTTP 500."""
    result: str = "ok"
    """ok, media_404, html, 422 (fails at processing time) or 500 (fal-side failure)."""
    latency_s: float = 0.0
    """Every job stays IN_PROGRESS this long after it was accepted (a generation's run time)."""
    hold: str | None = None
    """Jobs whose prompt contains this stay IN_PROGRESS until it is cleared or they are
    canceled (a generation still running when an operator steps in)."""
    fetch_inputs: bool = False
    """Jobs download their http(s) inputs at the first poll, as fal's runners do; a job whose
    inputs cannot be read fails (unbilled, like fal)."""
    webhook_delay_s: float = 0.5
    """How long after accepting a job with `fal_webhook` its webhook is delivered."""
    on_accept: Callable[[Job], None] | None = None
    """Called after a job is accepted, before its id is answered (faults in the submit window)."""
    on_poll: Callable[[Job], None] | None = None
    """Called at each status poll, before it is answered."""
    on_result: Callable[[Job], None] | None = None
    """Called when a result is fetched, before it is answered."""
    writer: Callable[[dict[str, Any]], str] = rewrite_draft
    """What any-llm answers for a request's input (its `output`)."""


@dataclass
class Job:
    request_id: str
    model: str
    input: dict[str, Any]
    polls: int = 0
    canceled: bool = False
    delivered: bool = False
    """Its result was fetched: nothing of it is running at fal any more."""
    input_error: str | None = None
    accepted_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    """When its result was fetched or it was canceled: it stopped running at "fal"."""

    @property
    def input_urls(self) -> list[str]:
        """Every URL-valued input, in order (image_urls flattened)."""
        urls: list[str] = []
        for value in self.input.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith(("http://", "https://", "data:")):
                    urls.append(item)
        return urls


class FalStandin:
    """The running stand-in: `base_url`, `host`, a `script` to edit, and what it has seen."""

    def __init__(self, cert: Path, key: Path, media: Media, fal_key: str) -> None:
        self.media, self.fal_key = media, fal_key
        self.script = Script()
        self.jobs: list[Job] = []
        self.posts: list[str] = []  # model of every submit POST, accepted or not
        self.cancels: list[str] = []
        self.webhooks: list[str] = []  # webhook URLs delivered to
        self.webhook_errors: list[str] = []
        self.input_failures: list[str] = []
        self.uploads: list[dict[str, Any]] = []
        self.status_polls = 0
        self.media_requests: list[dict[str, str | None]] = []
        self.unauthorized = 0
        self._files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(cert, key)
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.base_url = f"https://{self.host}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def running(self) -> list[Job]:
        """Jobs still running at "fal": neither canceled nor delivered."""
        with self._lock:
            return [job for job in self.jobs if not (job.canceled or job.delivered)]

    def spans(self) -> list[tuple[float, float | None]]:
        """(accepted, ended) of every job, in the order they were accepted."""
        with self._lock:
            return [(job.accepted_at, job.ended_at) for job in self.jobs]

    def max_in_flight(self) -> int:
        """The most jobs that were running at "fal" at the same moment."""
        edges = sorted(
            [(start, 1) for start, _ in self.spans()]
            + [(end, -1) for _, end in self.spans() if end is not None]
        )  # at a tie an end sorts first: a place handed on is not two in flight
        peak = running = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        return peak

    def job(self, fal_request_id: str) -> Job:
        return next(job for job in self.jobs if job.request_id == fal_request_id)

    # -- request handling (called from the server's threads) ----------------------------

    def submit(self, model: str, body: dict[str, Any]) -> tuple[str, Job | None]:
        with self._lock:
            self.posts.append(model)
            behaviour = self.script.submit.pop(0) if self.script.submit else "ok"
            if behaviour not in ("ok", "delay", "drop"):
                return behaviour, None
            job = Job(request_id=str(uuid.uuid4()), model=model, input=body)
            self.jobs.append(job)
            return behaviour, job

    def call_webhook_later(self, job: Job, url: str) -> None:
        """What fal does when a job with `fal_webhook` ends: POST its id and result there."""

        def deliver() -> None:
            time.sleep(self.script.webhook_delay_s)
            body = {"request_id": job.request_id, "gateway_request_id": job.request_id}
            try:
                httpx.post(url, json={**body, "status": "OK", "payload": {}}, timeout=10)
                self.webhooks.append(url)
            except httpx.HTTPError as exc:  # fal retries; the test sees it missing
                self.webhook_errors.append(repr(exc))

        threading.Thread(target=deliver, daemon=True).start()

    def urls(self, job: Job) -> dict[str, Any]:
        owner, app = job.model.split("/")[:2]
        base = f"{self.base_url}/{owner}/{app}/requests/{job.request_id}"
        return {
            "request_id": job.request_id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def status(self, job: Job) -> tuple[int, dict[str, Any]]:
        if self.script.on_poll:
            self.script.on_poll(job)
        with self._lock:
            self.status_polls += 1
            if self.status_polls <= self.script.status_errors:
                return 500, {"detail": "status store unavailable"}
            job.polls += 1
            polls, script = job.polls, self.script
        body: dict[str, Any] = {**self.urls(job), "logs": None}
        if polls == 1 and script.fetch_inputs:
            job.input_error = self._fetch_inputs(job)
        if job.input_error:
            return 200, {**body, "status": "COMPLETED", "error": job.input_error}
        if job.canceled:
            return 200, {**body, "status": "COMPLETED", "error": "Request was cancelled"}
        if polls <= script.queue_polls:
            return 202, {**body, "status": "IN_QUEUE", "queue_position": script.queue_polls - polls}
        held = script.hold is not None and script.hold in str(job.input.get("prompt", ""))
        held = held or time.time() - job.accepted_at < script.latency_s
        forever = script.progress_polls < 0 or held
        if forever or polls <= script.queue_polls + script.progress_polls:
            return 202, {**body, "status": "IN_PROGRESS"}
        if script.result in ("422", "500"):
            return 200, {
                **body,
                "status": "COMPLETED",
                "error": f"HTTP {script.result}",
                "error_type": "runner_disconnected" if script.result == "500" else None,
            }
        return 200, {**body, "status": "COMPLETED", "metrics": {"inference_time": 1.5}}

    def _fetch_inputs(self, job: Job) -> str | None:
        for url in job.input_urls:
            if url.startswith("data:"):
                continue
            try:
                httpx.get(url, timeout=10).raise_for_status()
            except httpx.HTTPError as exc:
                self.input_failures.append(url)
                return f"Failed to download the input file ({type(exc).__name__})"
        return None

    def result(self, job: Job) -> tuple[int, dict[str, Any]]:
        if self.script.on_result:
            self.script.on_result(job)
        if job.input_error:
            return 500, {"detail": job.input_error, "error_type": "file_download_error"}
        if job.canceled:
            return 400, {"detail": "Request was cancelled"}
        if self.script.result == "422":
            return 422, {"detail": DETAIL_422}
        if self.script.result == "500":
            return 500, {"detail": "Runner disconnected", "error_type": "runner_disconnected"}
        job.delivered, job.ended_at = True, job.ended_at or time.time()
        if "any-llm" in job.model:
            return 200, {"output": self.script.writer(job.input), "partial": False}
        video, speech = "video" in job.model, "kokoro" in job.model
        name = f"{job.request_id}.{'mp4' if video else 'wav' if speech else 'jpg'}"
        prefix = {"media_404": "media/gone-", "html": "html/"}.get(self.script.result, "media/")
        url = f"{self.base_url}/{prefix}{name}"
        if speech:
            return 200, {
                "audio": {"url": url, "content_type": "audio/wav", "file_size": len(self.media.wav)}
            }
        if video:
            return 200, {
                "video": {"url": url, "content_type": "video/mp4", "file_size": len(self.media.mp4)}
            }
        return 200, {
            "images": [{"url": url, "content_type": "image/jpeg", "width": 160, "height": 90}],
            "description": "",
        }

    def store_upload(self, name: str, content_type: str, data: bytes, lifecycle: str | None) -> str:
        file_id = uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = (data, content_type)
            self.uploads.append(
                {
                    "name": name,
                    "content_type": content_type,
                    "size": len(data),
                    "lifecycle": lifecycle,
                }
            )
        return f"{self.base_url}/files/{file_id}/{name}"

    def media_for(self, path: str) -> tuple[bytes, str] | None:
        parts = path.strip("/").split("/")
        if parts[0] == "files" and len(parts) == 3:
            return self._files.get(parts[1])
        if parts[0] == "html":
            return b"<html><body>Not the media you are looking for</body></html>", "text/html"
        if parts[0] == "media" and not parts[-1].startswith("gone-"):
            if parts[-1].endswith(".wav"):
                return self.media.wav, "audio/wav"
            video = parts[-1].endswith(".mp4")
            return (self.media.mp4, "video/mp4") if video else (self.media.jpeg, "image/jpeg")
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, standin: FalStandin) -> None:
        super().__init__(address, handler)
        self.standin = standin

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS per connection, in the connection's own thread (not in the accept loop).
        try:
            tls = self.standin._tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early are part of the scripts


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def standin(self) -> FalStandin:
        return self.server.standin

    def _send(
        self,
        status: int,
        body: bytes | dict[str, Any] | list[Any],
        content_type: str = "application/json",
        from_fal: bool = True,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if from_fal:  # fal-client tells fal's own errors from its ingress's by this header
            self.send_header("x-fal-request-id", "standin")
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorized(self, expected: str) -> bool:
        if self.headers.get("Authorization") == expected:
            return True
        self.standin.unauthorized += 1
        self._send(401, {"detail": "Invalid credentials"})
        return False

    def _job(self, parts: list[str]) -> Job | None:
        try:
            return self.standin.job(parts[3])
        except StopIteration:
            self._send(404, {"detail": "Request not found"})
            return None

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if len(parts) >= 4 and parts[2] == "requests":
            if not self._authorized(f"Key {self.standin.fal_key}") or not (job := self._job(parts)):
                return
            status, body = (self.standin.status if parts[-1] == "status" else self.standin.result)(
                job
            )
            self._send(status, body)
            return
        self.standin.media_requests.append(
            {"path": path, "authorization": self.headers.get("Authorization")}
        )
        media = self.standin.media_for(path)
        if media is None:
            self._send(404, b"not found", "text/plain")
        else:
            self._send(200, media[0], media[1])

    def do_PUT(self) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if not self._authorized(f"Key {self.standin.fal_key}") or not (job := self._job(parts)):
            return
        job.canceled, job.ended_at = True, job.ended_at or time.time()
        self.standin.cancels.append(job.request_id)
        self._send(202, {"status": "CANCELLATION_REQUESTED"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/storage/auth/token":
            if self._authorized(f"Key {self.standin.fal_key}"):
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
                self._send(
                    200,
                    {
                        "token": CDN_TOKEN,
                        "token_type": "Bearer",
                        "base_url": self.standin.base_url,
                        "expires_at": expires.isoformat(),
                    },
                )
            return
        if path == "/files/upload":
            if self._authorized(f"Bearer {CDN_TOKEN}"):
                url = self.standin.store_upload(
                    self.headers.get("X-Fal-File-Name") or "upload.bin",
                    self.headers.get("Content-Type") or "application/octet-stream",
                    body,
                    self.headers.get("X-Fal-Object-Lifecycle"),
                )
                self._send(200, {"access_url": url})
            return
        if not self._authorized(f"Key {self.standin.fal_key}"):
            return
        webhook = parse_qs(urlsplit(self.path).query).get("fal_webhook", [None])[0]
        self._submit(path.strip("/"), json.loads(body or b"{}"), webhook)

    def _submit(self, model: str, body: dict[str, Any], webhook: str | None) -> None:
        behaviour, job = self.standin.submit(model, body)
        if job is not None and webhook:
            self.standin.call_webhook_later(job, webhook)
        if job is None:
            status = int(behaviour)
            if status == 422:
                self._send(422, {"detail": DETAIL_422})
            elif status in (502, 503, 504):  # what an nginx ingress says
                self._send(status, b"<html><center>nginx</center></html>", "text/html", False)
            else:
                self._send(status, {"detail": f"stand-in says {status}"})
            return
        if behaviour == "drop":
            self.close_connection = True
            return
        if behaviour == "delay":
            time.sleep(self.standin.script.submit_delay_s)
        if self.standin.script.on_accept:
            self.standin.script.on_accept(job)
        self._send(200, {**self.standin.urls(job), "status": "IN_QUEUE", "queue_position": 0})


@contextmanager
def running_standin(cert: Path, key: Path, media: Media, fal_key: str) -> Iterator[FalStandin]:
    """Start a stand-in and always stop it."""
    standin = FalStandin(cert, key, media, fal_key)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def standin_env(standin: FalStandin, cert: Path, fal_home: Path) -> dict[str, str]:
    """Environment that points a fresh process's fal-client (and fetches) at the stand-in."""
    return {
        "FAL_QUEUE_RUN_HOST": standin.host,
        "FAL_RUN_HOST": standin.host,
        "FAL_KEY": standin.fal_key,
        "FAL_HOME_DIR": str(fal_home),  # no real `fal auth login` tokens are ever read
        "SSL_CERT_FILE": str(cert),
        "STUDIO_FETCH_ALLOW_HOSTS": standin.host,  # results are fetched from its media host
        "NO_PROXY": "127.0.0.1,localhost",
    }


def point_fal_client_at(
    standin: FalStandin, cert: Path, fal_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point this process's fal-client at the stand-in.

    fal-client reads FAL_QUEUE_RUN_HOST / FAL_RUN_HOST once, when imported, into module
    constants; and its upload hosts (rest.fal.ai, v3.fal.media) are constants with no variable
    at all. So besides the environment, the derived constants are patched for this test.
    """
    import fal_client.client as fal_client_module

    for name, value in standin_env(standin, cert, fal_home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setattr(fal_client_module, "QUEUE_URL_FORMAT", f"https://{standin.host}/")
    monkeypatch.setattr(fal_client_module, "RUN_URL_FORMAT", f"https://{standin.host}/")
    monkeypatch.setattr(fal_client_module, "REST_URL", standin.base_url)
    monkeypatch.setattr(fal_client_module, "CDN_URL", standin.base_url)


@pytest.fixture(scope="session")
def standin_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Media]:
    """The stand-in's certificate, key and result media, made once per session."""
    directory = tmp_path_factory.mktemp("fal-standin")
    cert, key = make_certificate(directory)
    return cert, key, make_media(directory)


@pytest.fixture
def standin(
    standin_files: tuple[Path, Path, Media], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FalStandin]:
    """A running stand-in that this process's fal-client talks to."""
    cert, key, media = standin_files
    with running_standin(cert, key, media, FAL_KEY) as running:
        point_fal_client_at(running, cert, tmp_path / "fal-home", monkeypatch)
        yield running
