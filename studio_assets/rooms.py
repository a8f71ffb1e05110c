"""The room types the app knows (the old product's list of 27) and their display labels."""

from __future__ import annotations

ROOM_TYPES: tuple[str, ...] = (
    "living-room",
    "kitchen",
    "bedroom",
    "bathroom",
    "toilet",
    "hallway",
    "office",
    "laundry-room",
    "storage-room",
    "walk-in-closet",
    "sauna",
    "gym",
    "childrens-room",
    "pool-area",
    "dining-room",
    "tv-room",
    "library",
    "hobby-room",
    "utility-room",
    "pantry",
    "conservatory",
    "garage",
    "terrace",
    "garden",
    "landscape",
    "exterior",
    "other",
)

_LABELS = {"childrens-room": "children's room", "tv-room": "TV room", "other": "room"}


def room_label(room_type: str) -> str:
    """A human label: `laundry-room` → `laundry room`."""
    return _LABELS.get(room_type, room_type.replace("-", " "))
