"""A fake paid provider for pipeline tests: counts every submit, can fail or stall on cue.

It prices like Fal.ai (the Kling model id), so cost accounting is exercised for real; the
media it returns are real MP4s made with FFmpeg, in the shape a test asks for.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from resources.errors import Canceled, ProviderError
from resources.ffmpeg import run_ffmpeg
from resources.provider.base import (
    GenerationJob,
    GenerationResult,
    Kind,
    ProgressCallback,
    ProviderResource,
    StopCheck,
)
from resources.provider.pricing import (
    KLING_I2V,
    KOKORO_TTS,
    NANO_BANANA_EDIT,
    QWEN_INPAINT,
    price_cents,
)

MODELS = {
    Kind.IMAGE_EDIT: NANO_BANANA_EDIT,
    Kind.INPAINT: QWEN_INPAINT,
    Kind.IMAGE_TO_VIDEO: KLING_I2V,
    Kind.SPEECH: KOKORO_TTS,
}


@dataclass
class Journal:
    """What the fake saw; shared by name because resources are frozen config objects."""

    submits: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    spans: dict[str, list[float]] = field(default_factory=dict)
    """Each request's [submitted, finished] (monotonic seconds): what was in flight when."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, fragment: str) -> int:
        return sum(1 for label in self.submits if fragment in label)

    def max_in_flight(self) -> int:
        """The most requests the fake held at once, from its own log."""
        with self.lock:
            events = sorted(
                (moment, step)
                for start, *end in self.spans.values()
                for moment, step in ((start, 1), *((e, -1) for e in end))
            )
        peak = current = 0
        for _moment, step in events:  # an end sorts before a start at the same moment
            current += step
            peak = max(peak, current)
        return peak


JOURNALS: dict[str, Journal] = {}


def journal(name: str) -> Journal:
    return JOURNALS.setdefault(name, Journal())


class FakeProvider(ProviderResource):
    journal_name: str
    fail_labels: list[str] = []
    """Jobs whose label contains one of these fail on every attempt (bad input: no retry)."""
    flaky_labels: list[str] = []
    """Jobs whose label contains one of these fail retryably on every attempt."""
    latency_s: float = 0.0
    width: int = 0
    height: int = 0
    """Media size; 0 = the project's frame."""
    fps: int = 30
    audio: str = "as_asked"
    """`as_asked`, `always` or `never`."""

    @property
    def name(self) -> str:
        return "fake"

    def model_for(self, kind: Kind) -> str:
        return MODELS[kind]

    def price_cents(self, job: GenerationJob) -> int:
        if job.kind is Kind.SPEECH:
            return price_cents(self.model_for(job.kind), characters=len(job.prompt))
        return price_cents(
            self.model_for(job.kind), seconds=job.duration_s, audio=job.generate_audio
        )

    def submit(self, job: GenerationJob) -> str:
        log = journal(self.journal_name)
        with log.lock:
            log.submits.append(job.label)
        if any(f in job.label for f in self.fail_labels):
            raise ProviderError(f"{job.label}: invalid image (422)", retryable=False)
        request_id = f"fake-{uuid.uuid4().hex[:12]}"
        with log.lock:
            log.spans[request_id] = [time.monotonic()]
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
        log = journal(self.journal_name)
        with log.lock:
            log.waits.append(request_id)
        deadline = time.monotonic() + self.latency_s
        while (left := deadline - time.monotonic()) > 0:
            if should_stop and should_stop():
                self.cancel(request_id)
                raise Canceled(f"{job.label}: stopped; canceled {request_id}")
            time.sleep(min(0.05, left))
        if any(f in job.label for f in self.flaky_labels):
            with log.lock:
                log.failures[job.label] += 1
            raise ProviderError(
                f"{job.label}: provider busy (503)", retryable=True, request_gone=True
            )
        out = workdir / f"{request_id}.mp4"
        if job.kind is Kind.SPEECH:  # a line "spoken": a tone about as long as the words
            seconds = max(0.5, len(job.prompt) / 15)
            run_ffmpeg(
                ["-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds:.2f}", str(out)]
            )
        else:
            self.render(job, out)
        with log.lock:
            log.spans.setdefault(request_id, [time.monotonic()]).append(time.monotonic())
        return GenerationResult(
            out,
            "video/mp4",
            self.price_cents(job),
            self.model_for(job.kind),
            request_id,
            self.latency_s,
        )

    def cancel(self, request_id: str) -> None:
        log = journal(self.journal_name)
        with log.lock:
            log.cancels.append(request_id)

    def render(self, job: GenerationJob, out: Path) -> None:
        """Copy a clip of the requested shape, made once per shape: the generation happens
        "at the provider", so it must not take the machine's CPU during the latency."""
        width, height = self.width or job.width, self.height or job.height
        with_audio = {"always": True, "never": False}.get(self.audio, job.generate_audio)
        key = f"{width}x{height}-{self.fps}-{job.duration_s}-{int(with_audio)}.mp4"
        with _RENDER_LOCK:
            cached = _RENDERED.get(key)
            if cached is None or not cached.exists():
                cached = Path(tempfile.mkdtemp(prefix="fake-media-")) / key
                _encode(cached, width, height, self.fps, job.duration_s, with_audio)
                _RENDERED[key] = cached
        shutil.copyfile(cached, out)


_RENDERED: dict[str, Path] = {}
_RENDER_LOCK = threading.Lock()


def _encode(out: Path, width: int, height: int, fps: int, seconds: float, audio: bool) -> None:
    # A flat colour encodes in a blink; the compile treats it like any generated clip.
    args = ["-f", "lavfi", "-i", f"color=c=0x336699:s={width}x{height}:r={fps}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        args += ["-c:a", "aac", "-ar", "48000", "-ac", "2"]
    run_ffmpeg(
        [
            *args,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-shortest",
            str(out),
        ],
        timeout_s=120,
    )


def fake(**settings: object) -> FakeProvider:
    """A fake with a fresh journal."""
    name = uuid.uuid4().hex
    return FakeProvider(journal_name=name, **settings)  # type: ignore[arg-type]
