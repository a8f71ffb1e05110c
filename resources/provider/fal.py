"""Fal.ai as a provider, through fal-client's sync queue API, built so nothing is paid twice.

Request ids are `"{model}::{fal request id}"`: fal's status, result and cancel URLs depend on the
endpoint and `cancel(request_id)` has nothing else to go on; a resumed run waits on the model it
submitted to, even if the configured one has changed since.

fal-client 1.0.3 retries a call up to 10 times on 408/409/429, nginx 502/503/504 and every
transport error; `start_timeout` only stops it re-sending a POST that *timed out* — a dropped
connection or a gateway error after sending is re-sent, each time a possible paid job. So our
client's transport hands those failures to us: a submit that may have reached fal is
`SubmitAmbiguous`, never re-sent, and polling counts its failures against our own deadline.
`start_timeout` is also fal's time-to-start deadline, queue wait included, hence 300 s.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import dagster as dg
import fal_client
from fal_client.client import Completed, Queued
from pydantic import Field, PrivateAttr

from resources.errors import (
    Canceled,
    InputRejected,
    ProviderError,
    RequestStuck,
    StudioError,
    SubmitAmbiguous,
)
from resources.fetch import fetch_to_file
from resources.provider import fal_models, pricing
from resources.provider.base import (
    GenerationJob,
    GenerationResult,
    Kind,
    MediaInput,
    ProgressCallback,
    ProviderResource,
    StopCheck,
)
from resources.provider.fal_http import (
    CALL_FAILED,
    FalUnanswered,
    GuardedSyncClient,
    join_request_id,
    split_request_id,
)

log = dg.get_dagster_logger(__name__)

MB = 1024 * 1024
# Inputs on fal's CDN only need to outlive the generation; photos should not linger there.
UPLOAD_LIFECYCLE = fal_client.StorageSettings(expires_in="1d")
_CLIENT_LOCK = threading.Lock()


class RequestFailed(ProviderError):
    """fal ended the request without a result (it failed, or we canceled it at our deadline):
    waiting on the same id cannot help, a retry has to submit a new request."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable, request_gone=True)


