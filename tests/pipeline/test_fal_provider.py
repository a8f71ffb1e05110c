"""FalProvider against the local fal stand-in: the real fal-client, over HTTPS, no internet.

Every test says how many POSTs and jobs the stand-in saw: paying once is the point.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import fal_client
import fal_client.client as fal_client_module
import pytest
from PIL import Image

from resources.errors import (
    InputRejected,
    ProviderError,
    RequestStuck,
    StudioError,
    SubmitAmbiguous,
)
from resources.ffmpeg import probe
from resources.provider import pricing
from resources.provider.base import GenerationJob, GenerationResult, Kind, MediaInput
from resources.provider.fal import FalProvider, RequestFailed
from resources.provider.fal_http import GuardedSyncClient, split_request_id
from tests.support.fal_standin import (
    DETAIL_422,
    FAL_KEY,
    FalStandin,
    Media,
    standin_env,
)

PRESIGNED = "https://bucket.s3.example.test/photos/{name}?X-Amz-Signature=abc123"


@pytest.fixture(autouse=True)
def _key_never_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test does, FAL_KEY appears in no log line (httpx's debug logs included)."""
    caplog.set_level(logging.DEBUG)
    yield
    for phase in ("setup", "call"):
        for record in caplog.get_records(phase):
            assert FAL_KEY not in record.getMessage()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "room.jpg"
    Image.new("RGB", (64, 48), (180, 150, 120)).save(path, "JPEG")
    return path


def provider(**overrides: object) -> FalProvider:
    config: dict[str, object] = {
        "fal_key": FAL_KEY,
        "poll_interval_s": 1.0,
        "fetch_allow_hosts": os.environ["STUDIO_FETCH_ALLOW_HOSTS"],  # the stand-in
        "submit_timeout_s": 5.0,
        "request_timeout_s": 5.0,
    }
    return FalProvider(**{**config, **overrides})  # type: ignore[arg-type]


def presigned(path: Path) -> MediaInput:
    return MediaInput(path=path, url=PRESIGNED.format(name=path.name))


def enhance_job(photo: Path, **overrides: object) -> GenerationJob:
    fields: dict[str, object] = {
        "kind": Kind.IMAGE_EDIT,
        "prompt": "This is a kitchen.",
        "image": presigned(photo),
        "label": "photo 1",
    }
    return GenerationJob(**{**fields, **overrides})  # type: ignore[arg-type]


def clip_job(photo: Path, **overrides: object) -> GenerationJob:
    end = photo.with_name("end.jpg")
    Image.new("RGB", (64, 48), (90, 120, 200)).save(end, "JPEG")
    fields: dict[str, object] = {
        "kind": Kind.IMAGE_TO_VIDEO,
        "prompt": "Slow dolly through the kitchen.",
        "image": presigned(photo),
        "end_image": presigned(end),
        "duration_s": 5,
        "generate_audio": True,
        "negative_prompt": "blur, distortion",
        "label": "clip 1",
    }
    return GenerationJob(**{**fields, **overrides})  # type: ignore[arg-type]


def no_key_in(exc: BaseException) -> BaseException:
    """`exc`, after checking its whole chain (messages, causes, traceback) spares the key."""
    assert FAL_KEY not in "".join(traceback.format_exception(exc))
    return exc


def fal_id(request_id: str) -> str:
    return split_request_id(request_id)[1]


# -- success ---------------------------------------------------------------------------------


