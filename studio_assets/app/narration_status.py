"""The status JSON's `narration`: the resolved script, who speaks it and who wrote it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from resources.models import NarrationScript, VideoClip, VideoProject
from resources.provider.fal_models import WRITER_LLM
from resources.provider.local import OFFLINE_VOICE
from resources.provider.pricing import ANY_LLM, price_cents
from studio_assets.domain.narration import FAL, VOICES, NarrationSpec
from studio_assets.domain.narration_plan import planned_speech, resolve_lines, script_json
from studio_assets.domain.publishing import BrandingSpec, ListingSpec
from studio_assets.domain.script import Line
from studio_assets.runtime.renditions import project_renditions


@dataclass(frozen=True)
class _Planned:
    label: str
    duration: int
    transition: str


def narration_status(
    offline: bool, row: VideoProject, clips: list[VideoClip], scripts: list[NarrationScript]
) -> dict[str, Any] | None:
    """The narration block (`offline`: the provider is the free engine) with its resolved
    script: each line, its clip, when it is planned to start and how long it should last
    (estimated before the voice speaks; the run fits the measured speech again). Once the
    paid writer has answered, its lines as checked."""
    if not row.narration:
        return None
    try:
        narration = NarrationSpec.model_validate(row.narration)
        listing = ListingSpec.model_validate(row.listing) if row.listing else None
        branding = BrandingSpec.model_validate(row.branding) if row.branding else None
    except ValueError as exc:
        return {**row.narration, "error": f"narration cannot be read: {exc}"}
    planned = [
        _Planned(c.room_label or c.room_type, c.duration_seconds, c.transition_type) for c in clips
    ]
    lines = resolve_lines(narration, row.name, planned, listing, branding)
    written = next((s for s in reversed(scripts) if s.status == "completed" and s.lines), None)
    if written is not None:
        lines = _rewritten(lines, written.lines or [], row)
    block = {
        **narration.model_dump(),
        "spoken_by": _spoken_by(narration, row.preview, offline),
        "script": script_json(planned_speech(narration, lines, planned), planned),
    }
    if narration.writer == "llm":
        block["written_by"] = _written_by(row.preview, written)
    return block


def _rewritten(lines: list[Line], texts: list[str], row: VideoProject) -> list[Line]:
    """`lines` with the spoken ones' texts as the writer's checked answer has them."""
    branded = any(r.branded for r in project_renditions(row))
    spoken = [n for n, line in enumerate(lines) if branded or not line.branded_only]
    if len(spoken) != len(texts):
        return lines
    out = list(lines)
    for n, text in zip(spoken, texts, strict=True):
        out[n] = dataclasses.replace(lines[n], text=text)
    return out


def _spoken_by(narration: NarrationSpec, preview: bool, offline: bool) -> str:
    voice = VOICES[narration.voice]
    if voice.engine != FAL:
        return f"{voice.id} (offline voice, free)"
    paid = f"{voice.id} (Kokoro on Fal.ai, {voice.cents_per_1000_chars:g} ¢ per 1000 characters)"
    if offline:
        return f"{OFFLINE_VOICE} (offline voice, free) on this engine; {paid} on Fal.ai"
    if preview:
        return f"{OFFLINE_VOICE} (offline voice, free) for the preview; {paid} once approved"
    return paid


def _written_by(preview: bool, written: NarrationScript | None) -> dict[str, Any]:
    paid = f"{WRITER_LLM} on Fal.ai ({ANY_LLM}), {price_cents(ANY_LLM)} ¢ once"
    if written is not None:
        return {"writer": paid, "status": "written", "warnings": written.warnings or []}
    if preview:
        return {"writer": f"the facts (free) for the preview; {paid} once approved"}
    return {"writer": paid, "status": "not yet written: these are the lines it rewrites"}
