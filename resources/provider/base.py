"""The generation provider interface: submit → request id → wait (or resume) → result + cost.

Implementations: `LocalProvider` (the offline engine, free) and `FalProvider` (Fal.ai). The
caller stores the request id between `submit` and `wait`, which is what makes a re-run resume a
request instead of buying it again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import dagster as dg


class Kind(StrEnum):
    IMAGE_EDIT = "image_edit"
    INPAINT = "inpaint"
    IMAGE_TO_VIDEO = "image_to_video"
    SPEECH = "speech"  # one narration line: `prompt` spoken by `voice` at `speed`
    SCRIPT = "script"  # the narration rewritten: `prompt` (facts, lines) under `instructions`


@dataclass(frozen=True)
class MediaInput:
    """An input file, with an HTTPS URL a remote provider can read it from when storage has one."""

    path: Path
    url: str | None = None


@dataclass(frozen=True)
class GenerationJob:
    kind: Kind
    prompt: str
    image: MediaInput | None = None  # every kind but SPEECH has one
    end_image: MediaInput | None = None
    mask: MediaInput | None = None
    negative_prompt: str | None = None
    mode: str | None = None  # inpaint: "remove" | "add"
    duration_s: int = 5
    width: int = 1920
    height: int = 1080
    generate_audio: bool = False
    transition: bool = False  # a move from `image` to `end_image` between two rooms
    voice: str = ""  # speech
    speed: float = 1.0  # speech: 1.0 is the voice's natural pace
    instructions: str = ""  # script: the writer's system prompt
    label: str = ""  # for logs: "clip 2 (kitchen)"
    submit_token: str = ""  # the slot's claim: lets a provider's callback name the slot


@dataclass(frozen=True)
class GenerationResult:
    path: Path
    content_type: str
    cost_cents: int
    model: str
    request_id: str
    seconds: float = 0.0
    details: dict[str, str] = field(default_factory=dict)


ProgressCallback = Callable[[str], None]
StopCheck = Callable[[], bool]
"""Asked while waiting: true when the request must be canceled (an operator stopped the work);
it raises `Abandoned` when the wait must end but the request go on (see
studio_assets.runtime.stopping)."""


class ProviderResource(dg.ConfigurableResource, ABC):
    """One interface for every paid (or free) generation."""

    max_concurrency: int = 3
    """How many generations of one project run at a time (the old product's limit was 3)."""
    provider_concurrency: int = 10
    """How many requests may be in flight at the provider across every run and project
    (`STUDIO_PROVIDER_CONCURRENCY`, the account's limit; 0: no cap)."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    def resubmit_is_free(self) -> bool:
        """Whether submitting again costs nothing, so an ambiguous submit can simply be redone."""
        return False

    def check_ready(self) -> None:
        """Raise a `ProviderError` saying what is missing (credentials) before any work starts;
        called by each asset, so the row — not only Dagster's log — says why."""

    @property
    def reports_requests(self) -> bool:
        """Whether the provider calls back with the request id a submit token bought (so an
        ambiguous submit can be waited on until it is named)."""
        return False

    @abstractmethod
    def model_for(self, kind: Kind) -> str:
        """The model id used for `kind` (shown in metadata)."""

    @abstractmethod
    def price_cents(self, job: GenerationJob) -> int:
        """What `job` will be billed, in cents (the estimate; the result carries the actual)."""

    @abstractmethod
    def submit(self, job: GenerationJob) -> str:
        """Start `job` and return its request id. Raises `SubmitAmbiguous` when the provider
        may have accepted it without our learning the id."""

    @abstractmethod
    def wait(
        self,
        request_id: str,
        job: GenerationJob,
        workdir: Path,
        timeout_s: float,
        on_update: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> GenerationResult:
        """Wait for `request_id` (ours or a previous run's) and bring its media into `workdir`.

        When `should_stop` turns true the request is canceled and `Canceled` raised."""

    @abstractmethod
    def cancel(self, request_id: str) -> None:
        """Best effort: stop an in-flight request."""