def test_enhance_sends_nano_banana_schema_and_returns_the_image(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.queue_polls, standin.script.progress_polls = 1, 1
    fal = provider()
    updates: list[str] = []

    request_id = fal.submit(enhance_job(photo))
    result = fal.wait(
        request_id, enhance_job(photo), workdir, timeout_s=20, on_update=updates.append
    )

    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    job = standin.jobs[0]
    assert job.model == pricing.NANO_BANANA_EDIT
    assert job.input == {
        "prompt": "This is a kitchen.",
        "image_urls": [PRESIGNED.format(name="room.jpg")],
        "num_images": 1,
        "output_format": "jpeg",
    }
    assert request_id == f"{pricing.NANO_BANANA_EDIT}::{job.request_id}"
    assert result.request_id == request_id and result.model == pricing.NANO_BANANA_EDIT
    assert (
        result.cost_cents
        == pricing.price_cents(pricing.NANO_BANANA_EDIT)
        == fal.price_cents(enhance_job(photo))
    )
    assert result.content_type == "image/jpeg" and result.path.parent == workdir
    with Image.open(result.path) as image:
        assert image.size == (160, 90)
    assert updates == [
        "photo 1: queued at fal (0 ahead)",
        "photo 1: generating at fal",
        "photo 1: downloading the result",
    ]
    assert all(r["authorization"] is None for r in standin.media_requests)  # no key to the CDN
    assert FAL_KEY not in repr(result)


def test_inpaint_sends_qwen_schema(standin: FalStandin, photo: Path, workdir: Path) -> None:
    mask = photo.with_name("mask.png")
    Image.new("L", (64, 48), 255).save(mask)
    job = GenerationJob(
        kind=Kind.INPAINT,
        prompt="Remove the chair.",
        image=presigned(photo),
        mask=presigned(mask),
        negative_prompt="blurry",
        mode="remove",
    )
    fal = provider()

    result = fal.wait(fal.submit(job), job, workdir, timeout_s=20)

    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    assert standin.jobs[0].model == pricing.QWEN_INPAINT
    assert standin.jobs[0].input == {
        "prompt": "Remove the chair.",
        "image_url": PRESIGNED.format(name="room.jpg"),
        "mask_url": PRESIGNED.format(name="mask.png"),
        "negative_prompt": "blurry",
        "output_format": "jpeg",
    }
    assert result.cost_cents == 3 and result.content_type == "image/jpeg"


def test_clip_sends_kling_v26_schema_and_returns_a_video(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    job = clip_job(photo)
    fal = provider()

    result = fal.wait(fal.submit(job), job, workdir, timeout_s=20)

    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    assert standin.jobs[0].model == pricing.KLING_I2V
    assert standin.jobs[0].input == {
        "prompt": "Slow dolly through the kitchen.",
        "start_image_url": PRESIGNED.format(name="room.jpg"),
        "end_image_url": PRESIGNED.format(name="end.jpg"),
        "duration": "5",
        "generate_audio": True,
        "negative_prompt": "blur, distortion",
    }
    info = probe(result.path)
    assert info.video_codec == "h264" and info.has_audio and info.duration_s > 0.5
    assert result.content_type == "video/mp4" and result.path.suffix == ".mp4"
    assert result.cost_cents == 70  # 5 s with native audio at 14 ¢/s


def test_generate_audio_false_is_sent_explicitly(standin: FalStandin, photo: Path) -> None:
    provider().submit(clip_job(photo, generate_audio=False, duration_s=10, end_image=None))

    assert len(standin.jobs) == 1
    sent = standin.jobs[0].input
    assert sent["generate_audio"] is False and sent["duration"] == "10"
    assert "end_image_url" not in sent


# -- inputs ----------------------------------------------------------------------------------


def test_presigned_urls_go_straight_to_fal(standin: FalStandin, photo: Path) -> None:
    provider(data_uri_max_bytes=10 * 1024 * 1024).submit(clip_job(photo))

    assert len(standin.jobs) == 1
    assert standin.jobs[0].input_urls == [
        PRESIGNED.format(name="room.jpg"),
        PRESIGNED.format(name="end.jpg"),
    ]
    assert standin.uploads == []


def test_local_inputs_are_uploaded_with_fal_clients_upload_file(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    job = enhance_job(photo, image=MediaInput(path=photo))
    fal = provider()

    fal.wait(fal.submit(job), job, workdir, timeout_s=20)

    assert len(standin.jobs) == 1 and len(standin.uploads) == 1
    upload = standin.uploads[0]
    assert upload["name"] == "room.jpg" and upload["content_type"] == "image/jpeg"
    assert upload["size"] == photo.stat().st_size
    assert '"expiration_duration_seconds": 86400' in upload["lifecycle"]
    assert standin.jobs[0].input["image_urls"][0].startswith(f"{standin.base_url}/files/")


def test_small_inputs_may_go_as_data_uris(standin: FalStandin, photo: Path) -> None:
    provider(data_uri_max_bytes=64 * 1024).submit(enhance_job(photo, image=MediaInput(photo)))

    assert len(standin.jobs) == 1 and standin.uploads == []
    assert standin.jobs[0].input["image_urls"][0].startswith("data:image/jpeg;base64,")


def test_kling_prompt_over_2500_chars_is_refused_before_anything_is_sent(
    standin: FalStandin, photo: Path
) -> None:
    job = clip_job(photo, prompt="x" * 2501, image=MediaInput(photo))

    with pytest.raises(InputRejected, match="prompt: String should have at most 2500"):
        provider().submit(job)

    assert standin.posts == [] and standin.jobs == [] and standin.uploads == []


# -- resuming and canceling ------------------------------------------------------------------


def test_a_new_provider_resumes_a_stored_request_id(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.progress_polls = 1
    request_id = provider().submit(clip_job(photo))

    result = provider().wait(request_id, clip_job(photo), workdir, timeout_s=20)

    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    assert result.request_id == request_id and result.path.exists()


def test_cancel_reaches_fal_and_a_canceled_request_must_be_submitted_anew(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.progress_polls = -1
    fal = provider()
    request_id = fal.submit(enhance_job(photo))

    fal.cancel(request_id)
    fal.cancel("not-a-request-id")  # best effort: logged, never raised

    assert standin.cancels == [fal_id(request_id)] and len(standin.jobs) == 1
    with pytest.raises(RequestFailed) as raised:
        fal.wait(request_id, enhance_job(photo), workdir, timeout_s=20)
    assert raised.value.retryable and "submit it anew" in str(no_key_in(raised.value))


def test_stuck_request_is_canceled_at_our_deadline(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.progress_polls = -1
    fal = provider()
    request_id = fal.submit(clip_job(photo))
    started = time.monotonic()

    with pytest.raises(RequestStuck, match=r"did not finish within 2 s; canceled") as raised:
        fal.wait(request_id, clip_job(photo), workdir, timeout_s=2)

    assert time.monotonic() - started < 5
    assert not raised.value.retryable, "a stuck job may be billed: never bought again by a retry"
    assert "re-run with force" in str(raised.value)
    assert standin.cancels == [fal_id(request_id)] and len(standin.jobs) == 1
    assert 2 <= standin.jobs[0].polls <= 4


# -- submit failures -------------------------------------------------------------------------


def test_422_on_submit_is_bad_input_with_fals_detail(standin: FalStandin, photo: Path) -> None:
    standin.script.submit = ["422"]

    with pytest.raises(InputRejected) as raised:
        provider().submit(enhance_job(photo))

    assert f"prompt: {DETAIL_422[0]['msg']}" in str(no_key_in(raised.value))
    assert len(standin.posts) == 1 and standin.jobs == []


def test_429_is_retried_by_fal_client_without_a_second_job(
    standin: FalStandin, photo: Path
) -> None:
    standin.script.submit = ["429", "ok"]

    provider().submit(enhance_job(photo))

    assert len(standin.posts) == 2 and len(standin.jobs) == 1


def test_429_that_persists_is_retryable(
    standin: FalStandin, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_client_module, "BASE_DELAY", 0.001)  # fal-client's own backoff
    standin.script.submit = ["429"] * fal_client_module.MAX_ATTEMPTS

    with pytest.raises(ProviderError) as raised:
        provider().submit(enhance_job(photo))

    assert raised.value.retryable and not isinstance(raised.value, SubmitAmbiguous)
    assert len(standin.posts) == fal_client_module.MAX_ATTEMPTS == 10 and standin.jobs == []


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_on_submit_are_retryable_and_not_resent(
    standin: FalStandin, photo: Path, status: str
) -> None:
    standin.script.submit = [status]
    fal = provider()

    with pytest.raises(ProviderError) as raised:
        fal.submit(enhance_job(photo))
    assert raised.value.retryable and not isinstance(raised.value, SubmitAmbiguous)
    assert len(standin.posts) == 1 and standin.jobs == []

    fal.submit(enhance_job(photo))  # what the asset's RetryPolicy does next
    assert len(standin.posts) == 2 and len(standin.jobs) == 1


def test_submit_answered_too_late_is_ambiguous_and_sent_once(
    standin: FalStandin, photo: Path
) -> None:
    standin.script.submit = ["delay"]
    started = time.monotonic()

    with pytest.raises(SubmitAmbiguous, match="reconciled, never resubmitted") as raised:
        provider(submit_timeout_s=1.0).submit(enhance_job(photo))

    # Retryable, because a retry only reconciles: the slot is `ambiguous`, never claimed again
    # (tests/pipeline/test_faults.py counts that).
    assert time.monotonic() - started < 3 and raised.value.retryable
    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    no_key_in(raised.value)


def test_submit_dropped_after_sending_is_ambiguous_and_sent_once(
    standin: FalStandin, photo: Path
) -> None:
    # fal-client alone re-sends this POST up to 9 more times, even with start_timeout.
    standin.script.submit = ["drop"]

    with pytest.raises(SubmitAmbiguous, match="may have accepted"):
        provider().submit(enhance_job(photo))

    assert len(standin.posts) == 1 and len(standin.jobs) == 1


def test_gateway_timeout_on_submit_is_ambiguous_and_not_resent(
    standin: FalStandin, photo: Path
) -> None:
    standin.script.submit = ["504"] * 10  # an nginx 504, which fal-client itself would re-send

    with pytest.raises(SubmitAmbiguous):
        provider().submit(enhance_job(photo))

    assert len(standin.posts) == 1 and standin.jobs == []


def test_connection_refused_is_retryable_not_ambiguous(
    standin: FalStandin, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(fal_client_module, "QUEUE_URL_FORMAT", f"https://127.0.0.1:{port}/")

    with pytest.raises(ProviderError, match="can be submitted again") as raised:
        provider().submit(enhance_job(photo))

    assert raised.value.retryable and not isinstance(raised.value, SubmitAmbiguous)
    assert standin.posts == [] and standin.jobs == []


def test_wrong_key_is_not_retryable(standin: FalStandin, photo: Path) -> None:
    with pytest.raises(ProviderError, match="check FAL_KEY") as raised:
        provider(fal_key="someone-elses-key").submit(enhance_job(photo))

    assert not raised.value.retryable and "someone-elses-key" not in str(raised.value)
    assert standin.unauthorized == 1 and standin.jobs == []


# -- polling and results ---------------------------------------------------------------------


def test_transient_status_errors_are_tolerated(
    standin: FalStandin, photo: Path, workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    standin.script.status_errors = 2
    fal = provider(max_poll_failures=3)

    result = fal.wait(fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20)

    assert result.path.exists() and len(standin.jobs) == 1
    assert sum(": HTTP 500, 1/3" in r.getMessage() for r in caplog.records) == 1


def test_persistent_status_errors_give_up_retryably(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.status_errors = 100
    fal = provider(max_poll_failures=2)
    request_id = fal.submit(enhance_job(photo))

    with pytest.raises(ProviderError, match="2 times in a row") as raised:
        fal.wait(request_id, enhance_job(photo), workdir, timeout_s=20)

    assert raised.value.retryable and not isinstance(raised.value, RequestFailed)
    assert len(standin.jobs) == 1 and standin.cancels == []


def test_422_at_processing_time_is_bad_input(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.result = "422"
    fal = provider()

    with pytest.raises(InputRejected, match="prompt: prompt is too vague"):
        fal.wait(fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20)

    assert len(standin.jobs) == 1


def test_fal_side_failure_must_be_submitted_anew(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    standin.script.result = "500"
    fal = provider()

    with pytest.raises(RequestFailed, match="runner_disconnected") as raised:
        fal.wait(fal.submit(clip_job(photo)), clip_job(photo), workdir, timeout_s=20)

    assert raised.value.retryable and len(standin.jobs) == 1


@pytest.mark.parametrize(
    ("behaviour", "overrides", "message"),
    [
        ("media_404", {}, "HTTP 404"),
        ("html", {}, "served text/html, expected media"),
        ("ok", {"max_image_result_bytes": 1000}, "over 1000"),
    ],
)
def test_unusable_result_media_is_final(
    standin: FalStandin,
    photo: Path,
    workdir: Path,
    behaviour: str,
    overrides: dict[str, object],
    message: str,
) -> None:
    standin.script.result = behaviour
    fal = provider(**overrides)

    with pytest.raises(ProviderError, match=message) as raised:
        fal.wait(fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20)

    assert not raised.value.retryable and "billed again" in str(no_key_in(raised.value))
    assert len(standin.jobs) == 1 and list(workdir.iterdir()) == []


def test_result_hosts_are_guarded_against_ssrf(
    standin: FalStandin, photo: Path, workdir: Path
) -> None:
    fal = provider(fetch_allow_hosts="")

    with pytest.raises(ProviderError, match="private or loopback") as raised:
        fal.wait(fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20)

    assert not raised.value.retryable and len(standin.jobs) == 1
    assert standin.media_requests == []


# -- configuration and secrets ---------------------------------------------------------------


def test_missing_fal_key_fails_each_generation_with_studios_message(
    standin: FalStandin, photo: Path
) -> None:
    """No key: the resource still starts (so the row can say why), each submit refuses."""
    with pytest.raises(ProviderError, match="FAL_KEY is not set") as direct:
        FalProvider(fal_key=" ").submit(enhance_job(photo))
    assert not direct.value.retryable
    assert standin.posts == [] and standin.jobs == []


def test_poll_interval_cannot_go_below_one_second() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        FalProvider(fal_key=FAL_KEY, poll_interval_s=0.5)


def test_key_appears_in_no_error_or_result(standin: FalStandin, photo: Path, workdir: Path) -> None:
    fal = provider()
    standin.script.submit = ["422", "500", "drop"]
    errors: list[BaseException] = []
    for _ in range(3):
        with pytest.raises(StudioError) as failed:
            fal.submit(enhance_job(photo))
        errors.append(failed.value)
    standin.script.result = "500"
    with pytest.raises(ProviderError) as raised:
        fal.wait(fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20)
    errors.append(raised.value)

    for error in errors:
        no_key_in(error)
    assert len(standin.posts) == 4 and len(standin.jobs) == 2


def test_guarded_client_keeps_fal_clients_own_settings() -> None:
    ours = GuardedSyncClient(key=FAL_KEY, default_timeout=7.0)._client
    theirs = fal_client.SyncClient(key=FAL_KEY, default_timeout=7.0)._client

    for header in ("authorization", "user-agent"):
        assert ours.headers[header] == theirs.headers[header]
    assert ours.timeout == theirs.timeout and ours.follow_redirects == theirs.follow_redirects


def test_env_vars_point_a_fresh_fal_client_at_the_standin(
    standin: FalStandin, standin_files: tuple[Path, Path, Media], tmp_path: Path
) -> None:
    """The documented route: FAL_QUEUE_RUN_HOST + SSL_CERT_FILE, read by fal-client at import."""
    env = {**os.environ, **standin_env(standin, standin_files[0], tmp_path / "fal-home")}
    env.pop("SSL_CERT_DIR", None)
    code = (
        "import fal_client\n"
        "model = 'fal-ai/nano-banana-pro/edit'\n"
        "h = fal_client.submit(model, {'prompt': 'p'}, start_timeout=30)\n"
        "print(h.request_id, type(fal_client.status(model, h.request_id)).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [standin.jobs[0].request_id, "Completed"]
    assert len(standin.posts) == 1 and len(standin.jobs) == 1
    assert not (tmp_path / "fal-home" / "auth0_token").exists()


def test_results_carry_no_secret(standin: FalStandin, photo: Path, workdir: Path) -> None:
    fal = provider()
    result: GenerationResult = fal.wait(
        fal.submit(enhance_job(photo)), enhance_job(photo), workdir, timeout_s=20
    )

    assert FAL_KEY not in repr(result) and FAL_KEY not in repr(fal.model_dump(exclude={"fal_key"}))
    assert len(standin.jobs) == 1
