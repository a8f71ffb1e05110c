"""Rooms and what we ask of them: the 27 room types (the old product's list), their labels, and
the enhancement styles and inpainting prompts (DESIGN.md §1)."""

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


# Prompts for image enhancement and inpainting (DESIGN.md §1).

STYLES: dict[str, str] = {
    "natural": "Enhance the photo with balanced exposure, true-to-life colours and crisp detail.",
    "scandinavian": (
        "Style it as a bright Scandinavian interior: soft daylight, clean whites, light wood "
        "tones, calm muted colours and an airy, uncluttered feel."
    ),
    "modern": (
        "Style it as a modern interior: crisp contrast, neutral palette with deep accents, "
        "clean lines and polished surfaces."
    ),
    "bright-airy": (
        "Make it bright and airy: lifted shadows, soft natural light flooding in, gentle warm "
        "whites and a fresh, spacious feel."
    ),
    "luxury": (
        "Give it a luxurious look: warm golden light, rich textures, deep contrast and an "
        "elegant, high-end finish."
    ),
    "cozy": "Make it feel cozy: warm lamp light, soft shadows and inviting warm tones.",
}

GUARDRAIL = (
    "Do not move, remove, or modify windows, walls, doors, or any architectural elements. "
    "Keep the room layout exactly as shown."
)

INPAINT_REMOVE = (
    "Remove the object in the masked area completely and fill it with the surrounding "
    "background so the result looks natural and untouched."
)
INPAINT_NEGATIVE = "blurry, distorted, artifacts, duplicated objects, text, watermark"


def enhancement_prompt(room_type: str | None, style: str, prompt: str | None = None) -> str:
    """The caller's full prompt, or "This is a {room}. {style text} {guardrail}"."""
    if prompt:
        return prompt
    room = room_label(room_type or "other")
    return f"This is a {room}. {STYLES[style]} {GUARDRAIL}"


def inpaint_prompt(mode: str, prompt: str | None) -> str:
    """`remove` fills the mask with background; `add` places what the caller described."""
    if mode == "remove":
        return f"{INPAINT_REMOVE} {prompt}".strip() if prompt else INPAINT_REMOVE
    return f"Add {prompt} in the masked area, matching the room's lighting and perspective."
