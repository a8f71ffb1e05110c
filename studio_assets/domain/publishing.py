"""What an agent publishes besides the rooms: the listing and brand on cards, and the cuts.

`ListingSpec`, `BrandingSpec` and `RenditionSpec` are the project spec's optional `listing`,
`branding` and `renditions`; `renditions_for` says which videos a project compiles to, and
`opening_card` / `closing_card` what each card of a rendition says. An unbranded rendition (the
cut listing portals accept: MLS rules forbid agent branding in virtual tours) carries the
listing's facts but no agent name, phone, email, brokerage or logo anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from resources.fonts import undrawable
from studio_assets.domain.validation import SpecModel

AspectRatio = Literal["16:9", "9:16", "1:1"]
MAX_RENDITIONS = 4
DEFAULT_COLOR = "#1F3A5F"


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise ValueError(f"{value!r} is not a colour like {DEFAULT_COLOR}")
    return value.upper()


def _drawable(value: str) -> str:
    """Card text: every character one the cards' font draws (never a box in its place)."""
    if char := undrawable(value):
        raise ValueError(
            f"holds {char!r}, which the cards' font cannot draw: cards show Latin letters "
            "(with accents), Greek and Cyrillic"
        )
    return value


CardText = Annotated[str, AfterValidator(_drawable)]


def _amount(value: int | str) -> int | str:
    """A number (not negative) or a short text to show as it is."""
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{value} is negative")
    if isinstance(value, str) and len(value) > 40:
        raise ValueError("at most 40 characters")
    return _drawable(value) if isinstance(value, str) else value


class ListingSpec(SpecModel):
    address: CardText | None = Field(default=None, max_length=120)
    price: Annotated[int | str, AfterValidator(_amount)] | None = None
    """A number (`1250000` → `$1,250,000`) or the text to show (`€ 890.000`)."""
    beds: float | None = Field(default=None, ge=0, le=100)
    baths: float | None = Field(default=None, ge=0, le=100)
    area: Annotated[int | str, AfterValidator(_amount)] | None = None
    """A number of square feet (`2400` → `2,400 sq ft`) or the text to show (`180 m²`)."""
    tagline: CardText | None = Field(default=None, max_length=120)


class BrandingSpec(SpecModel):
    agent_name: CardText | None = Field(default=None, max_length=80)
    agent_phone: CardText | None = Field(default=None, max_length=40)
    agent_email: Annotated[str, AfterValidator(_email)] | None = Field(default=None, max_length=120)
    brokerage: CardText | None = Field(default=None, max_length=80)
    logo: str | None = None
    """An image like the photos (a local path uploaded at submit, or a URL), same checks."""
    primary_color: Annotated[str, AfterValidator(_colour)] = DEFAULT_COLOR


class RenditionSpec(SpecModel):
    aspect_ratio: AspectRatio
    branded: bool = True

    @property
    def key(self) -> str:
        """`16x9-branded`: names its files."""
        return f"{self.aspect_ratio.replace(':', 'x')}-{'branded' if self.branded else 'unbranded'}"


def renditions_for(
    aspect_ratio: str, branding: BrandingSpec | None, asked: list[RenditionSpec] | None
) -> list[RenditionSpec]:
    """The videos a project compiles to: as asked, else one at the project's aspect ratio
    (branded) plus its unbranded cut when there is branding to leave out."""
    if asked:
        return list(asked)
    made = [RenditionSpec(aspect_ratio=aspect_ratio, branded=True)]  # type: ignore[arg-type]
    if branding is not None:
        made.append(RenditionSpec(aspect_ratio=aspect_ratio, branded=False))  # type: ignore[arg-type]
    return made


def check_renditions(renditions: list[RenditionSpec] | None) -> list[RenditionSpec] | None:
    """1 to MAX_RENDITIONS, each (aspect ratio, branded) once."""
    if renditions is None:
        return None
    if not 1 <= len(renditions) <= MAX_RENDITIONS:
        raise ValueError(f"a project has 1 to {MAX_RENDITIONS} renditions (got {len(renditions)})")
    keys = [r.key for r in renditions]
    if len(set(keys)) != len(keys):
        raise ValueError(f"each rendition once: {', '.join(keys)}")
    return renditions


@dataclass(frozen=True)
class Card:
    """What one card says: a title line, then smaller lines (empty ones left out)."""

    title: str
    lines: tuple[str, ...]


def opening_card(name: str, listing: ListingSpec | None) -> Card | None:
    """Address, price and key facts over the first room; none without a listing."""
    if listing is None:
        return None
    facts = " · ".join(
        part
        for part in (
            f"{_number(listing.beds)} bd" if listing.beds is not None else "",
            f"{_number(listing.baths)} ba" if listing.baths is not None else "",
            _area(listing.area),
        )
        if part
    )
    lines = (_price(listing.price), facts, listing.tagline or "")
    return Card(listing.address or name, tuple(line for line in lines if line))


def closing_card(branding: BrandingSpec | None, branded: bool) -> Card | None:
    """The agent and the brokerage, only in a branded rendition with branding to show."""
    if branding is None or not branded:
        return None
    lines = (branding.agent_phone, branding.agent_email, branding.brokerage)
    title = branding.agent_name or branding.brokerage or ""
    rest = tuple(line for line in lines if line and line != title)
    return Card(title, rest) if title or rest else None


def _number(value: float) -> str:
    return f"{value:g}"


def _price(price: int | str | None) -> str:
    if price is None:
        return ""
    return f"${price:,}" if isinstance(price, int) else price


def _area(area: int | str | None) -> str:
    if area is None:
        return ""
    return f"{area:,} sq ft" if isinstance(area, int) else area
