"""The four Fal.ai models we call: their input schemas and result shapes, one place each.

Each input schema is a pydantic model named after its endpoint; `arguments_for` turns a
`GenerationJob` into the validated JSON body, and `result_media` picks the media file out of a
result. Field names follow fal's published schemas (checked 2026): Kling v2.6 Pro takes
`start_image_url` / `end_image_url` (older versions said `image_url` / `tail_image_url`) and has
no aspect-ratio input. Kokoro (American English) takes `prompt`, `voice` (one of its 20) and
`speed` (0.1–5) and answers `audio.url`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from resources.errors import InputRejected, ProviderError
from resources.ffmpeg import probe
from resources.provider.base import GenerationJob, Kind, MediaInput

KLING_PROMPT_MAX_CHARS = 2500
URL_SCHEMES = ("https://", "http://", "data:")
# Stands in for media URLs while the text fields are checked, so a bad prompt is refused before
# anything is uploaded.
_UNRESOLVED = "https://unresolved.invalid/"

UrlFor = Callable[[MediaInput], str]


class _FalInput(BaseModel):
    """Inputs are closed: a field fal does not know is a bug here, not something to send."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_media_url(value: str) -> str:
    if not value.startswith(URL_SCHEMES):
        raise ValueError("must be an http(s) URL or a data URI")
    return value


