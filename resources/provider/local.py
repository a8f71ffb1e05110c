"""The offline engine as a provider: real media from FFmpeg, Pillow and OpenCV, for free.

There is no queue: `submit` hands out a request id and `wait` does the work. The engine is
deterministic, so waiting again on the same request (a resumed run) yields the same media.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from resources.engine import image as image_engine
from resources.errors import Canceled, InputRejected
from resources.provider.base import (
    GenerationJob,
    GenerationResult,
    Kind,
    ProgressCallback,
    ProviderResource,
    StopCheck,
)

MODELS = {
    Kind.IMAGE_EDIT: "local/enhance",
    Kind.INPAINT: "local/inpaint-telea",
    Kind.IMAGE_TO_VIDEO: "local/ken-burns",
    Kind.SPEECH: "local/piper",
    Kind.SCRIPT: "local/facts",
}
OFFLINE_VOICE = "joe"
"""Who speaks a line on the offline engine, whichever voice the project names (a preview of a
paid voice speaks with it, free)."""


REQUEST_PREFIX = "local-"
"""Every request id the offline engine hands out starts so (a preview's clips are known by it)."""


class LocalProvider(ProviderResource):
    """Free, offline generations with the same interface as Fal.ai."""

    @property
    def name(self) -> str:
        return "local"

    @property
    def resubmit_is_free(self) -> bool:
        return True

    def model_for(self, kind: Kind) -> str:
        return MODELS[kind]

    def price_cents(self, job: GenerationJob) -> int:
        return 0

    def submit(self, job: GenerationJob) -> str:
        return f"{REQUEST_PREFIX}{uuid.uuid4().hex}"

    def wait(
        self,
        request_id: str,
        job: GenerationJob,
        workdir: Path,
        timeout_s: float,
        on_update: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> GenerationResult:
        if should_stop and should_stop():
            raise Canceled(f"{job.label or job.kind.value}: stopped before rendering")
        started = time.monotonic()
        if on_update:
            on_update(f"rendering {job.label or job.kind.value} locally")
        path, content_type = self._render(job, workdir / f"{request_id}")
        return GenerationResult(
            path=path,
            content_type=content_type,
            cost_cents=0,
            model=self.model_for(job.kind),
            request_id=request_id,
            seconds=time.monotonic() - started,
        )

    def cancel(self, request_id: str) -> None:
        """Nothing runs in the background, so there is nothing to stop."""

    def _render(self, job: GenerationJob, stem: Path) -> tuple[Path, str]:
        if job.kind is Kind.SCRIPT:
            raise InputRejected("the offline engine rewrites no scripts: it speaks them as written")
        if job.kind is Kind.SPEECH:
            from resources.engine.voice import speak

            (spoken,) = speak([job.prompt], OFFLINE_VOICE, job.speed, stem)
            return spoken.wav, "audio/wav"
        assert job.image is not None, f"{job.kind.value} needs an image"
        if job.kind is Kind.IMAGE_EDIT:
            out = stem.with_suffix(".jpg")
            image_engine.enhance(job.image.path, out, job.prompt)
            return out, "image/jpeg"
        if job.kind is Kind.INPAINT:
            assert job.mask is not None, "inpainting needs a mask"
            out = stem.with_suffix(".jpg")
            image_engine.inpaint(
                job.image.path, job.mask.path, out, mode=job.mode or "remove", prompt=job.prompt
            )
            return out, "image/jpeg"
        return self._render_video(job, stem.with_suffix(".mp4")), "video/mp4"

    def _render_video(self, job: GenerationJob, out: Path) -> Path:
        from resources.engine import video as video_engine  # the video engine is optional here

        assert job.image is not None, "a clip needs its start image"
        end = job.end_image.path if job.end_image else None
        if job.transition and end is not None:
            video_engine.render_transition(
                job.image.path,
                end,
                out,
                width=job.width,
                height=job.height,
                duration_s=job.duration_s,
            )
        else:
            video_engine.render_clip(
                job.image.path,
                out,
                end=end,
                width=job.width,
                height=job.height,
                duration_s=job.duration_s,
                motion=video_engine.motion_from_prompt(job.prompt),
                audio=job.generate_audio,
            )
        return out
