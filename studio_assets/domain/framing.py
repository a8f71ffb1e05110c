"""Fitting photos to the project's frame before image-to-video (Kling has no aspect input).

A photo is framed once, here, and the framed JPEG is what every provider gets, so a Kling clip
and an offline clip show a room the same way. A near match of aspect is cropped to fill the
frame; anything else is shown whole over a blurred, darkened copy of itself (`photo.py`).
A photo far smaller than the frame is enlarged and flagged, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from resources.compile_plan import FRAMES
from resources.engine.photo import (
    Framing,
    frame_photo,
    framing_for,
    open_photo,
    save_photo,
    upright_size,
)


@dataclass(frozen=True)
class FramedPhoto:
    """A photo fitted to a frame: the JPEG, the upright photo's size and how it was framed."""

    path: Path
    photo_px: tuple[int, int]
    framing: Framing
    warning: str | None


def fit_to_frame(source: Path, out: Path, aspect_ratio: str) -> FramedPhoto:
    """Frame `source` (any photo studio accepts) for `aspect_ratio`; an sRGB JPEG at `out`."""
    size = FRAMES[aspect_ratio]
    with Image.open(source) as opened:
        photo_px = upright_size(opened)
    framing = framing_for(photo_px, size)
    save_photo(frame_photo(open_photo(source, at_least=size), size), out)
    return FramedPhoto(out, photo_px, framing, tiny_photo_warning(photo_px, size, framing))


def tiny_photo_warning(
    photo_px: tuple[int, int], frame: tuple[int, int], framing: Framing
) -> str | None:
    """What to tell the user about a photo well below the frame's resolution (else None)."""
    if not framing.tiny:
        return None
    return (
        f"photo is {photo_px[0]}×{photo_px[1]} px, well below the {frame[0]}×{frame[1]} video: "
        f"it is enlarged {framing.scale:.1f}× and will look soft; use a larger photo"
    )
