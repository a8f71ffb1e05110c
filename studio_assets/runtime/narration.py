"""The tour's narration as the compile makes it: every line spoken, measured, fitted over the
clips the project really has (`speech_timing.plan_speech`), and what each rendition speaks and
captions — the branded ones with the outro, the unbranded cut without it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resources import fonts
from resources.compile_plan import FRAMES, VoiceLine
from studio_assets.domain.captions import ass, webvtt
from studio_assets.domain.narration import NarrationSpec
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.publishing import RenditionSpec
from studio_assets.domain.script import Line
from studio_assets.domain.speech_timing import SpeechPlan, TimedLine, plan_speech
from studio_assets.runtime.script_writing import Writer
from studio_assets.runtime.speech import Speaker

CAPTION_FONT, CAPTION_FONTS = fonts.FAMILY, fonts.FOLDER


@dataclass(frozen=True)
class Captions:
    sidecar: Path | None
    burn_in: Path | None


@dataclass(frozen=True)
class Narrated:
    narration: NarrationSpec
    speech: SpeechPlan
    wavs: dict[Line, Path]

    def voice(self, branded: bool) -> tuple[VoiceLine, ...]:
        return tuple(
            VoiceLine(self.wavs[t.line], t.start_s, t.tempo)
            for t in self.speech.for_rendition(branded)
        )

    def captions(
        self, rendition: RenditionSpec, workdir: Path, card_until_s: float = 0.0
    ) -> Captions:
        """The rendition's WebVTT sidecar and, when it burns them in, its ASS script (lines
        starting before `card_until_s`, over the opening card, drawn at the top)."""
        lines = self.speech.for_rendition(rendition.branded)
        settings = self.narration.captions
        sidecar = burn = None
        if settings.sidecar:
            sidecar = workdir / f"captions-{rendition.key}.vtt"
            sidecar.write_text(webvtt(lines), encoding="utf-8")
        if settings.burns_into(rendition.aspect_ratio):
            burn = workdir / f"captions-{rendition.key}.ass"
            size = FRAMES[rendition.aspect_ratio]
            script = ass(lines, size, rendition.aspect_ratio, CAPTION_FONT, card_until_s)
            burn.write_text(script, "utf-8")
        return Captions(sidecar, burn)

    def metadata(self) -> list[dict[str, Any]]:
        return [_timed_json(t) for t in self.speech.lines]


def narrate(
    spec: ProjectSpec,
    timeline: Sequence[tuple[int | None, float]],
    workdir: Path,
    speaker: Speaker,
    writer: Writer | None = None,
) -> Narrated | None:
    """The spec's lines (rewritten first by `writer`, the paid one) spoken by `speaker` and
    placed over `timeline` (the compiled segments in order: `(clip's place in the tour,
    seconds)`, None for a transition)."""
    if spec.narration is None:
        return None
    lines = spec.spoken_lines()
    if writer is not None:
        lines = writer(spec, lines, workdir / "script")
    spoken = speaker(lines, workdir)
    speech = plan_speech(timeline, lines, [s.seconds for s in spoken])
    wavs = {ln: s.wav for ln, s in zip(lines, spoken, strict=True)}
    return Narrated(spec.narration, speech, wavs)


def master_is_branded(renditions: Sequence[RenditionSpec]) -> bool:
    """The master speaks as the first rendition does; the others' sound is made beside it."""
    return renditions[0].branded


def _timed_json(t: TimedLine) -> dict[str, Any]:
    return {
        "role": t.line.role,
        "clip": t.line.clip + 1,
        "text": t.line.text,
        "start_s": round(t.start_s, 2),
        "duration_s": round(t.duration_s, 2),
        "tempo": t.tempo,
    }
