"""The video project spec (DESIGN.md §3.4), its limits, and the walk-through ordering."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from resources.fonts import undrawable
from studio_assets.domain.narration import FAL, VOICES, NarrationSpec
from studio_assets.domain.narration_plan import planned_speech, resolve_lines, too_long
from studio_assets.domain.publishing import (
    BrandingSpec,
    ListingSpec,
    RenditionSpec,
    check_renditions,
    renditions_for,
)
from studio_assets.domain.rooms import ROOM_TYPES, room_label
from studio_assets.domain.script import Line, given_line_problems
from studio_assets.domain.templates import apply_template
from studio_assets.domain.validation import SpecModel

MAX_CLIPS = 20
WORKSPACE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Priority = Literal["normal", "high"]
"""A paid tier's `high`: its runs are dequeued and its requests given provider places first."""
PRIORITIES = {"normal": 0, "high": 1}


def priority_name(value: int) -> str:
    """The spec's word for a row's `priority` (the status JSON shows it)."""
    return "high" if value >= PRIORITIES["high"] else "normal"


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

# A viewer's walk through a home: arrive, enter, live, cook, sleep, wash, then step outside.
WALK_ORDER = (
    "exterior",
    "landscape",
    "hallway",
    "living-room",
    "tv-room",
    "dining-room",
    "kitchen",
    "pantry",
    "conservatory",
    "library",
    "office",
    "hobby-room",
    "bedroom",
    "childrens-room",
    "walk-in-closet",
    "bathroom",
    "toilet",
    "sauna",
    "gym",
    "laundry-room",
    "utility-room",
    "storage-room",
    "garage",
    "other",
    "pool-area",
    "terrace",
    "garden",
)


