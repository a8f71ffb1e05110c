"""Prices per provider model, in cents: one table for estimates and for billed costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

KLING_I2V = "fal-ai/kling-video/v2.6/pro/image-to-video"
NANO_BANANA_EDIT = "fal-ai/nano-banana-pro/edit"
QWEN_INPAINT = "fal-ai/qwen-image-edit/inpaint"
KOKORO_TTS = "fal-ai/kokoro/american-english"
ANY_LLM = "fal-ai/any-llm"


@dataclass(frozen=True)
class Price:
    per_image_cents: float = 0.0
    per_second_cents: float = 0.0
    per_second_with_audio_cents: float = 0.0
    per_1000_chars_cents: float = 0.0
    per_request_cents: float = 0.0


# fal's published prices (Aug 2026): Kling 2.6 Pro $0.07/s, $0.14/s with native audio;
# Kokoro $0.02 per 1000 characters (Dec 2026); any-llm's standard models at most $0.015 a
# request of this size (a few hundred tokens each way), counted as 2 cents.
PRICES: dict[str, Price] = {
    KLING_I2V: Price(per_second_cents=7.0, per_second_with_audio_cents=14.0),
    NANO_BANANA_EDIT: Price(per_image_cents=15.0),
    QWEN_INPAINT: Price(per_image_cents=3.0),
    KOKORO_TTS: Price(per_1000_chars_cents=2.0),
    ANY_LLM: Price(per_request_cents=1.5),
}


def price_cents(
    model: str, *, seconds: float = 0.0, audio: bool = False, characters: int = 0
) -> int:
    """Cents billed for one generation by `model` (0 for models not on the table, e.g. local),
    rounded up per request: a 90-character narration line counts 1 cent (fal bills 0.18)."""
    price = PRICES.get(model)
    if price is None:
        return 0
    rate = price.per_second_with_audio_cents if audio else price.per_second_cents
    by_text = price.per_1000_chars_cents * characters / 1000
    return math.ceil(price.per_image_cents + price.per_request_cents + rate * seconds + by_text)
