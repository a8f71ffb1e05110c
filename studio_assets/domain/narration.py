"""The project spec's `narration`: who speaks, in which language, what they say, and the checks
every spoken line passes before anything is made.

A line is spoken by a voice and shown as a caption, so the same text goes to the synthesiser
and to the captions file: it must be plain words. Markup (SSML, HTML, subtitle override
blocks), control characters and emoji are refused naming the line; quotes, colons, percent
signs, backslashes and brackets are plain text here (FFmpeg reads every line from a file, never
from a filter string). Letters outside the language's script cannot be spoken by its voices and
are refused too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from resources.provider.fal_models import KOKORO_VOICES
from resources.provider.pricing import KOKORO_TTS, PRICES
from studio_assets.domain.validation import SpecModel

MAX_LINE_CHARS = 240
MAX_SCRIPT_CHARS = 4000
MIN_SPEED, MAX_SPEED = 0.7, 1.3


@dataclass(frozen=True)
class Voice:
    """A voice one of the engines speaks with (`studio voices` lists them)."""

    id: str
    engine: str
    language: str
    description: str
    cents_per_1000_chars: float = 0.0


OFFLINE, FAL = "offline", "fal"


def _kokoro(voice: str) -> Voice:
    who = "female" if voice.startswith("af_") else "male"
    return Voice(
        voice,
        FAL,
        "en-US",
        f"{who}, American English — Kokoro on Fal.ai ({KOKORO_TTS}); a preview speaks with joe",
        PRICES[KOKORO_TTS].per_1000_chars_cents,
    )


VOICES: dict[str, Voice] = {
    v.id: v
    for v in (
        Voice(
            "joe",
            OFFLINE,
            "en-US",
            "male, American English — Piper neural voice (en_US-joe-medium), free, offline",
        ),
        *(_kokoro(voice) for voice in KOKORO_VOICES),
    )
}
"""The voices a project may name. The offline engine's are free and run on this machine; fal's
are paid per character, one request per line, and the offline engine (`STUDIO_PROVIDER=local`,
a free preview) speaks their lines with joe."""
DEFAULT_VOICE = "joe"
LANGUAGES = sorted({v.language for v in VOICES.values()})

_MARKUP = re.compile(r"<[^>]*>|\{[^}]*\}?|\}|&[a-zA-Z#0-9]+;")
_LATIN_SCRIPTS = ("LATIN",)


class CaptionsSpec(SpecModel):
    sidecar: StrictBool = True
    """A WebVTT file beside every rendition (`output.renditions[].captions_url`)."""
    burn_in: StrictBool | Literal["auto"] = "auto"
    """Captions drawn into the picture; `auto`: in vertical (9:16) renditions only."""

    @field_validator("burn_in", mode="before")
    @classmethod
    def _burn_in(cls, value: object) -> object:
        if value is True or value is False or value == "auto":
            return value
        raise ValueError(f'is true, false or "auto", not {value!r}')

    def burns_into(self, aspect_ratio: str) -> bool:
        return aspect_ratio == "9:16" if self.burn_in == "auto" else bool(self.burn_in)


class NarrationSpec(SpecModel):
    voice: str = DEFAULT_VOICE
    language: str = "en-US"
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED)
    captions: CaptionsSpec = CaptionsSpec()
    script: Literal["auto"] | list[str] = "auto"
    """`auto`: written from the listing's facts and the rooms; or one line per clip, in order."""
    intro: str | None = None
    """Spoken over the listing card (replaces the written intro; "" for none)."""
    outro: str | None = None
    """Spoken over the agent card, in branded renditions only (MLS rules; "" for none)."""
    writer: Literal["facts", "llm"] = "facts"
    """Who writes an `auto` script: `facts` (free, from the spec's facts) or `llm`, fal's
    any-llm rewriting those lines once, paid, its answer checked (`domain.script_writer`)."""

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, voice: str) -> str:
        if voice not in VOICES:
            raise ValueError(f"unknown voice {voice!r}; the voices are: {', '.join(VOICES)}")
        return voice

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError(
                f"unknown language {language!r}; the languages are: {', '.join(LANGUAGES)}"
            )
        return language

    @model_validator(mode="after")
    def _writer_writes_auto(self) -> NarrationSpec:
        if self.writer == "llm" and self.script != "auto":
            raise ValueError(
                'narration.writer "llm" rewrites the written script ("script": "auto"); '
                "given lines are spoken as they are"
            )
        return self

    def written(self, role: str) -> bool:
        """Whether a line of `role` is written (by the writers), not given by the spec."""
        given = {"intro": self.intro, "outro": self.outro}.get(role)
        return self.script == "auto" if role == "room" else given is None

    @model_validator(mode="after")
    def _voice_speaks_language(self) -> NarrationSpec:
        voice = VOICES[self.voice]
        if voice.language != self.language:
            raise ValueError(f"voice {self.voice!r} speaks {voice.language}, not {self.language}")
        return self


def line_problem(text: str) -> str | None:
    """Why `text` cannot be spoken and captioned as it is (None: it can)."""
    if not text.strip():
        return "is empty"
    if len(text) > MAX_LINE_CHARS:
        return f"is {len(text)} characters; a line has at most {MAX_LINE_CHARS}"
    for char in text:
        if problem := _char_problem(char):
            return problem
    if found := _MARKUP.search(text):
        return f"holds markup ({found.group(0)}); write plain words"
    if not any(char.isalnum() for char in text):
        return f"has no words to speak ({text.strip()})"
    return None


def _char_problem(char: str) -> str | None:
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"holds a control or invisible character (U+{ord(char):04X})"
    if category == "So" or ord(char) > 0xFFFF:
        return f"holds an emoji or symbol that cannot be spoken ({char})"
    if category.startswith("L") and not _is_latin(char):
        return f"holds letters the en-US voices cannot speak ({char})"
    return None


def _is_latin(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(_LATIN_SCRIPTS)


def speakable(text: str) -> str:
    """`text` (a fact from the spec) with whatever `line_problem` refuses left out, so the
    written script never fails its own checks."""
    kept = "".join(c for c in text if _char_problem(c) is None)
    kept = _MARKUP.sub("", kept)
    return re.sub(r"\s+", " ", kept).strip()
