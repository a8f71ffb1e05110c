"""Small inline previews for materialization metadata (Dagit renders markdown images)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import dagster as dg
from PIL import Image


def inline_preview(path: Path, max_px: int = 256) -> dg.MetadataValue:
    """A JPEG thumbnail of an image file as a markdown data URI."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((max_px, max_px))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
    data = base64.b64encode(buf.getvalue()).decode()
    return dg.MetadataValue.md(f"![preview](data:image/jpeg;base64,{data})")
