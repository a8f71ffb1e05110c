"""Contract tests of the three fal input schemas and result shapes (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resources.errors import InputRejected, ProviderError
from resources.provider import fal_models
from resources.provider.base import GenerationJob, Kind, MediaInput
from resources.provider.fal_models import (
    KlingImageToVideoInput,
    NanoBananaEditInput,
    QwenInpaintInput,
    arguments_for,
    render_errors,
    result_media,
)

START, END, MASK = Path("/in/start.jpg"), Path("/in/end.jpg"), Path("/in/mask.png")


def url_for(media: MediaInput) -> str:
    return f"https://cdn.test/{media.path.name}"


def job(kind: Kind, **overrides: object) -> GenerationJob:
    fields: dict[str, object] = {"kind": kind, "prompt": "p", "image": MediaInput(START)}
    return GenerationJob(**{**fields, **overrides})  # type: ignore[arg-type]


def test_schemas_name_exactly_fals_documented_fields() -> None:
    assert set(NanoBananaEditInput.model_fields) == {
        "prompt",
        "image_urls",
        "num_images",
        "output_format",
    }
    assert set(QwenInpaintInput.model_fields) == {
        "prompt",
        "image_url",
        "mask_url",
        "negative_prompt",
        "output_format",
    }
    assert set(KlingImageToVideoInput.model_fields) == {
        "prompt",
        "start_image_url",
        "end_image_url",
        "duration",
        "generate_audio",
        "negative_prompt",
    }
    assert KlingImageToVideoInput.model_fields["generate_audio"].is_required()


def test_nano_banana_body_has_one_jpeg_and_no_negative_prompt() -> None:
    body = arguments_for(job(Kind.IMAGE_EDIT, negative_prompt="ignored"), url_for)

    assert body == {
        "prompt": "p",
        "image_urls": ["https://cdn.test/start.jpg"],
        "num_images": 1,
        "output_format": "jpeg",
    }


def test_qwen_body_carries_mask_and_optional_negative_prompt() -> None:
    with_negative = job(Kind.INPAINT, mask=MediaInput(MASK), negative_prompt="blurry")
    without = job(Kind.INPAINT, mask=MediaInput(MASK))

    assert arguments_for(with_negative, url_for) == {
        "prompt": "p",
        "image_url": "https://cdn.test/start.jpg",
        "mask_url": "https://cdn.test/mask.png",
        "negative_prompt": "blurry",
        "output_format": "jpeg",
    }
    assert "negative_prompt" not in arguments_for(without, url_for)
    with pytest.raises(InputRejected, match="needs a mask"):
        arguments_for(job(Kind.INPAINT), url_for)


@pytest.mark.parametrize(("duration_s", "audio"), [(5, True), (10, False)])
def test_kling_body_uses_v26_names_and_always_states_audio(duration_s: int, audio: bool) -> None:
    clip = job(
        Kind.IMAGE_TO_VIDEO,
        end_image=MediaInput(END),
        duration_s=duration_s,
        generate_audio=audio,
        negative_prompt="blur",
    )

    body = arguments_for(clip, url_for)

    assert body == {
        "prompt": "p",
        "start_image_url": "https://cdn.test/start.jpg",
        "end_image_url": "https://cdn.test/end.jpg",
        "duration": str(duration_s),
        "generate_audio": audio,
        "negative_prompt": "blur",
    }
    assert not {"image_url", "tail_image_url", "aspect_ratio"} & body.keys()


def test_kling_without_end_image_omits_it() -> None:
    body = arguments_for(job(Kind.IMAGE_TO_VIDEO), url_for)

    assert "end_image_url" not in body and body["generate_audio"] is False


def test_kling_refuses_bad_durations_and_long_prompts_before_any_upload() -> None:
    calls: list[MediaInput] = []

    def counting(media: MediaInput) -> str:
        calls.append(media)
        return url_for(media)

    with pytest.raises(InputRejected, match="duration: Input should be '5' or '10'"):
        arguments_for(job(Kind.IMAGE_TO_VIDEO, duration_s=7), counting)
    with pytest.raises(InputRejected, match="prompt: String should have at most 2500"):
        arguments_for(job(Kind.IMAGE_TO_VIDEO, prompt="x" * 2501), counting)
    assert calls == []
    assert arguments_for(job(Kind.IMAGE_TO_VIDEO, prompt="x" * 2500), counting)["prompt"]


def test_inputs_must_be_urls_fal_can_read() -> None:
    with pytest.raises(InputRejected, match="image_urls: Value error, must be an http"):
        arguments_for(job(Kind.IMAGE_EDIT), lambda media: "/local/path.jpg")
    data = arguments_for(job(Kind.IMAGE_EDIT), lambda media: "data:image/jpeg;base64,AAAA")
    assert data["image_urls"] == ["data:image/jpeg;base64,AAAA"]


def test_schemas_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        NanoBananaEditInput(prompt="p", image_urls=["https://x"], aspect_ratio="16:9")  # type: ignore[call-arg]


def test_render_errors_gives_loc_msg_pairs() -> None:
    detail: list[dict[str, Any]] = [
        {"loc": ["body", "prompt"], "msg": "too long", "type": "x"},
        {"loc": ["body", "image_urls", 0], "msg": "cannot download", "type": "y"},
    ]

    assert render_errors(detail) == "prompt: too long; image_urls.0: cannot download"
    assert render_errors("Request timed out") == "Request timed out"
    assert render_errors(None) == "no details given"


def test_result_media_reads_images_and_video() -> None:
    images = {
        "images": [{"url": "https://v3.fal.media/a.jpg", "width": 1, "height": 1}],
        "description": "",
        "seed": 3,
    }
    video = {"video": {"url": "https://v3.fal.media/b.mp4", "content_type": "video/mp4"}}

    assert result_media(Kind.IMAGE_EDIT, images, "m").url == "https://v3.fal.media/a.jpg"
    assert result_media(Kind.INPAINT, images, "m").url == "https://v3.fal.media/a.jpg"
    assert result_media(Kind.IMAGE_TO_VIDEO, video, "m").content_type == "video/mp4"


@pytest.mark.parametrize("payload", [{}, {"images": []}, {"video": {}}, None, "oops"])
def test_result_without_media_is_a_final_provider_error(payload: object) -> None:
    kind = Kind.IMAGE_TO_VIDEO if payload == {"video": {}} else Kind.IMAGE_EDIT
    with pytest.raises(ProviderError, match="returned a result without media") as raised:
        result_media(kind, payload, "fal-ai/model")
    assert not raised.value.retryable


def test_every_kind_has_one_schema() -> None:
    assert set(fal_models.INPUT_SCHEMAS) == set(Kind)


def test_kokoro_body_is_the_line_its_voice_and_speed() -> None:
    line = GenerationJob(Kind.SPEECH, prompt="Welcome to 3 Oak Lane.", voice="af_heart", speed=1.1)
    assert arguments_for(line, url_for) == {
        "prompt": "Welcome to 3 Oak Lane.",
        "voice": "af_heart",
        "speed": 1.1,
    }
    assert set(fal_models.KokoroInput.model_fields) == {"prompt", "voice", "speed"}


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [({"voice": "alice"}, "voice"), ({"prompt": ""}, "prompt"), ({"speed": 9.0}, "speed")],
)
def test_kokoro_refuses_what_its_schema_does_not_take(
    overrides: dict[str, object], problem: str
) -> None:
    fields: dict[str, object] = {"prompt": "A line.", "voice": "am_adam", "speed": 1.0}
    line = GenerationJob(Kind.SPEECH, **{**fields, **overrides})  # type: ignore[arg-type]
    with pytest.raises(InputRejected, match=problem):
        arguments_for(line, url_for)


def test_kokoro_results_are_audio_files() -> None:
    payload = {
        "audio": {"url": "https://v3.fal.media/files/x/line.wav", "content_type": "audio/wav"}
    }
    media = result_media(Kind.SPEECH, payload, "fal-ai/kokoro/american-english")
    assert media.url.endswith("line.wav")
    assert fal_models.result_filename("req-1", media.url, Kind.SPEECH) == "fal-req-1.wav"
    assert fal_models.result_filename("req-1", "https://h/x.exe", Kind.SPEECH) == "fal-req-1.wav"
    with pytest.raises(ProviderError, match="without media"):
        result_media(Kind.SPEECH, {"video": payload["audio"]}, "fal-ai/kokoro/american-english")


def test_any_llm_body_is_the_prompt_its_instructions_and_a_standard_model() -> None:
    job = GenerationJob(Kind.SCRIPT, prompt='{"facts": {}}', instructions="Rewrite it.")
    assert arguments_for(job, url_for) == {
        "prompt": '{"facts": {}}',
        "system_prompt": "Rewrite it.",
        "model": "google/gemini-2.5-flash",
        "temperature": 0.7,
        "max_tokens": 1500,
    }
    with pytest.raises(InputRejected, match="system_prompt"):
        arguments_for(GenerationJob(Kind.SCRIPT, prompt="p"), url_for)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"output": "", "error": "rate limited"}, "did not finish: rate limited"),
        ({"output": '{"lines": ["A', "partial": True}, "the answer was cut short"),
        ({"text": "hi"}, "returned no text"),
    ],
)
def test_any_llm_errors_and_partial_answers_are_final(payload: object, problem: str) -> None:
    assert fal_models.result_text({"output": "ok", "partial": False}, "fal-ai/any-llm") == "ok"
    with pytest.raises(ProviderError, match=problem) as raised:
        fal_models.result_text(payload, "fal-ai/any-llm")
    assert not raised.value.retryable
