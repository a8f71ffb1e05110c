"""Photos as every step reads them: upright, 8-bit sRGB RGB, and framed without losing the room.

A photo is normalised once, when it is first read (`normalise_photo`): its EXIF orientation is
applied (so masks are in the upright picture's coordinates), 16-bit, greyscale, palette, CMYK
and transparent pictures become 8-bit RGB (transparency over white), and an embedded colour
profile is converted to sRGB. The result is a high-quality JPEG that later steps and the
provider read instead of the original. `frame_photo` fits a photo to a video frame: a near
match is cropped to fill; anything else is fitted whole over a blurred, darkened copy of itself.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageCms, ImageEnhance, ImageFilter, ImageOps

JPEG_QUALITY = 92
MAX_PHOTO_BYTES = 25 * 1024 * 1024  # what the next step accepts as input (validation.py)
CROP_TOLERANCE = 0.10  # aspects within 10 % of the frame's are cropped: at most ~9 % is lost
TINY_FRACTION = 0.5  # a shorter side under half the frame's is upscaled more than 2x: flagged
FILL_DARKEN = 0.55
_ORIENTATION = 0x0112
_TRANSPOSED = {5, 6, 7, 8}  # orientations that swap width and height
_SRGB = ImageCms.createProfile("sRGB")
_HIGH_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def orientation_of(img: Image.Image) -> int:
    """The EXIF orientation (1 = as stored)."""
    value = img.getexif().get(_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_size(img: Image.Image) -> tuple[int, int]:
    """The size of the picture as it is meant to be seen (EXIF orientation applied)."""
    width, height = img.size
    return (height, width) if orientation_of(img) in _TRANSPOSED else (width, height)


def to_srgb(img: Image.Image) -> Image.Image:
    """`img` upright as 8-bit sRGB RGB: depth, mode, transparency and colour profile handled."""
    upright = ImageOps.exif_transpose(img)
    profile = upright.info.get("icc_profile")
    if upright.mode in _HIGH_BIT_MODES:
        # Pillow's own I;16 → L conversion clips at 255 (a white picture): scale the range.
        upright = upright.convert("I").point(lambda v: v / 257, "L")
    if upright.mode == "P" or "transparency" in upright.info:  # a palette, a colour key
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    if upright.mode in ("1", "F"):
        upright = upright.convert("L")
    if "A" in upright.mode or upright.mode in ("La", "RGBa"):
        upright = _over_white(upright)
    if profile:
        converted = _profile_to_srgb(upright, profile)
        if converted is not None:
            return converted
    return upright if upright.mode == "RGB" else upright.convert("RGB")


def _over_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba)
    # Keep the colour space the profile describes: grey stays grey for a grey profile.
    return flat.convert("L" if img.mode in ("LA", "La") else "RGB")


def _profile_to_srgb(img: Image.Image, profile: bytes) -> Image.Image | None:
    """`img` converted from its embedded profile to sRGB; None when the profile is sRGB already
    or unusable (then the pixels are taken as sRGB, which is what viewers do)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower().replace(" ", ""):
            return None
        if img.mode not in ("L", "RGB", "CMYK", "LAB"):
            img = img.convert("RGB")
        return ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def open_photo(path: Path, at_least: tuple[int, int] | None = None) -> Image.Image:
    """Decode `path` as an upright 8-bit sRGB RGB picture.

    With `at_least`, a JPEG may decode at 1/2..1/8 size while keeping enough pixels to cover
    that size whatever its aspect and rotation (a square request).
    """
    with Image.open(path) as opened:
        if at_least is not None:
            opened.draft(None, (max(at_least), max(at_least)))
        return to_srgb(opened)


def is_normal(img: Image.Image) -> bool:
    """Whether `img` (as opened) is already what `normalise_photo` would make of it."""
    profile = img.info.get("icc_profile")
    if img.format != "JPEG" or img.mode != "RGB" or orientation_of(img) != 1:
        return False
    if not profile:
        return True
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return True  # an unreadable profile is ignored when decoding too
    return "srgb" in (description or "").lower().replace(" ", "")


def normalise_photo(source: Path, out: Path) -> Path:
    """Write `source` to `out` as an upright sRGB JPEG (a plain copy when it is one already)."""
    with Image.open(source) as opened:
        if is_normal(opened):
            return Path(shutil.copyfile(source, out))
        photo = to_srgb(opened)
    return save_photo(photo, out)


def save_photo(img: Image.Image, out: Path, max_bytes: int = MAX_PHOTO_BYTES) -> Path:
    """Save `img` as a high-quality JPEG the next step accepts (lower quality only if too big)."""
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    for quality in (JPEG_QUALITY, 85, 75, 60):
        rgb.save(out, "JPEG", quality=quality, optimize=True)
        if out.stat().st_size <= max_bytes:
            break
    return out


def normalise_mask(source: Path, size: tuple[int, int], out: Path) -> Path:
    """The mask upright, resized to the photo's upright `size`, black and white, as PNG."""
    with Image.open(source) as opened:
        grey = ImageOps.exif_transpose(opened).convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    grey.point(lambda v: 255 if v > 127 else 0).save(out, "PNG", optimize=True)
    return out


@dataclass(frozen=True)
class Framing:
    """How a photo of `photo` px goes into a frame: `crop` to fill, or `fill` (the whole photo
    over a blurred copy); `visible` is the share of the photo in the frame."""

    treatment: Literal["crop", "fill"]
    visible: float
    scale: float  # how much the photo is enlarged (>1) or reduced
    tiny: bool


def framing_for(photo: tuple[int, int], frame: tuple[int, int]) -> Framing:
    """The framing of a `photo`-sized picture in a `frame`-sized video (both width, height)."""
    (w, h), (fw, fh) = photo, frame
    mismatch = max(w * fh, fw * h) / min(w * fh, fw * h)
    tiny = min(w, h) < TINY_FRACTION * min(fw, fh)
    if mismatch <= 1 + CROP_TOLERANCE:
        return Framing("crop", 1 / mismatch, max(fw / w, fh / h), tiny)
    return Framing("fill", 1.0, min(fw / w, fh / h), tiny)


def frame_photo(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` fitted to `size` as `framing_for` decides: never a crop that loses most of it."""
    framing = framing_for(img.size, size)
    if framing.treatment == "crop":
        return ImageOps.fit(img, size, Image.Resampling.LANCZOS)
    # The fill is made small and scaled up: blurring a full-size copy costs ~20x more and
    # looks the same.
    small = (max(2, size[0] // 8), max(2, size[1] // 8))
    backdrop = ImageOps.fit(img, small, Image.Resampling.BILINEAR)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(max(small) / 40))
    backdrop = ImageEnhance.Brightness(backdrop).enhance(FILL_DARKEN)
    canvas = backdrop.resize(size, Image.Resampling.BICUBIC)
    photo = ImageOps.contain(img, size, Image.Resampling.LANCZOS)
    canvas.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    return canvas
