"""The offline engine's image work: photo enhancement and classical inpainting.

Deterministic and free. Enhancement is what a careful editor does first — white balance,
exposure, contrast, saturation, sharpening — nudged by the style; inpainting fills the mask
with OpenCV's Telea algorithm and keeps every pixel outside the mask as it was. Telea's cost
grows with the masked area times its radius squared, so it works on the mask's surroundings at
a bounded resolution and the fill is scaled back into the full-size photo. Results are
high-quality JPEGs (`photo.save_photo`), which every next step and the provider accept.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from resources.engine.photo import open_photo, save_photo

INPAINT_WORK_SIDE = 1024  # the longest side Telea works at; the fill is scaled back up
_STATS_SIDE = 1024  # image statistics (grey world, levels, exposure) are read from a thumbnail

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
    """Write an enhanced JPEG of `source` to `out`, the same (upright) size."""
    brightness, contrast, saturation, warmth = _tuning(prompt)
    img = open_photo(source)
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    thumb = img.copy()
    thumb.thumbnail((_STATS_SIDE, _STATS_SIDE), Image.Resampling.BILINEAR)
    stats = np.asarray(thumb, dtype=np.float32) / 255.0
    gains = _white_balance(stats, warmth)
    rgb, stats = rgb * gains, stats * gains
    levels = _levels(stats)
    if levels is not None:
        rgb, stats = _stretch(rgb, *levels), _stretch(stats, *levels)
    rgb = _exposure(rgb, brightness, float(np.clip(stats, 0, 1).mean()))
    rgb = _contrast(rgb, contrast)
    rgb = _saturate(rgb, saturation)
    result = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    result = result.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    save_photo(result, out)


def _white_balance(rgb: np.ndarray, warmth: float) -> np.ndarray:
    # Grey-world, applied at 80 % so a deliberately warm room keeps some of its character.
    means = rgb.reshape(-1, 3).mean(axis=0) + 1e-6
    gains = 1.0 + 0.8 * (means.mean() / means - 1.0)
    return (gains * np.array([1.0 + warmth, 1.0, 1.0 - warmth])).astype(np.float32)


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _levels(rgb: np.ndarray) -> tuple[float, float] | None:
    # Half-strength stretch: a large dark area (a floor) must not be crushed to black.
    low, high = np.percentile(rgb @ _LUMA, [0.5, 99.5])
    return None if high - low < 1e-3 else (float(low), float(high))


def _stretch(rgb: np.ndarray, low: float, high: float) -> np.ndarray:
    return 0.5 * rgb + 0.5 * (rgb - low) / (high - low)


def _exposure(rgb: np.ndarray, target: float, mean: float) -> np.ndarray:
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
    luma = (rgb @ _LUMA)[..., None]
    return luma + (rgb - luma) * amount


def inpaint(source: Path, mask: Path, out: Path, *, mode: str = "remove", prompt: str = "") -> None:
    """Fill the white area of `mask` (resized to the upright photo); pixels outside it are kept.

    `add` mode has no generative model offline: it clears the area, then paints a soft-shaded
    placeholder object in the colour the prompt names, as a preview of the placement.
    """
    img = np.asarray(open_photo(source))
    height, width = img.shape[:2]
    with Image.open(mask) as opened_mask:
        gray = opened_mask.convert("L")
    if gray.size != (width, height):
        gray = gray.resize((width, height), Image.Resampling.NEAREST)
    region = np.asarray(gray) > 127
    save_photo(Image.fromarray(inpainted(img, region, mode, prompt)), out)


def inpainted(
    img: np.ndarray,
    region: np.ndarray,
    mode: str = "remove",
    prompt: str = "",
    work_side: int | None = INPAINT_WORK_SIDE,
) -> np.ndarray:
    """`img` (RGB) with `region` filled: Telea on the region's surroundings at most `work_side`
    px a side, composited back at full resolution (None: the whole photo at full resolution,
    the naive way, for comparison)."""
    import cv2  # here: OpenCV costs every process ~0.2 s to import, and only inpainting uses it

    mask = region.astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return img
    margin = 8 + max(w, h) // 6 if work_side else max(img.shape)  # context the fill draws on
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(img.shape[1], x + w + margin), min(img.shape[0], y + h + margin)
    crop, crop_mask = img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    scale = 1.0 if work_side is None else min(1.0, work_side / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        # Any masked pixel in a cell masks the cell, so the fill covers the whole region.
        shrunk = cv2.resize(crop_mask, size, interpolation=cv2.INTER_AREA)
        small_mask = np.where(shrunk > 0, 255, 0).astype(np.uint8)
    else:
        small, small_mask = crop, crop_mask
    # 1 % of the working picture's shorter side: the cost is masked pixels × radius², so
    # bounding the picture bounds both.
    radius = max(3, round(min(small.shape[:2]) / 100))
    bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)
    filled = cv2.cvtColor(
        cv2.inpaint(bgr, small_mask, radius, cv2.INPAINT_TELEA), cv2.COLOR_BGR2RGB
    )
    if mode == "add":
        filled = _paint_placeholder(filled, small_mask > 0, prompt)
    if scale < 1.0:
        filled = cv2.resize(filled, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_CUBIC)
    result = img.copy()
    np.copyto(result[y0:y1, x0:x1], filled, where=region[y0:y1, x0:x1, None])
    return result


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
