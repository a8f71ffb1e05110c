"""The demo: sample room photos and music, a 4-room narrated tour with one seamless transition
and the listing card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio_assets.app.samples import music_bed, room_photo

ROOMS = (("exterior", "seamless"), ("living-room", "cut"), ("kitchen", "cut"), ("bedroom", "cut"))


def demo_spec(folder: Path) -> dict[str, Any]:
    """Draw the inputs into `folder` and return the project spec that uses them."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for room, transition in ROOMS:
        photo = room_photo(folder / f"{room}.jpg", room, (1600, 900), dull=False)
        clips.append({"image": str(photo), "room_type": room, "transition": transition})
    music = music_bed(folder / "music.mp3", seconds=12.0)
    return {
        "name": "12 Elm Street (demo)",
        "workspace_id": "ws_demo",
        "aspect_ratio": "16:9",
        "generate_native_audio": True,
        "music": {"audio_url": str(music), "volume": 40},
        "listing": {
            "address": "12 Elm Street",
            "price": 1250000,
            "beds": 4,
            "baths": 2.5,
            "area": 2400,
            "tagline": "Garden and light",
        },
        "narration": {"script": "auto"},
        "clips": clips,
    }
