"""A project's renditions, made from its compiled master: the cards each one shows, drawn and
composed (`resources.renditions`). Nothing here is generated again: every rendition reuses
the same clips, transitions and mixed sound."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from resources.compile_plan import FRAMES, VoiceLine
from resources.compiler import CompileReport
from resources.engine.cards import draw_banner, draw_closing, draw_logo
from resources.errors import InputRejected
from resources.models import VideoProject
from resources.renditions import Overlay, Rendered, RenditionPlan, render
from resources.storage import StorageResource
from studio_assets.domain.publishing import (
    DEFAULT_COLOR,
    BrandingSpec,
    Card,
    ListingSpec,
    RenditionSpec,
    closing_card,
    opening_card,
    renditions_for,
)
from studio_assets.domain.validation import inspect_image
from studio_assets.runtime.narration import CAPTION_FONTS, Captions, Narrated, master_is_branded

OPENING_S = 3.0
CLOSING_S = 3.0
MAX_LOGO_BYTES = 10 * 1024 * 1024


def project_renditions(row: VideoProject) -> list[RenditionSpec]:
    """The renditions the row asks for (or the defaults), in order: the first is the video."""
    branding = BrandingSpec.model_validate(row.branding) if row.branding else None
    asked = [RenditionSpec.model_validate(r) for r in row.renditions or []] or None
    return renditions_for(row.aspect_ratio, branding, asked)


def other_sounds(row: VideoProject, narrated: Narrated | None) -> dict[str, tuple[VoiceLine, ...]]:
    """The narrations the master does not speak that a rendition needs: the unbranded cut's
    (no outro) when the master is branded, or the other way round."""
    if narrated is None:
        return {}
    renditions = project_renditions(row)
    master = master_is_branded(renditions)
    others = {r.branded for r in renditions} - {master}
    return {
        _sound_name(b): narrated.voice(b)
        for b in others
        if narrated.voice(b) != narrated.voice(master)
    }


def _sound_name(branded: bool) -> str:
    return "branded" if branded else "unbranded"


def make_renditions(
    storage: StorageResource,
    row: VideoProject,
    compiled: CompileReport,
    narrated: Narrated | None,
    workdir: Path,
    timeout_s: float,
) -> list[tuple[RenditionSpec, Rendered]]:
    """Each of the project's renditions from the compiled master, with its cards, its sound
    and its captions."""
    master, duration_s = compiled.video, compiled.duration_s
    listing = ListingSpec.model_validate(row.listing) if row.listing else None
    branding = BrandingSpec.model_validate(row.branding) if row.branding else None
    renditions = project_renditions(row)
    logo = fetch_logo(storage, row, workdir) if any(r.branded for r in renditions) else None
    made = []
    for spec in renditions:
        size = FRAMES[spec.aspect_ratio]
        cards = workdir / f"cards-{spec.key}"
        cards.mkdir(parents=True, exist_ok=True)
        overlays = _overlays(
            opening_card(row.name, listing),
            closing_card(branding, spec.branded),
            logo if spec.branded else None,
            branding.primary_color if branding else DEFAULT_COLOR,
            size,
            duration_s,
            cards,
        )
        card_until_s = _opening_s(duration_s) if listing is not None else 0.0
        captions = (
            narrated.captions(spec, cards, card_until_s) if narrated else Captions(None, None)
        )
        plan = RenditionPlan(
            spec.key,
            size[0],
            size[1],
            overlays,
            captions=captions.burn_in,
            fonts=CAPTION_FONTS,
            sound=compiled.sounds.get(_sound_name(spec.branded)),
        )
        done = render(master, plan, workdir, timeout_s)
        made.append((spec, replace(done, captions=captions.sidecar)))
    return made


def fetch_logo(storage: StorageResource, row: VideoProject, workdir: Path) -> Path | None:
    """The brand's logo, fetched from the row's workspace and checked as a photo is (the first
    step calls this too, so a broken or foreign logo refuses the project before it pays)."""
    logo = (row.branding or {}).get("logo")
    if not logo:
        return None
    try:
        path = storage.fetch_input(logo, workdir / "logo", row.workspace_id, MAX_LOGO_BYTES)
    except InputRejected as exc:
        raise InputRejected(f"branding logo: {exc}") from None
    inspect_image(path, "branding logo")
    return path


def _opening_s(total_s: float) -> float:
    """How long the opening card shows."""
    return min(OPENING_S, total_s / 3)


def _overlays(
    opening: Card | None,
    closing: Card | None,
    logo: Path | None,
    colour: str,
    size: tuple[int, int],
    total_s: float,
    cards: Path,
) -> tuple[Overlay, ...]:
    """The opening card over the first seconds, the closing card over the last, the logo in a
    corner in between (or throughout, without cards)."""
    overlays = []
    tour_start, tour_end = 0.0, total_s
    if opening is not None:
        tour_start = _opening_s(total_s)
        png = draw_banner(opening.title, opening.lines, size, colour, cards / "opening.png")
        overlays.append(Overlay(png, 0.0, tour_start))
    if closing is not None:
        tour_end = total_s - min(CLOSING_S, total_s / 3)
        png = draw_closing(closing.title, closing.lines, size, colour, logo, cards / "closing.png")
        overlays.append(Overlay(png, tour_end, total_s))
    if logo is not None and tour_end > tour_start:
        overlays.append(Overlay(draw_logo(logo, size, cards / "logo.png"), tour_start, tour_end))
    return tuple(overlays)
