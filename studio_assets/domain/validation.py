"""Input validation: what an image, a mask and a request must be before anything is bought."""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from PIL import Image, UnidentifiedImageError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from resources.engine.photo import upright_size
from resources.errors import InputRejected
from studio_assets.domain.rooms import ROOM_TYPES, STYLES

MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_SIDE_PX = 8192
MAX_PROMPT_CHARS = 2000
DEFAULT_WORKSPACE = "ws_default"
MAX_PROBLEMS = 8  # a spec's problems listed in one message; the rest are counted
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

# Pillow refuses (DecompressionBombError) only far above our limit; the side check comes first.
Image.MAX_IMAGE_PIXELS = MAX_SIDE_PX * MAX_SIDE_PX * 2


@dataclass(frozen=True)
class ImageFacts:
    """A decoded image; `width` × `height` is the upright picture (EXIF orientation applied),
    the size every later step sees and a mask is drawn on."""

    format: str
    width: int
    height: int
    size_bytes: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def inspect_image(path: Path, what: str = "image") -> ImageFacts:
    """Decode `path` fully; refuse anything but a sane JPEG, PNG or WebP with a specific reason."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise InputRejected(f"{what} is {size / 2**20:.1f} MB; the limit is 25 MB")
    if size == 0:
        raise InputRejected(f"{what} is an empty file")
    try:
        with Image.open(path) as img:
            fmt, (width, height) = img.format or "", img.size
            if fmt not in FORMATS:
                kind = fmt or "an unknown format"
                raise InputRejected(f"{what} is {kind}; use JPEG, PNG or WebP")
            if max(width, height) > MAX_SIDE_PX:
                raise InputRejected(
                    f"{what} is {width}×{height} px; the limit is {MAX_SIDE_PX} px a side"
                )
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            width, height = upright_size(img)
    except UnidentifiedImageError:
        if _has_image_signature(path):
            raise InputRejected(f"{what} is corrupt: its image data cannot be decoded") from None
        raise InputRejected(f"{what} is not a JPEG, PNG or WebP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputRejected(
            f"{what} claims far more pixels than it could hold (a decompression bomb); the "
            f"limit is {MAX_SIDE_PX} px a side"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputRejected(f"{what} is corrupt: {exc}") from None
    return ImageFacts(fmt, width, height, size)


def _has_image_signature(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return head.startswith((b"\xff\xd8\xff", b"\x89PNG")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def check_mask(mask: ImageFacts, image: ImageFacts) -> None:
    """A mask must have the upright photo's shape; a scaled copy (same aspect) is resized later."""
    same_aspect = abs(mask.width * image.height - mask.height * image.width) <= 0.01 * (
        image.width * image.height
    )
    if not same_aspect:
        raise InputRejected(
            f"mask is {mask.width}×{mask.height} px but the image is "
            f"{image.width}×{image.height} px as shown (upright); the mask must match the "
            "picture as shown"
        )


S = TypeVar("S", bound=BaseModel)


class SpecModel(BaseModel):
    """What every spec shares: no unknown fields, trimmed strings, no NUL characters (Postgres
    cannot store them, and no name or prompt needs one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character")
        return value


def _known_style(value: str) -> str:
    if value not in STYLES:
        raise ValueError(f"unknown style {value!r}; choose one of {', '.join(STYLES)}")
    return value


Style = Annotated[str, AfterValidator(_known_style)]
"""One of `rooms.STYLES`."""


class EnhanceSpec(SpecModel):
    """An enhancement request as the app (or `studio image enhance`) submits it."""

    workspace_id: str = Field(
        default=DEFAULT_WORKSPACE, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    )
    image: str = Field(min_length=1)
    room_type: Literal[ROOM_TYPES] = "other"  # type: ignore[valid-type]
    style: Style = "natural"
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)


class InpaintSpec(SpecModel):
    """An inpainting request: white in the mask = the area to change."""

    workspace_id: str = Field(
        default=DEFAULT_WORKSPACE, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    )
    image: str = Field(min_length=1)
    mask: str = Field(min_length=1)
    mode: Literal["remove", "add"]
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    parent_id: str | None = None

    def model_post_init(self, _context: object) -> None:
        if self.mode == "add" and not self.prompt:
            raise ValueError("mode 'add' needs a prompt describing what to add")


def parse_spec(
    model: type[S],
    data: dict[str, object],
    where: Callable[[tuple[int | str, ...]], str] | None = None,
) -> S:
    """Validate `data`; turn pydantic's errors into one specific message per problem.

    `where` names a field from its location (`("clips", 0, "room_type")`); by default the
    location itself (`clips.0.room_type`), as a spec file spells it.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            place = where(loc) if where else spec_place(loc)
            message = _choice_message(err) or err["msg"].removeprefix("Value error, ")
            problems.append(f"{place}: {message}" if place else message)
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], f"and {more} more problem{'s' * (more > 1)}"]
        raise InputRejected("; ".join(problems)) from None


def spec_place(loc: tuple[int | str, ...]) -> str:
    """A field's place as a person counts: `clip 2 room_type` for `("clips", 1, "room_type")`."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts and parts[-1].endswith("s"):
            parts[-1] = f"{parts[-1][:-1]} {part + 1}"
        else:
            parts.append(str(part))
    return " ".join(parts)


def _choice_message(err: Any) -> str | None:
    """A value outside a long list of choices: the closest choice, not all of them."""
    if err.get("type") != "literal_error":
        return None
    choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
    if len(choices) <= 8:
        return None
    value = str(err.get("input"))
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{value!r} is not one of the {len(choices)} choices{hint} (`studio rooms` lists them)"
