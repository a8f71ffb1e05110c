"""What Dagit shows of a step: inline previews (markdown images) and the per-clip table."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import dagster as dg
from PIL import Image

from resources.models import VideoClip


def inline_preview(path: Path, max_px: int = 256) -> dg.MetadataValue:
    """A JPEG thumbnail of an image file as a markdown data URI."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((max_px, max_px))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
    data = base64.b64encode(buf.getvalue()).decode()
    return dg.MetadataValue.md(f"![preview](data:image/jpeg;base64,{data})")


def clip_table(
    clips: list[VideoClip], results: dict[str, tuple[str, float]], transitions: bool = False
) -> dg.TableMetadataValue:
    """Per-clip detail for Dagit: room, status, seconds, cost, request id."""
    records = []
    for clip in clips:
        how, seconds = results.get(clip.id, ("", 0.0))
        status = clip.transition_status if transitions else clip.status
        records.append(
            dg.TableRecord(
                {
                    "order": clip.sequence_order,
                    "room": clip.room_label or clip.room_type,
                    "status": status or "",
                    "how": how,
                    "seconds": round(seconds, 1),
                    "cost_cents": (clip.transition_cost_cents if transitions else clip.cost_cents)
                    or 0,
                    "request_id": (
                        clip.transition_request_id if transitions else clip.provider_request_id
                    )
                    or "",
                    "error": ((clip.transition_error if transitions else clip.error_message) or "")[
                        :200
                    ],
                }
            )
        )
    return dg.MetadataValue.table(
        records,
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("order", "int"),
                dg.TableColumn("room"),
                dg.TableColumn("status"),
                dg.TableColumn("how"),
                dg.TableColumn("seconds", "float"),
                dg.TableColumn("cost_cents", "int"),
                dg.TableColumn("request_id"),
                dg.TableColumn("error"),
            ]
        ),
    )
