"""The paid script writer (`narration.writer: "llm"`): what it is asked and how its answer is
checked before a voice speaks it.

It is given only the facts the spec states and the written script, line by line, with the
characters each line may have; it answers one line for each. A line it rewrites is kept only
when it passes every check the written script passes and more: plain words a voice can speak
(`line_problem`), within its characters, no number (in digits or words) the facts do not hold,
and no agent, phone, email or brokerage outside the outro (the unbranded cut speaks every other
line). A line that fails keeps the written one, and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from studio_assets.domain.narration import line_problem
from studio_assets.domain.publishing import BrandingSpec, ListingSpec
from studio_assets.domain.script import Line, agent_word

INSTRUCTIONS = """You write the narration of a real-estate video tour. You are given the
listing's facts and a draft script as JSON: one line per entry, each with its role (intro over
the listing card, one per room, outro over the agent card), its room and the most characters it
may have. Rewrite each line so the tour sounds warm, varied and natural when read aloud.
Rules: state only the facts given; add no number, measure, feature, material or view that the
facts do not state; name the agent, phone, email or brokerage only in the outro; plain words
only (no markup, emoji or symbols); never exceed a line's max_characters. Answer with JSON only:
{"lines": ["...", "..."]}, one string per draft line, in the same order."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD_NUMBERS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "dozen": 12, "half": 0.5,
}  # fmt: skip
"""Numbers in words the checks read ("one" is left out: "one of the bedrooms" claims nothing)."""
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}


@dataclass(frozen=True)
class Facts:
    """What the writer may say: the spec's own facts."""

    name: str
    rooms: tuple[str, ...]
    listing: ListingSpec | None
    branding: BrandingSpec | None

    def as_json(self) -> dict[str, Any]:
        listing = self.listing.model_dump(exclude_none=True) if self.listing else {}
        branding = self.branding.model_dump(exclude_none=True) if self.branding else {}
        who = {k: v for k, v in branding.items() if k in _AGENT_FACTS}
        return {"name": self.name, "rooms": list(self.rooms), **listing, **who}

    def numbers(self) -> set[float]:
        """Every number the facts hold, and the parts of "2 and a half" the script says."""
        found = _numbers_in(json.dumps(self.as_json()))
        for value in (self.listing.beds, self.listing.baths) if self.listing else ():
            if value:
                found |= {float(int(value)), value - int(value)}
        return found


_AGENT_FACTS = ("agent_name", "agent_phone", "agent_email", "brokerage")


@dataclass(frozen=True)
class Rewrite:
    lines: list[Line]
    warnings: list[str]


def writer_prompt(facts: Facts, lines: Sequence[Line], budgets: Sequence[int]) -> str:
    """The writer's prompt: the facts, and each written line with its room and its limit."""
    draft = [
        {
            "role": line.role,
            "room": facts.rooms[line.clip] if line.clip < len(facts.rooms) else None,
            "text": line.text,
            "max_characters": budget,
        }
        for line, budget in zip(lines, budgets, strict=True)
    ]
    return json.dumps({"facts": facts.as_json(), "draft": draft}, ensure_ascii=False, indent=1)


def checked_rewrite(
    answer: str, facts: Facts, lines: Sequence[Line], budgets: Sequence[int]
) -> Rewrite:
    """The lines to speak: each rewritten one that passes the checks, else the written one."""
    texts = _answer_lines(answer)
    if isinstance(texts, str):
        return Rewrite(list(lines), [f"the script writer's answer is not used: {texts}"])
    if len(texts) != len(lines):
        why = f"it has {len(texts)} lines for {len(lines)}"
        return Rewrite(list(lines), [f"the script writer's answer is not used: {why}"])
    kept, warnings = [], []
    allowed = facts.numbers()
    for n, (line, text, budget) in enumerate(zip(lines, texts, budgets, strict=True)):
        problem = _problem(text, line, budget, allowed, facts.branding)
        if problem:
            warnings.append(f"narration line {n + 1} ({line.role}): the rewrite {problem}")
            kept.append(line)
        else:
            kept.append(replace(line, text=text.strip()))
    if len({line.text for line in kept}) != len({line.text for line in lines}):
        return Rewrite(list(lines), ["the script writer's answer is not used: it repeats a line"])
    return Rewrite(kept, warnings)


def _answer_lines(answer: str) -> list[Any] | str:
    """The answer's lines, or why it has none (models sometimes wrap JSON in a code fence)."""
    text = answer.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return "it is not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        return 'it has no "lines" list'
    return list(data["lines"])


def _problem(
    text: Any, line: Line, budget: int, allowed: set[float], branding: BrandingSpec | None
) -> str | None:
    if not isinstance(text, str):
        return "is not text"
    if problem := line_problem(text):
        return problem
    if len(text.strip()) > budget:
        return f"is {len(text.strip())} characters; its clip has room for {budget}"
    if invented := sorted(_numbers_in(text) - allowed):
        return f"states a number the facts do not hold ({invented[0]:g})"
    for scale_word, scale in _SCALES.items():
        said = re.search(rf"\b{scale_word}\b", text.casefold())
        if said and not any(n >= scale for n in allowed):
            return f"states a number the facts do not hold ({scale_word})"
    if line.role != "outro" and (name := agent_word(text, branding)):
        return f"names {name!r} outside the outro (the unbranded cut speaks it)"
    return None


def _numbers_in(text: str) -> set[float]:
    found = {float(n.replace(",", "")) for n in _NUMBER.findall(text) if _is_number(n)}
    words = re.findall(r"[a-z]+", text.casefold())
    return found | {float(_WORD_NUMBERS[w]) for w in words if w in _WORD_NUMBERS}


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
