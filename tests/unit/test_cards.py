"""The cards as drawn, read back: a 120-character address wraps onto at most three lines inside
the frame, Greek and Cyrillic are drawn, text the font has no glyphs for is refused at submit;
and a photo over 25 MB is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resources.engine.cards import draw_banner
from resources.errors import InputRejected
from resources.fonts import undrawable
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import MAX_IMAGE_BYTES, inspect_image, parse_spec
from tests.pipeline.test_publishing import ocr

ADDRESS = (
    "Unit 3, Apartment 14B, The Old Mill Building, 1234 North Riverside Avenue, Westbrook Heights, "
    "Springfield, IL 62704, USA"
)


def ink_rows(card: Path) -> list[tuple[int, int]]:
    """The vertical runs of the band that hold text (light pixels on the dark band)."""
    pixels = np.asarray(Image.open(card).convert("RGBA"))
    text = (pixels[..., :3].min(axis=2) > 200) & (pixels[..., 3] > 0)
    rows = text.any(axis=1)
    runs, start = [], None
    for y, on in enumerate(rows):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    return runs


def test_a_120_character_address_wraps_onto_three_lines_inside_a_vertical_frame(
    tmp_path: Path,
) -> None:
    assert len(ADDRESS) == 120
    card = draw_banner(ADDRESS, ["$1,250,000"], (1080, 1920), "#1F3A5F", tmp_path / "card.png")
    pixels = np.asarray(Image.open(card).convert("RGBA"))
    text = (pixels[..., :3].min(axis=2) > 200) & (pixels[..., 3] > 0)
    columns = np.flatnonzero(text.any(axis=0))
    assert columns.min() > 20 and columns.max() < 1080 - 20  # inside the frame's margins
    lines = ink_rows(card)
    assert len(lines) == 4, lines  # the address on three lines, the price on one
    heights = [b - a for a, b in lines]
    assert min(heights[:3]) >= heights[3] * 0.9  # the headline is not smaller than the price
    found, _ = ocr()(str(card))
    read = " ".join(t for _, t, _ in found or []).replace(" ", "")
    for word in ADDRESS.replace(",", "").split():
        assert word in read, (word, read)  # every word drawn, none cut off


def test_greek_and_cyrillic_are_drawn_and_undrawable_text_is_refused(tmp_path: Path) -> None:
    for text in ("Οδός Ερμού 12, Αθήνα", "улица Тверская 7, Москва", "Straße 5, Zürich €"):
        assert undrawable(text) is None
        card = draw_banner(text, [], (1920, 1080), "#1F3A5F", tmp_path / "c.png")
        assert len(ink_rows(card)) == 1  # drawn, on one line
    clip = {"image": "x.jpg", "room_type": "kitchen"}
    for field, value, shown in (
        ("address", "北京市朝阳区", "北"),
        ("tagline", "بيت جميل", "ب"),
    ):
        with pytest.raises(InputRejected, match=f"listing {field}: holds '{shown}', which the"):
            parse_spec(ProjectSpec, {"name": "H", "clips": [clip], "listing": {field: value}})
    with pytest.raises(InputRejected, match="branding agent_name: holds '山'"):
        parse_spec(ProjectSpec, {"name": "H", "clips": [clip], "branding": {"agent_name": "山田"}})
    with pytest.raises(InputRejected, match="name holds '東'.*give listing.address"):
        parse_spec(ProjectSpec, {"name": "東京の家", "clips": [clip], "listing": {"beds": 2}})
    # Without a card to draw it on, the name may be anything.
    assert parse_spec(ProjectSpec, {"name": "東京の家", "clips": [clip]}).name == "東京の家"


def test_a_photo_over_25_mb_is_refused_naming_its_size(tmp_path: Path) -> None:
    photo = tmp_path / "huge.png"
    noise = np.random.default_rng(0).integers(0, 255, (3000, 3000, 3), dtype=np.uint8)
    Image.fromarray(noise).save(photo, compress_level=0)
    assert photo.stat().st_size > MAX_IMAGE_BYTES
    with pytest.raises(InputRejected, match=r"photo huge.png is 25\.8 MB; the limit is 25 MB"):
        inspect_image(photo, "photo huge.png")
    just_under = tmp_path / "ok.png"
    Image.fromarray(noise[:2800]).save(just_under, compress_level=0)
    assert just_under.stat().st_size < MAX_IMAGE_BYTES
    assert inspect_image(just_under, "photo ok.png").width == 3000
