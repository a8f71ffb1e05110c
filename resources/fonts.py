"""The font studio draws text with: Noto Sans (SIL Open Font License 1.1), from the
`fontpkg-noto-sans` wheel — Latin with its accents, ß, €, Greek and Cyrillic. Cards (Pillow)
and burned-in captions (libass, through FFmpeg's `fontsdir`) use the same file; nothing is
looked up on the system or downloaded."""

from __future__ import annotations

import fontpkg_noto_sans

FAMILY = str(fontpkg_noto_sans.FAMILY)
FOLDER = fontpkg_noto_sans.ROOT / "files"
REGULAR = FOLDER / "NotoSans[wdth,wght].ttf"
"""A variable font; its default instance is Regular."""