class MusicSpec(SpecModel):
    audio_url: str | None = None
    track_id: str | None = None
    volume: int = Field(default=50, ge=0, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> MusicSpec:
        if not self.audio_url and not self.track_id:
            raise ValueError("music needs an audio_url or a track_id")
        return self


def _image_like(value: str) -> str:
    """A local path must name a JPEG, PNG or WebP file; a URL is checked when it is read."""
    if "://" in value and not value.startswith("file://"):
        return value
    if not value.lower().endswith(IMAGE_SUFFIXES):
        raise ValueError(f"{value!r} is not a JPEG, PNG or WebP file")
    return value


ImageRef = Annotated[str, Field(min_length=1), AfterValidator(_image_like)]
"""A photo: a local path (uploaded at submit) or a URL."""


class ClipSpec(SpecModel):
    image: ImageRef
    end_image: ImageRef | None = None
    room_type: Literal[ROOM_TYPES]  # type: ignore[valid-type]
    room_label: str | None = Field(default=None, max_length=80)
    motion_prompt: str | None = Field(default=None, max_length=2000)
    transition: Literal["cut", "seamless"] = "cut"
    duration: Literal[5, 10] = 5

    @property
    def label(self) -> str:
        return self.room_label or room_label(self.room_type)


class ProjectSpec(SpecModel):
    name: str = Field(min_length=1, max_length=200)
    workspace_id: str = Field(default="ws_default", pattern=WORKSPACE_ID)
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    generate_native_audio: bool = False
    music: MusicSpec | None = None
    auto_sequence: bool = False
    template: str | None = None
    """One of `templates.TEMPLATES`: its slots fill what the clips leave out."""
    listing: ListingSpec | None = None
    branding: BrandingSpec | None = None
    renditions: list[RenditionSpec] | None = None
    narration: NarrationSpec | None = None
    """A voice speaks the tour (a script written from the facts, or given) with captions."""
    preview: bool = False
    """Render it all on the offline engine first, free; `studio approve` then buys it."""
    priority: Priority = "normal"
    clips: list[ClipSpec]

    _renditions = field_validator("renditions")(check_renditions)

    def output_renditions(self) -> list[RenditionSpec]:
        """The videos this project compiles to (`publishing.renditions_for`)."""
        return renditions_for(self.aspect_ratio, self.branding, self.renditions)

    @model_validator(mode="before")
    @classmethod
    def _from_template(cls, data: Any) -> Any:
        return apply_template(data) if isinstance(data, dict) else data

    @field_validator("clips")
    @classmethod
    def _clip_count(cls, clips: list[ClipSpec]) -> list[ClipSpec]:
        if not clips:
            raise ValueError("a project needs at least 1 clip (got 0)")
        if len(clips) > MAX_CLIPS:
            raise ValueError(f"a project has at most {MAX_CLIPS} clips (got {len(clips)})")
        return clips

    @model_validator(mode="after")
    def _drawable_title(self) -> ProjectSpec:
        """Without an address the name is the listing card's title: the font must draw it."""
        if self.listing is not None and not self.listing.address and (c := undrawable(self.name)):
            raise ValueError(
                f"name holds {c!r}, which the cards' font cannot draw (the name is the listing "
                "card's title when the listing has no address): give listing.address"
            )
        return self

    @model_validator(mode="after")
    def _speakable_script(self) -> ProjectSpec:
        if self.narration is None:
            return self
        unbranded = any(not r.branded for r in self.output_renditions())
        clips = self.ordered_clips()
        rooms = [c.label for c in clips]
        problems = given_line_problems(self.narration, rooms, self.branding, unbranded)
        if not problems:
            problems = too_long(planned_speech(self.narration, self.script(), clips), clips)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def script(self) -> list[Line]:
        """The narration's lines (none without narration), written or as given."""
        if self.narration is None:
            return []
        return resolve_lines(
            self.narration, self.name, self.ordered_clips(), self.listing, self.branding
        )

    def spoken_lines(self) -> list[Line]:
        """The lines some rendition speaks: the outro only when a rendition is branded."""
        branded = any(r.branded for r in self.output_renditions())
        return [line for line in self.script() if branded or not line.branded_only]

    def paid_lines(self) -> list[str]:
        """The texts a paid voice is bought for, each once (none for the offline voices)."""
        if self.narration is None or VOICES[self.narration.voice].engine != FAL:
            return []
        return list(dict.fromkeys(line.text for line in self.spoken_lines()))

    def rewrites(self) -> bool:
        """Whether the paid script writer rewrites the lines (one request, priced)."""
        return self.narration is not None and self.narration.writer == "llm"

    def ordered_clips(self) -> list[ClipSpec]:
        """The clips in the order they play: as given, or as a walk-through."""
        if not self.auto_sequence:
            return list(self.clips)
        return sorted(self.clips, key=lambda c: WALK_ORDER.index(c.room_type))


def spec_with_paths_from(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`data` with its relative file paths made absolute against `folder` (the spec file's):
    clip images and end images, music, and an enhance/inpaint spec's image and mask.
    URIs, absolute paths and earlier image ids (`img_…`) are left as they are."""

    def resolved(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip() or "://" in value:
            return value
        if value.startswith("img_") and "/" not in value and "." not in value:
            return value
        path = Path(value).expanduser()
        return value if path.is_absolute() else str(folder / path)

    out = dict(data)
    for key in ("image", "mask"):
        if key in out:
            out[key] = resolved(out[key])
    music = out.get("music")
    if isinstance(music, dict) and "audio_url" in music:
        out["music"] = {**music, "audio_url": resolved(music["audio_url"])}
    branding = out.get("branding")
    if isinstance(branding, dict) and "logo" in branding:
        out["branding"] = {**branding, "logo": resolved(branding["logo"])}
    for list_key in ("clips", "photos"):
        if isinstance(out.get(list_key), list):
            out[list_key] = [
                {**item, **{k: resolved(item[k]) for k in ("image", "end_image") if k in item}}
                if isinstance(item, dict)
                else item
                for item in out[list_key]
            ]
    return out
