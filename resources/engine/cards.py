"""Cards and overlays drawn with Pillow, as full-frame PNGs FFmpeg composes over the video.

The font is Noto Sans from a wheel (`resources.fonts`: accents, ß, €): nothing is looked up
on the system or downloaded at run time. Sizes follow the frame's shorter side, so a card
reads the same at 1080p and in a 9:16 phone cut; a line too long for the frame is set smaller
until it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from resources import fonts
from resources.engine.photo import open_photo

TITLE = 0.075  # of the frame's shorter side
LINE = 0.045
MIN_TEXT_PX = 28  # below this a line is unreadable on a phone: wrap before shrinking to it
MARGIN = 0.06
BAND_ALPHA = 220  # the opening card's band over the first room: brand colour, nearly opaque
LOGO_SHARE = 0.16  # of the frame's width (at most 12 % of its height)

Size = tuple[int, int]
Colour = tuple[int, int, int]


def draw_banner(title: str, lines: Sequence[str], size: Size, colour: str, out: Path) -> Path:
    """The opening card: a band in the brand colour across the lower third, title and lines
    on it; the rest of the frame transparent (the first room shows through)."""
    width, height = size
    margin = round(MARGIN * min(size))
    laid = _layout(title, lines, min(size), width - 2 * margin)
    text_h = sum(_line_height(font) for _, font in laid)
    band_top = height - margin - text_h - 2 * margin
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, band_top, width, height - margin), fill=(*_rgb(colour), BAND_ALPHA))
    _write(draw, laid, margin, band_top + margin, _ink(colour), centred=False)
    card.save(out)
    return out


def draw_closing(
    title: str, lines: Sequence[str], size: Size, colour: str, logo: Path | None, out: Path
) -> Path:
    """The closing card: the brand colour over the whole frame, the logo above the agent, the
    whole block centred."""
    width, height = size
    margin = round(MARGIN * min(size))
    card = Image.new("RGBA", size, (*_rgb(colour), 255))
    laid = _layout(title, lines, min(size), width - 2 * margin)
    mark = _fitted_logo(logo, (round(width * 0.4), round(height * 0.2))) if logo else None
    block = sum(_line_height(font) for _, font in laid) + (mark.height + margin if mark else 0)
    top = max(margin, (height - block) // 2)
    if mark is not None:
        card.alpha_composite(mark, ((width - mark.width) // 2, top))
        top += mark.height + margin
    _write(ImageDraw.Draw(card), laid, width // 2, top, _ink(colour), centred=True)
    card.save(out)
    return out


def draw_logo(logo: Path, size: Size, out: Path) -> Path:
    """The logo in the bottom-right corner of an otherwise transparent frame."""
    width, height = size
    margin = round(MARGIN * min(size) / 2)
    mark = _fitted_logo(logo, (round(width * LOGO_SHARE), round(height * 0.12)))
    frame = Image.new("RGBA", size, (0, 0, 0, 0))
    frame.alpha_composite(mark, (width - mark.width - margin, height - mark.height - margin))
    frame.save(out)
    return out


def _fitted_logo(logo: Path, box: Size) -> Image.Image:
    with Image.open(logo) as opened:
        transparent = opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info
        mark = ImageOps.exif_transpose(opened).convert("RGBA") if transparent else None
    if mark is None:  # a JPEG logo: upright sRGB, as every photo is read
        mark = open_photo(logo).convert("RGBA")
    mark.thumbnail(box, Image.Resampling.LANCZOS)
    return mark


def _layout(
    title: str, lines: Sequence[str], unit: int, room: int
) -> list[tuple[str, ImageFont.FreeTypeFont]]:
    """Each text on as few lines as fit `room` px: wrapped at words (the title on up to three
    lines, the others two), set smaller only when even that does not fit — and the title never
    smaller than the other lines (they shrink with it), so a long address stays the headline."""
    title_size, title_lines = _shrunk(title, round(TITLE * unit), 3, MIN_TEXT_PX, room)
    body = min(round(LINE * unit), title_size)
    laid = [(line, _fitting(line, title_size, room)) for line in title_lines]
    for text in lines:
        size, wrapped = _shrunk(text, body, 2, min(MIN_TEXT_PX, body), room)
        laid += [(line, _fitting(line, size, room)) for line in wrapped]
    return laid


def _shrunk(
    text: str, size: int, most_lines: int, smallest: int, room: int
) -> tuple[int, list[str]]:
    """The largest size from `size` down to `smallest` at which `text` wraps onto at most
    `most_lines` lines, and those lines."""
    while True:
        wrapped = _wrapped(text, _font(size), room)
        if len(wrapped) <= most_lines or size <= smallest:
            return size, wrapped
        size = max(smallest, int(size * 0.85))


def _wrapped(text: str, font: ImageFont.FreeTypeFont, room: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [text]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.REGULAR), size)


def _fitting(text: str, size: int, room: int) -> ImageFont.FreeTypeFont:
    """The font at `size`, or smaller until `text` (one line) fits in `room` px."""
    while True:
        font = _font(size)
        if font.getlength(text) <= room or size <= 12:
            return font
        size = max(12, int(size * room / font.getlength(text)))


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    return round(font.size * 1.35)


def _write(
    draw: ImageDraw.ImageDraw,
    laid: Sequence[tuple[str, ImageFont.FreeTypeFont]],
    x: int,
    y: int,
    ink: Colour,
    centred: bool,
) -> None:
    for text, font in laid:
        draw.text((x, y), text, font=font, fill=ink, anchor="ma" if centred else "la")
        y += _line_height(font)


def _rgb(colour: str) -> Colour:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _ink(colour: str) -> Colour:
    """White on a dark brand colour, near-black on a light one."""
    r, g, b = _rgb(colour)
    return (20, 20, 20) if 0.2126 * r + 0.7152 * g + 0.0722 * b > 150 else (255, 255, 255)
