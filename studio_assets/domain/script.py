"""The tour's script: one spoken line per room, an intro over the listing card and an outro over
the agent card — written from the spec's facts (`"script": "auto"`) or given line by line.

The writer states only what the spec holds (address or name, price, beds, baths, area,
tagline, each clip's room label, the agent's name, phone and brokerage) and varies its
phrasing from room to room. For each line it has phrasings from the fullest to the shortest
and keeps the fullest whose estimated length fits its clip (`speech_timing.fits`); the speech
actually made is measured and fitted again before the mix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from studio_assets.domain.narration import NarrationSpec, line_problem, speakable
from studio_assets.domain.publishing import BrandingSpec, ListingSpec

Role = Literal["intro", "room", "outro"]


@dataclass(frozen=True)
class Line:
    """One spoken line: what it says and the clip (by its place in the tour) it plays over."""

    role: Role
    clip: int
    text: str

    @property
    def branded_only(self) -> bool:
        """The outro names the agent: it is left out of unbranded renditions."""
        return self.role == "outro"


_ROOM_OPENERS = (
    "Step inside the {room}.",
    "Next, the {room}.",
    "Here is the {room}.",
    "Now the {room}.",
    "Take in the {room}.",
    "And then the {room}.",
)


def script_lines(
    narration: NarrationSpec,
    name: str,
    rooms: Sequence[str],
    listing: ListingSpec | None,
    branding: BrandingSpec | None,
    fits: Callable[[Role, int, list[str]], int],
) -> list[Line]:
    """The lines of the tour over clips `rooms` (their labels, in play order).

    `fits(role, clip, candidates)` returns the index of the candidate to use (the fullest that fits
    the clip). Given lines are taken as they are (checked by `given_line_problems`)."""
    intro_options, outro_options = _intro(name, listing), _outro(branding)
    if narration.intro is not None:  # "" for none
        intro_options = [narration.intro] if narration.intro.strip() else []
    if narration.outro is not None:
        outro_options = [narration.outro] if narration.outro.strip() else []
    last = len(rooms) - 1
    if isinstance(narration.script, list):
        room_lines = list(narration.script)
    else:
        room_lines = [
            _pick(fits, "room", n, _room(n, room, last, listing, first=bool(intro_options)))
            for n, room in enumerate(rooms)
        ]
    lines = []
    if intro_options:
        lines.append(Line("intro", 0, _pick(fits, "intro", 0, intro_options)))
    lines += [Line("room", n, text) for n, text in enumerate(room_lines)]
    if outro_options:
        lines.append(Line("outro", last, _pick(fits, "outro", last, outro_options)))
    return lines


def given_line_problems(
    narration: NarrationSpec, rooms: Sequence[str], branding: BrandingSpec | None, unbranded: bool
) -> list[str]:
    """What is wrong with the lines the spec gives, each naming its line."""
    problems = []
    given: list[tuple[str, str]] = []
    if isinstance(narration.script, list):
        if len(narration.script) != len(rooms):
            problems.append(
                f"narration.script has {len(narration.script)} lines for {len(rooms)} clips "
                "(one line per clip, in order)"
            )
        given += [
            (f"narration line {n + 1} ({room})", text)
            for n, (room, text) in enumerate(zip(rooms, narration.script, strict=False))
        ]
    if narration.intro:
        given.append(("narration intro", narration.intro))
    if narration.outro:
        given.append(("narration outro", narration.outro))
    for where, text in given:
        if problem := line_problem(text):
            problems.append(f"{where} {problem}")
        elif unbranded and where != "narration outro" and (word := agent_word(text, branding)):
            problems.append(
                f"{where} names {word!r}, which the unbranded cut may not say (MLS rules); "
                "say it in the outro, which only branded renditions speak"
            )
    return problems


def agent_word(text: str, branding: BrandingSpec | None) -> str | None:
    """The agent's name (whole, or a part of it written as a name), phone (in any spelling of
    its digits), email or brokerage if `text` says it; else None."""
    if branding is None:
        return None
    folded = text.casefold()
    names = (branding.agent_name, branding.agent_phone, branding.agent_email, branding.brokerage)
    for word in names:
        if word and word.casefold() in folded:
            return word
    named = set(re.findall(r"\b[A-Z]\w+", text))  # a name as a name is spelt: capitalised
    for part in re.findall(r"\w+", branding.agent_name or ""):
        if len(part) > 2 and part[:1].upper() + part[1:] in named:
            return part
    phone = re.sub(r"\D", "", branding.agent_phone or "")
    if len(phone) >= 7 and phone[-7:] in re.sub(r"\D", "", text):
        return branding.agent_phone
    return None


def _pick(
    fits: Callable[[Role, int, list[str]], int], role: Role, clip: int, options: list[str]
) -> str:
    return options[fits(role, clip, options)] if len(options) > 1 else options[0]


def _intro(name: str, listing: ListingSpec | None) -> list[str]:
    """From the fullest to the shortest; the bed count stays in all but the last."""
    place = speakable((listing.address if listing else None) or name) or "this home"
    if listing is None:
        return [f"Welcome to {place}."]
    rooms = _rooms_phrase(listing)
    price = _price(listing.price)
    options = []
    if rooms and price:
        options.append(f"Welcome to {place}: {rooms}, offered at {price}.")
    if rooms:
        options.append(f"Welcome to {place}, with {rooms}.")
    if price:
        options.append(f"Welcome to {place}, offered at {price}.")
    options.append(f"Welcome to {place}.")
    return options


def _room(n: int, room: str, last: int, listing: ListingSpec | None, *, first: bool) -> list[str]:
    label = speakable(room) or "room"
    if n == 0 and first:
        return [f"We begin with the {label}.", f"First, the {label}."]
    options = []
    if listing is not None:
        options += _room_with_facts(label, listing, final=n == last and n > 0)
    opener = _ROOM_OPENERS[n % len(_ROOM_OPENERS)]
    if n == last and n > 0:
        opener = "Finally, the {room}."
    return [*options, opener.format(room=label), f"The {label}."]


def _room_with_facts(label: str, listing: ListingSpec, *, final: bool) -> list[str]:
    folded = label.casefold()
    if "bedroom" in folded and listing.beds and listing.beds >= 2:
        return [f"The {label}, one of {_count(listing.beds)} bedrooms."]
    if "bath" in folded and listing.baths and listing.baths >= 2:
        return [f"The {label}, one of {_count(listing.baths)} baths."]
    if "living" in folded and (area := _area(listing.area)):
        return [f"The {label}, at the heart of {area}."]
    if final and (tagline := speakable(listing.tagline or "")):
        return [f"Finally, the {label}. {tagline.rstrip('.')}."]
    return []


def _outro(branding: BrandingSpec | None) -> list[str]:
    if branding is None:
        return []
    agent = speakable(branding.agent_name or "")
    brokerage = speakable(branding.brokerage or "")
    phone = speakable(branding.agent_phone or "")
    who = agent or brokerage
    if not who:
        return []
    of = f" of {brokerage}" if agent and brokerage else ""
    options = []
    if phone:
        options.append(f"To arrange a viewing, call {who}{of} at {phone}.")
        options.append(f"Call {who} at {phone}.")
    options.append(f"Contact {who}{of} to arrange a viewing.")
    options.append(f"Contact {who}.")
    return options


def _rooms_phrase(listing: ListingSpec) -> str:
    parts = []
    if listing.beds:
        parts.append(f"{_count(listing.beds)} bedroom{'s' if listing.beds != 1 else ''}")
    if listing.baths:
        parts.append(f"{_count(listing.baths)} bath{'s' if listing.baths != 1 else ''}")
    return " and ".join(parts)


def _count(value: float) -> str:
    """`4` → "4", `2.5` → "2 and a half" (as a person says it)."""
    whole, rest = int(value), value - int(value)
    if abs(rest - 0.5) < 1e-9:
        return f"{whole} and a half" if whole else "a half"
    return f"{value:g}"


def _price(price: int | str | None) -> str:
    if price is None:
        return ""
    return f"${price:,}" if isinstance(price, int) else speakable(price)


def _area(area: int | str | None) -> str:
    if area is None:
        return ""
    return f"{area:,} square feet" if isinstance(area, int) else speakable(area)
