"""Fitting photos to the project's frame before image-to-video (Kling has no aspect input)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

FRAMES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}


def fit_to_frame(source: Path, out: Path, aspect_ratio: str) -> Path:
    """Centre-crop `source` to the frame's aspect and scale it to the frame; JPEG out."""
    width, height = FRAMES[aspect_ratio]
    with Image.open(source) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    fitted = ImageOps.fit(img, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    fitted.save(out, "JPEG", quality=92)
    return out
