"""The font studio draws text with: Noto Sans (SIL Open Font License 1.1), from the
`fontpkg-noto-sans` wheel — Latin with its accents, ß, €, Greek and Cyrillic. Cards (Pillow)
and burned-in captions (libass, through FFmpeg's `fontsdir`) use the same file; nothing is
looked up on the system or downloaded."""

from __future__ import annotations

from functools import cache

import fontpkg_noto_sans
from PIL import ImageFont

FAMILY = str(fontpkg_noto_sans.FAMILY)
FOLDER = fontpkg_noto_sans.ROOT / "files"
REGULAR = FOLDER / "NotoSans[wdth,wght].ttf"
"""A variable font; its default instance is Regular."""


def undrawable(text: str) -> str | None:
    """The first character of `text` the font has no glyph for (it would draw a box), or None.
    Noto Sans draws Latin with its accents, Greek and Cyrillic; not CJK, Arabic, Hebrew…"""
    font = _probe_font()
    missing = bytes(font.getmask("\uffff"))  # a non-character: the font's .notdef box
    for char in dict.fromkeys(text):
        if not char.isspace() and bytes(font.getmask(char)) == missing:
            return char
    return None


@cache
def _probe_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(REGULAR), 32)