class NanoBananaEditInput(_FalInput):
    """`fal-ai/nano-banana-pro/edit`: instruction-based edit of one or more images."""

    prompt: str = Field(min_length=1)
    image_urls: list[str] = Field(min_length=1)
    num_images: Literal[1] = 1
    output_format: Literal["jpeg"] = "jpeg"

    @field_validator("image_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return [_check_media_url(url) for url in value]


class QwenInpaintInput(_FalInput):
    """`fal-ai/qwen-image-edit/inpaint`: regenerate the white area of `mask_url`."""

    prompt: str = Field(min_length=1)
    image_url: str
    mask_url: str
    negative_prompt: str | None = None
    output_format: Literal["jpeg"] = "jpeg"

    @field_validator("image_url", "mask_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _check_media_url(value)


class KlingImageToVideoInput(_FalInput):
    """`fal-ai/kling-video/v2.6/pro/image-to-video`: a clip from a start (and end) frame."""

    prompt: str = Field(min_length=1, max_length=KLING_PROMPT_MAX_CHARS)
    start_image_url: str
    end_image_url: str | None = None
    duration: Literal["5", "10"] = "5"
    # fal defaults this to true (and bills audio double), so it has no default here: every
    # request states it.
    generate_audio: bool
    negative_prompt: str | None = None

    @field_validator("start_image_url", "end_image_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return value if value is None else _check_media_url(value)


KOKORO_VOICES = (
    "af_heart", "af_alloy", "af_aoede", "af_bella", "af_jessica", "af_kore", "af_nicole",
    "af_nova", "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir",
    "am_liam", "am_michael", "am_onyx", "am_puck", "am_santa",
)  # fmt: skip
"""`fal-ai/kokoro/american-english`'s `voice` options (its published schema)."""


class KokoroInput(_FalInput):
    """`fal-ai/kokoro/american-english`: one narration line spoken."""

    prompt: str = Field(min_length=1)
    voice: Literal[KOKORO_VOICES]  # type: ignore[valid-type]
    speed: float = Field(ge=0.1, le=5.0)


WRITER_LLM = "google/gemini-2.5-flash"
"""The model of any-llm's catalogue the script writer asks: a standard-rate one (premium
models cost ten times as much)."""


class AnyLlmInput(_FalInput):
    """`fal-ai/any-llm`: one chat completion, here the narration rewritten as JSON."""

    prompt: str = Field(min_length=1)
    system_prompt: str = Field(min_length=1)
    model: str = WRITER_LLM
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=1500, gt=0)


INPUT_SCHEMAS: dict[Kind, type[_FalInput]] = {
    Kind.IMAGE_EDIT: NanoBananaEditInput,
    Kind.INPAINT: QwenInpaintInput,
    Kind.IMAGE_TO_VIDEO: KlingImageToVideoInput,
    Kind.SPEECH: KokoroInput,
    Kind.SCRIPT: AnyLlmInput,
}


def _fields(job: GenerationJob, url_for: UrlFor) -> dict[str, Any]:
    """The schema's fields for `job`, media inputs turned into URLs by `url_for`."""
    if job.kind is Kind.SPEECH:
        return {"prompt": job.prompt, "voice": job.voice, "speed": job.speed}
    if job.kind is Kind.SCRIPT:
        return {"prompt": job.prompt, "system_prompt": job.instructions}
    if job.image is None:
        raise InputRejected(f"{job.label or job.kind.value}: needs an image")
    if job.kind is Kind.IMAGE_EDIT:
        return {"prompt": job.prompt, "image_urls": [url_for(job.image)]}
    if job.kind is Kind.INPAINT:
        if job.mask is None:
            raise InputRejected("inpainting needs a mask")
        return {
            "prompt": job.prompt,
            "image_url": url_for(job.image),
            "mask_url": url_for(job.mask),
            "negative_prompt": job.negative_prompt or None,
        }
    return {
        "prompt": job.prompt,
        "start_image_url": url_for(job.image),
        "end_image_url": url_for(job.end_image) if job.end_image else None,
        "duration": str(job.duration_s),
        "generate_audio": job.generate_audio,
        "negative_prompt": job.negative_prompt or None,
    }


def _validated(job: GenerationJob, fields: dict[str, Any]) -> _FalInput:
    try:
        return INPUT_SCHEMAS[job.kind].model_validate(fields)
    except ValidationError as exc:
        problems = render_errors(exc.errors(include_url=False))
        raise InputRejected(f"{job.label or job.kind.value}: invalid input: {problems}") from None


def arguments_for(job: GenerationJob, url_for: UrlFor) -> dict[str, Any]:
    """The validated JSON body fal expects for `job`; raises `InputRejected` on bad input.

    The text fields are checked before `url_for` runs, so nothing is uploaded for a job that
    would be refused anyway.
    """
    _validated(job, _fields(job, lambda media: _UNRESOLVED))
    return _validated(job, _fields(job, url_for)).model_dump(exclude_none=True)


def render_errors(errors: Iterable[Mapping[str, Any]] | str | None) -> str:
    """`loc: msg` pairs from pydantic errors or fal's 422 `detail` list (same shape)."""
    if errors is None:
        return "no details given"
    if isinstance(errors, str):
        return errors
    pairs = []
    for error in errors:
        if not isinstance(error, Mapping):
            pairs.append(str(error))
            continue
        loc = [str(part) for part in error.get("loc") or ()]
        if loc and loc[0] == "body":  # fal's locations start at the request body
            loc = loc[1:]
        pairs.append(f"{'.'.join(loc) or 'input'}: {error.get('msg', 'invalid')}")
    return "; ".join(pairs) or "no details given"


class FalFile(BaseModel):
    """A file in a fal result (fal adds width, height, file_name… which we ignore)."""

    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1)
    content_type: str | None = None
    file_size: int | None = None


class ImagesOutput(BaseModel):
    """Nano Banana Pro edit and Qwen inpaint: `images[0].url`."""

    model_config = ConfigDict(extra="ignore")

    images: list[FalFile] = Field(min_length=1)


class VideoOutput(BaseModel):
    """Kling image-to-video: `video.url`."""

    model_config = ConfigDict(extra="ignore")

    video: FalFile


class AudioOutput(BaseModel):
    """Kokoro: `audio.url`."""

    model_config = ConfigDict(extra="ignore")

    audio: FalFile


class ChatOutput(BaseModel):
    """any-llm: `output`, with `error` and `partial` when the model did not finish."""

    model_config = ConfigDict(extra="ignore")

    output: str
    error: str | None = None
    partial: bool | None = None


def result_text(payload: Any, model: str) -> str:
    """The text an any-llm result holds; an error or a partial answer is a final provider
    fault (asking the same request again returns the same answer)."""
    try:
        chat = ChatOutput.model_validate(payload)
    except ValidationError as exc:
        problems = render_errors(exc.errors(include_url=False, include_input=False))
        raise ProviderError(f"{model} returned no text: {problems}", retryable=False) from None
    if chat.error or chat.partial:
        why = chat.error or "the answer was cut short"
        raise ProviderError(f"{model} did not finish: {why}", retryable=False)
    return chat.output


def result_media(kind: Kind, payload: Any, model: str) -> FalFile:
    """The media file in a fal result; a result without one is a provider fault, not retried
    (waiting on the same request again returns the same result)."""
    try:
        if kind is Kind.IMAGE_TO_VIDEO:
            return VideoOutput.model_validate(payload).video
        if kind is Kind.SPEECH:
            return AudioOutput.model_validate(payload).audio
        return ImagesOutput.model_validate(payload).images[0]
    except ValidationError as exc:
        problems = render_errors(exc.errors(include_url=False, include_input=False))
        raise ProviderError(
            f"{model} returned a result without media: {problems}", retryable=False
        ) from None


RESULT_SUFFIXES = {
    Kind.IMAGE_TO_VIDEO: (".mp4", ".mov", ".webm"),
    Kind.SPEECH: (".wav", ".mp3", ".ogg", ".flac", ".m4a"),
    Kind.SCRIPT: (".json",),
}
"""A result's allowed extensions, the first the default (images: `IMAGE_SUFFIXES`)."""
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MEDIA = {Kind.IMAGE_TO_VIDEO: "video", Kind.SPEECH: "audio"}
"""The media type of each kind's result (the others: `image`)."""


def result_filename(fal_request_id: str, url: str, kind: Kind) -> str:
    """A safe local file name for a result: the request id and the media's own extension."""
    allowed = RESULT_SUFFIXES.get(kind, IMAGE_SUFFIXES)
    suffix = Path(httpx.URL(url).path).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", fal_request_id)
    return f"fal-{stem}{suffix if suffix in allowed else allowed[0]}"


def result_content_type(path: Path, kind: Kind, what: str) -> str:
    """The media type of a downloaded result; a file that is not readable media is refused
    (and removed) as a final provider fault."""
    media = MEDIA.get(kind, "image")
    try:
        if media == "video":
            if probe(path).video_codec is None:
                raise ValueError("no video stream")
            return mimetypes.guess_type(path.name)[0] or "video/mp4"
        if media == "audio":
            if probe(path).audio_codec is None:
                raise ValueError("no audio stream")
            return mimetypes.guess_type(path.name)[0] or "audio/wav"
        with Image.open(path) as image:
            image.verify()
            return Image.MIME.get(image.format or "", "image/jpeg")
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise ProviderError(
            f"the result of {what} is not a readable {media} ({type(exc).__name__})",
            retryable=False,
        ) from exc
