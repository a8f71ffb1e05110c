"""The image project spec: a listing's photos, enhanced together in one style."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from studio_assets.domain.project_spec import WORKSPACE_ID, ImageRef, Priority
from studio_assets.domain.rooms import ROOM_TYPES
from studio_assets.domain.validation import MAX_PROMPT_CHARS, SpecModel, Style

MAX_PHOTOS = 100


class PhotoSpec(SpecModel):
    image: ImageRef
    room_type: Literal[ROOM_TYPES]  # type: ignore[valid-type]
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    """A full prompt for this photo instead of the room's and style's."""


def _photo_count(photos: Any) -> Any:
    """Before the photos are checked one by one: 500 photos is one problem, not 500."""
    if not isinstance(photos, list):
        return photos
    if not photos:
        raise ValueError("an image project needs at least 1 photo (got 0)")
    if len(photos) > MAX_PHOTOS:
        raise ValueError(f"an image project has at most {MAX_PHOTOS} photos, not {len(photos)}")
    return photos


class AddedPhotos(SpecModel):
    """`{"photos": [{"image", "room_type", "prompt"?}]}`: photos added to an image project (in
    its style; at most MAX_PHOTOS in all)."""

    photos: list[PhotoSpec]

    _count = field_validator("photos", mode="before")(_photo_count)


class ImageProjectSpec(SpecModel):
    """`{"name", "workspace_id", "style", "photos": [{"image", "room_type", "prompt"?}]}`."""

    name: str = Field(min_length=1, max_length=200)
    workspace_id: str = Field(default="ws_default", pattern=WORKSPACE_ID)
    style: Style = "natural"
    priority: Priority = "normal"
    photos: list[PhotoSpec]

    _count = field_validator("photos", mode="before")(_photo_count)
