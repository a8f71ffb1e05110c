"""The offline engine's image work: photo enhancement and classical inpainting.

Deterministic and free. Enhancement is what a careful editor does first — white balance,
exposure, contrast, saturation, sharpening — nudged by the style; inpainting fills the mask
with OpenCV's Telea algorithm and keeps every pixel outside the mask untouched.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

# (brightness target, contrast, saturation, warmth) per style keyword found in the prompt.
_STYLE_TUNING = {
    "scandinavian": (0.56, 1.05, 1.02, -0.02),
    "modern": (0.50, 1.15, 1.08, 0.0),
    "bright and airy": (0.60, 0.98, 1.05, 0.02),
    "luxurious": (0.48, 1.12, 1.12, 0.04),
    "cozy": (0.50, 1.05, 1.10, 0.05),
}
_DEFAULT_TUNING = (0.52, 1.08, 1.12, 0.0)

_COLOURS = {
    "red": (170, 50, 45),
    "green": (60, 120, 60),
    "blue": (50, 80, 160),
    "yellow": (220, 190, 70),
    "white": (235, 235, 230),
    "black": (35, 35, 38),
    "grey": (130, 130, 130),
    "gray": (130, 130, 130),
    "brown": (120, 80, 50),
    "orange": (220, 130, 50),
    "pink": (220, 150, 170),
    "beige": (215, 200, 170),
}


def _tuning(prompt: str) -> tuple[float, float, float, float]:
    text = prompt.lower()
    for word, tuning in _STYLE_TUNING.items():
        if word in text:
            return tuning
    return _DEFAULT_TUNING


def enhance(source: Path, out: Path, prompt: str = "") -> None:
    """Write an enhanced JPEG of `source` to `out`, the same size."""
    brightness, contrast, saturation, warmth = _tuning(prompt)
    with Image.open(source) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    rgb = _white_balance(rgb, warmth)
    rgb = _auto_levels(rgb)
    rgb = _exposure(rgb, brightness)
    rgb = _contrast(rgb, contrast)
    rgb = _saturate(rgb, saturation)
    result = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    result = result.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    result.save(out, "JPEG", quality=92, optimize=True)


def _white_balance(rgb: np.ndarray, warmth: float) -> np.ndarray:
    # Grey-world, applied at 80 % so a deliberately warm room keeps some of its character.
    means = rgb.reshape(-1, 3).mean(axis=0) + 1e-6
    gains = 1.0 + 0.8 * (means.mean() / means - 1.0)
    gains *= np.array([1.0 + warmth, 1.0, 1.0 - warmth])
    return rgb * gains


def _auto_levels(rgb: np.ndarray) -> np.ndarray:
    # Half-strength stretch: a large dark area (a floor) must not be crushed to black.
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    low, high = np.percentile(luma, [0.5, 99.5])
    if high - low < 1e-3:
        return rgb
    return 0.5 * rgb + 0.5 * (rgb - low) / (high - low)


def _exposure(rgb: np.ndarray, target: float) -> np.ndarray:
    mean = float(np.clip(rgb, 0, 1).mean())
    if not 0.02 < mean < 0.98:
        return rgb
    gamma = float(np.clip(np.log(target) / np.log(mean), 0.5, 2.0))
    return np.power(np.clip(rgb, 0, 1), gamma)


def _contrast(rgb: np.ndarray, amount: float) -> np.ndarray:
    # An S-curve around mid-grey: deepens shadows and lifts highlights without clipping.
    x = np.clip(rgb, 0, 1)
    s = x * x * (3 - 2 * x)
    return x + (s - x) * (amount - 1.0) * 2.0


def _saturate(rgb: np.ndarray, amount: float) -> np.ndarray:
    luma = (rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
    return luma + (rgb - luma) * amount


def inpaint(source: Path, mask: Path, out: Path, *, mode: str = "remove", prompt: str = "") -> None:
    """Fill the white area of `mask` (resized to the photo); write a PNG so nothing else moves.

    `add` mode has no generative model offline: it clears the area, then paints a soft-shaded
    placeholder object in the colour the prompt names, as a preview of the placement.
    """
    with Image.open(source) as opened:
        img = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    with Image.open(mask) as opened_mask:
        gray = opened_mask.convert("L").resize(
            (img.shape[1], img.shape[0]), Image.Resampling.NEAREST
        )
    region = np.asarray(gray) > 127
    import cv2  # here: OpenCV costs every process ~0.2 s to import, and only inpainting uses it

    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    radius = max(3, round(min(img.shape[:2]) / 100))
    filled = cv2.cvtColor(
        cv2.inpaint(bgr, region.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA),
        cv2.COLOR_BGR2RGB,
    )
    if mode == "add":
        filled = _paint_placeholder(filled, region, prompt)
    result = np.where(region[..., None], filled, img)
    Image.fromarray(result.astype(np.uint8)).save(out, "PNG", optimize=True)


def _paint_placeholder(img: np.ndarray, region: np.ndarray, prompt: str) -> np.ndarray:
    words = re.findall(r"[a-z]+", prompt.lower())
    colour = next((_COLOURS[w] for w in words if w in _COLOURS), (150, 120, 90))
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return img
    cy, cx = ys.mean(), xs.mean()
    ry, rx = max(1.0, (ys.max() - ys.min()) / 2), max(1.0, (xs.max() - xs.min()) / 2)
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    dist = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    body = (dist < 0.85) & region
    shade = np.clip(1.1 - 0.5 * ((yy - cy + ry * 0.4) / ry) ** 2, 0.55, 1.1)[..., None]
    painted = img.astype(np.float32)
    painted[body] = np.array(colour, dtype=np.float32) * shade[body]
    return np.clip(painted, 0, 255).astype(np.uint8)
