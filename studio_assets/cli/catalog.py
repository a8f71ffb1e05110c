"""What studio offers, listed: `studio rooms`, `studio styles`, `studio templates`,
`studio voices`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from resources.provider.base import Kind
from studio_assets.cli.output import emit
from studio_assets.cli.wiring import Wiring
from studio_assets.domain.narration import DEFAULT_VOICE, VOICES
from studio_assets.domain.rooms import ROOM_TYPES, STYLES, room_label
from studio_assets.domain.templates import TEMPLATES
from studio_assets.domain.video_plan import estimate
from studio_assets.domain.wording import plural

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line")]


def rooms(as_json: JsonFlag = False) -> None:
    """List the room types a clip or photo can have."""
    listing = [{"room_type": r, "label": room_label(r)} for r in ROOM_TYPES]
    if as_json:
        emit({"rooms": listing}, True)
        return
    for item in listing:
        typer.echo(f"{item['room_type']:<16} {item['label']}")


def styles(as_json: JsonFlag = False) -> None:
    """List the enhancement styles (`studio image enhance --style`)."""
    listing = [{"style": name, "description": text} for name, text in STYLES.items()]
    if as_json:
        emit({"styles": listing}, True)
        return
    for item in listing:
        typer.echo(f"{item['style']:<14} {item['description']}")


def templates(as_json: JsonFlag = False) -> None:
    """List the video templates: their slots, length and cost with the configured provider."""
    with Wiring.guard(migrate=False) as wiring:
        model = wiring.provider.model_for(Kind.IMAGE_TO_VIDEO)
        provider = wiring.provider.name
    listing: list[dict[str, Any]] = [
        {
            "name": t.name,
            "description": t.description,
            "aspect_ratio": t.aspect_ratio,
            "seconds": t.seconds(),
            "estimated_cents": estimate(model, t.planned_clips(), native_audio=False).total_cents,
            "slots": [
                {
                    "room_type": s.room_type,
                    "label": s.shown_as,
                    "transition": s.transition,
                    "duration": s.duration,
                }
                for s in t.slots
            ],
        }
        for t in TEMPLATES.values()
    ]
    if as_json:
        emit({"provider": provider, "model": model, "templates": listing}, True)
        return
    typer.echo(f"costs with the {provider} provider ({model})")
    for t in listing:
        typer.echo(
            f"{t['name']:<17} {plural(len(t['slots']), 'slot'):<8} ≈{t['seconds']} s  "
            f"{t['aspect_ratio'] or 'any':<4} {t['estimated_cents']:>4} ¢  "
            f"{', '.join(s['label'] for s in t['slots'])}"
        )


def voices(as_json: JsonFlag = False) -> None:
    """List the narration voices (`"narration": {"voice": …}`), their engine, language and cost."""
    listing = [
        {
            "voice": v.id,
            "engine": v.engine,
            "language": v.language,
            "cents_per_1000_chars": v.cents_per_1000_chars,
            "default": v.id == DEFAULT_VOICE,
            "description": v.description,
        }
        for v in VOICES.values()
    ]
    if as_json:
        emit({"voices": listing}, True)
        return
    for item in listing:
        cost = (
            "free" if not item["cents_per_1000_chars"] else f"{item['cents_per_1000_chars']} ¢/1000"
        )
        mark = " (default)" if item["default"] else ""
        typer.echo(
            f"{item['voice']:<10} {item['engine']:<8} {item['language']:<6} {cost:<12} "
            f"{item['description']}{mark}"
        )