class FalProvider(ProviderResource):
    """Paid generations on Fal.ai: submit to the queue, poll with our deadline, fetch the media."""

    fal_key: str = Field(description="Fal.ai API key, from dg.EnvVar('FAL_KEY'); never logged")
    image_edit_model: str = pricing.NANO_BANANA_EDIT
    inpaint_model: str = pricing.QWEN_INPAINT
    video_model: str = pricing.KLING_I2V
    speech_model: str = pricing.KOKORO_TTS
    script_model: str = pricing.ANY_LLM
    poll_interval_s: float = Field(default=1.0, ge=1.0)  # seen sooner, its place is freed sooner
    start_timeout_s: float = Field(default=300.0, gt=1.0, description="fal's time-to-start")
    submit_timeout_s: float = Field(default=30.0, gt=0)
    request_timeout_s: float = Field(default=30.0, gt=0, description="status/result/cancel")
    max_poll_failures: int = Field(default=5, ge=1, description="in a row, before giving up")
    max_image_result_bytes: int = Field(default=50 * MB, gt=0)
    max_video_result_bytes: int = Field(default=500 * MB, gt=0)
    max_audio_result_bytes: int = Field(default=50 * MB, gt=0)
    data_uri_max_bytes: int = Field(default=0, ge=0, description="inline inputs up to (0: off)")
    fetch_allow_hosts: str = Field(default="", description="as STUDIO_FETCH_ALLOW_HOSTS")
    callback_url: str = Field(
        default="", description="STUDIO_FAL_CALLBACK_URL: where fal reports each job's id"
    )

    _fal_client: GuardedSyncClient | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        return "fal"

    @property
    def reports_requests(self) -> bool:
        return bool(self.callback_url)

    def model_for(self, kind: Kind) -> str:
        models = {
            Kind.IMAGE_EDIT: self.image_edit_model,
            Kind.INPAINT: self.inpaint_model,
            Kind.SPEECH: self.speech_model,
            Kind.SCRIPT: self.script_model,
        }
        return models.get(kind, self.video_model)

    def price_cents(self, job: GenerationJob) -> int:
        return _cost_cents(self.model_for(job.kind), job)

    def check_ready(self) -> None:
        self.check_key()

    def check_key(self) -> str:
        """The key, or a clear error before any work starts."""
        if not self.fal_key.strip():
            raise _final("FAL_KEY is not set: export the Fal.ai key or use STUDIO_PROVIDER=local")
        return self.fal_key.strip()

    @property
    def allow_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.fetch_allow_hosts.split(",") if h.strip())

    def submit(self, job: GenerationJob) -> str:
        model, client, what = self.model_for(job.kind), self._client(), _what(job)
        arguments = fal_models.arguments_for(job, self._url_for)
        try:
            handle = client.submit(
                model,
                arguments=arguments,
                start_timeout=self.start_timeout_s,
                webhook_url=self._callback_for(job, model),
            )
        except FalUnanswered as exc:
            if exc.sent:
                raise self._ambiguous(what, model, str(exc)) from exc
            raise _retry(f"fal did not take {what} ({exc}); it can be submitted again") from exc
        except fal_client.FalClientHTTPError as exc:
            raise self._http_error(exc, f"submitting {what} to {model}") from exc
        except (*CALL_FAILED, TypeError) as exc:
            # fal answered, but not with a request id we can read: the job may exist.
            raise self._ambiguous(what, model, f"an unreadable answer ({exc!r:.80})") from exc
        request_id = join_request_id(model, handle.request_id)
        log.info(f"submitted {what} to fal as {request_id}")
        return request_id

    def wait(
        self,
        request_id: str,
        job: GenerationJob,
        workdir: Path,
        timeout_s: float,
        on_update: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> GenerationResult:
        model, fal_id = split_request_id(request_id)
        started, what = time.monotonic(), f"{_what(job)} ({request_id})"
        handle = self._client().get_handle(model, fal_id)
        done = self._until_completed(
            handle, request_id, _what(job), started + timeout_s, on_update, should_stop
        )
        payload = self._result(handle, done, what)
        if job.kind is Kind.SCRIPT:
            path = workdir / fal_models.result_filename(fal_id, ".json", job.kind)
            content_type = "application/json"
            path.write_text(json.dumps({"output": fal_models.result_text(payload, model)}))
        else:
            media = fal_models.result_media(job.kind, payload, model)
            if on_update:
                on_update(f"{_what(job)}: downloading the result")
            path = workdir / fal_models.result_filename(fal_id, media.url, job.kind)
            content_type = self._download(media.url, job.kind, path, what)
        return GenerationResult(
            path=path,
            content_type=content_type,
            cost_cents=_cost_cents(model, job),
            model=model,
            request_id=request_id,
            seconds=time.monotonic() - started,
            details={"fal_request_id": fal_id},
        )

    def cancel(self, request_id: str) -> None:
        """Best effort: ask fal to cancel; a failure is logged, never raised."""
        try:
            model, fal_id = split_request_id(request_id)
            self._cancel(self._client().get_handle(model, fal_id), request_id)
        except StudioError as exc:
            log.warning(f"not canceling {request_id}: {exc}")

    def _client(self) -> GuardedSyncClient:
        key = self.check_key()
        with _CLIENT_LOCK:
            if self._fal_client is None:
                self._fal_client = GuardedSyncClient(
                    key=key,
                    default_timeout=self.submit_timeout_s,
                    request_timeout_s=self.request_timeout_s,
                )
            return self._fal_client

    def _callback_for(self, job: GenerationJob, model: str) -> str | None:
        """fal's webhook for this submit: it tells our receiver the id its token bought."""
        if not (self.callback_url and job.submit_token):
            return None
        return f"{self.callback_url.rstrip('/')}/fal/{job.submit_token}?" + urlencode(
            {"model": model}
        )

    def _url_for(self, media: MediaInput) -> str:
        """Where fal reads an input: storage's presigned URL, inline, or fal's CDN."""
        if media.url:
            return media.url  # fal fetches it from storage: no download, no re-upload
        if self.data_uri_max_bytes > 0 and media.path.stat().st_size <= self.data_uri_max_bytes:
            return fal_client.encode_file(media.path)
        action = f"uploading {media.path.name} to fal storage"
        try:
            return self._client().upload_file(media.path, lifecycle=UPLOAD_LIFECYCLE)
        except fal_client.FalClientHTTPError as exc:
            raise self._http_error(exc, action) from exc
        except CALL_FAILED as exc:
            raise _retry(f"{action} failed ({type(exc).__name__})") from exc

    def _until_completed(
        self,
        handle: fal_client.SyncRequestHandle,
        request_id: str,
        what: str,
        deadline: float,
        on_update: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> Completed:
        """Poll until fal says COMPLETED; at our deadline, or when told to stop, cancel the
        request and give up."""
        timeout_s, failures, last_label = deadline - time.monotonic(), 0, ""
        while True:
            if should_stop and should_stop():
                self._cancel(handle, request_id)
                raise Canceled(f"{what}: stopped; request {request_id} canceled at fal")
            try:
                status = handle.status(with_logs=False)
            except fal_client.FalClientHTTPError as exc:
                if not _transient(exc.status_code):
                    raise self._http_error(exc, f"polling {request_id}") from exc
                failures = self._poll_failed(request_id, f"HTTP {exc.status_code}", failures)
            except CALL_FAILED as exc:
                failures = self._poll_failed(request_id, type(exc).__name__, failures)
            else:
                if isinstance(status, Completed):
                    return status
                failures, label = 0, _status_label(what, status)
                if on_update and label != last_label:
                    on_update(label)
                last_label = label
            if (remaining := deadline - time.monotonic()) <= 0:
                self._cancel(handle, request_id)
                raise RequestStuck(
                    f"{what} ({request_id}) did not finish within {timeout_s:.0f} s; canceled at "
                    "fal and not bought again (fal may bill the time it ran): check the request "
                    "in fal's dashboard, then re-run with force to buy it anew"
                )
            time.sleep(min(self.poll_interval_s, remaining))

    def _poll_failed(self, request_id: str, reason: str, failures: int) -> int:
        failures += 1
        log.warning(f"fal status of {request_id}: {reason}, {failures}/{self.max_poll_failures}")
        if failures >= self.max_poll_failures:
            raise _retry(f"fal status failed {failures} times in a row ({reason}); kept to resume")
        return failures

    def _result(self, handle: fal_client.SyncRequestHandle, done: Completed, what: str) -> Any:
        action = f"fetching the result of {what}"
        try:
            return handle.get()
        except fal_client.FalClientHTTPError as exc:
            if exc.status_code != 422 and done.error:
                why = self._scrub(f"{done.error} ({done.error_type or 'no error type'})")
                raise RequestFailed(
                    f"fal failed {what}: {why}; a retry must submit it anew", retryable=True
                ) from exc
            raise self._http_error(exc, action, gone="fal no longer has this result") from exc
        except CALL_FAILED as exc:
            raise _retry(f"{action} failed ({type(exc).__name__}); a retry resumes it") from exc

    def _download(self, url: str, kind: Kind, dest: Path, what: str) -> str:
        """Copy the result media to `dest` at once (fal keeps it only for a while): its type."""
        media = fal_models.MEDIA.get(kind, "image")
        limit = {
            "video": self.max_video_result_bytes,
            "audio": self.max_audio_result_bytes,
        }.get(media, self.max_image_result_bytes)
        expect = (f"{media}/",)
        try:
            fetch_to_file(
                url, dest, allow_hosts=self.allow_hosts, max_bytes=limit, expect_types=expect
            )
        except InputRejected as exc:
            # The request finished and was billed, and the same URL will answer the same way.
            raise _final(
                f"the result of {what} could not be downloaded: {exc}; not retried, "
                "since a new generation would be billed again"
            ) from exc
        return fal_models.result_content_type(dest, kind, what)

    def _cancel(self, handle: fal_client.SyncRequestHandle, request_id: str) -> None:
        try:
            handle.cancel()
        except Exception as exc:  # best effort: the request may already be over
            log.warning(f"canceling fal request {request_id} failed ({type(exc).__name__})")
        else:
            log.info(f"asked fal to cancel {request_id}")

    def _ambiguous(self, what: str, model: str, cause: str) -> SubmitAmbiguous:
        cause = self._scrub(cause)
        return SubmitAmbiguous(
            f"submitting {what} to {model} got {cause}: fal may have accepted "
            "the request, so it must be reconciled, never resubmitted"
        )

    def _http_error(self, exc: Any, action: str, gone: str = "") -> StudioError:
        """Our error for one of fal's HTTP errors: 422 is bad input, 408/429/5xx may pass."""
        status, detail = exc.status_code, fal_models.render_errors(_detail(exc))
        if status == 422:
            return InputRejected(self._scrub(f"fal rejected the input ({action}): {detail}"))
        if status in (401, 403):
            return _final(f"fal refused the credentials ({action}, HTTP {status}): check FAL_KEY")
        reason = f"{gone} (HTTP 404)" if status == 404 and gone else f"HTTP {status}: {detail}"
        message = self._scrub(f"{action} failed: {reason}")
        return _retry(message) if _transient(status) else _final(message)

    def _scrub(self, text: str) -> str:
        """Our messages quote fal's answers; make sure the key can never ride along."""
        key = self.fal_key.strip()
        return text.replace(key, "***") if key else text


def _what(job: GenerationJob) -> str:
    return job.label or job.kind.value


def _retry(message: str) -> ProviderError:
    return ProviderError(message, retryable=True)


def _final(message: str) -> ProviderError:
    return ProviderError(message, retryable=False)


def _transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _detail(exc: fal_client.FalClientHTTPError) -> Any:
    try:
        body = exc.response.json()
    except ValueError:
        return str(exc.message)[:500]
    return body.get("detail", body) if isinstance(body, dict) else body


def _cost_cents(model: str, job: GenerationJob) -> int:
    if job.kind is Kind.IMAGE_TO_VIDEO:
        return pricing.price_cents(model, seconds=job.duration_s, audio=job.generate_audio)
    if job.kind is Kind.SPEECH:
        return pricing.price_cents(model, characters=len(job.prompt))
    return pricing.price_cents(model)


def _status_label(what: str, status: Any) -> str:
    if isinstance(status, Queued):
        return f"{what}: queued at fal ({status.position} ahead)"
    return f"{what}: generating at fal"
