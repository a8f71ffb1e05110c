"""Clip prompts: a default camera move per room type, the hand-off to the next room, audio."""

from __future__ import annotations

from studio_assets.domain.rooms import room_label

_STYLE = "Photorealistic, steady gimbal movement, natural light, real-estate cinematography."

MOTION_PROMPTS: dict[str, str] = {
    "living-room": "Slow dolly in across the living room towards the seating area, eye level, "
    "soft daylight from the windows.",
    "kitchen": "Smooth pan right along the kitchen counters and island, eye level, bright "
    "even light on the worktops.",
    "bedroom": "Gentle push in towards the bed, slightly above eye level, calm warm morning light.",
    "bathroom": "Slow push in towards the vanity and shower, eye level, clean bright light.",
    "toilet": "Subtle slow push in, eye level, framing the room symmetrically, soft light.",
    "hallway": "Steady dolly in down the hallway, centred framing, leading lines drawing the "
    "eye forward.",
    "office": "Slow pan left across the desk and shelves, eye level, focused daylight.",
    "laundry-room": "Gentle pan right along the appliances and storage, eye level, clean light.",
    "storage-room": "Slow push in showing the shelving and floor space, even light.",
    "walk-in-closet": "Smooth dolly in between the rails and shelves, centred, warm light.",
    "sauna": "Slow push in towards the benches, warm golden wood tones, soft glow.",
    "gym": "Smooth pan left across the equipment, eye level, bright energetic light.",
    "childrens-room": "Gentle pan right across the room, slightly low angle, cheerful soft light.",
    "pool-area": "Slow pan left along the pool edge, sparkling water, bright sunlight.",
    "dining-room": "Slow push in towards the dining table, eye level, warm inviting light.",
    "tv-room": "Gentle dolly in towards the sofa and screen, eye level, cosy ambient light.",
    "library": "Slow pan right along the bookshelves, eye level, warm reading light.",
    "hobby-room": "Smooth pan left across the workspace, eye level, even daylight.",
    "utility-room": "Subtle push in towards the installations, eye level, clean even light.",
    "pantry": "Slow push in towards the shelves, centred framing, soft even light.",
    "conservatory": "Slow pan right through the glass room, plants and sky, bright daylight.",
    "garage": "Steady pull back revealing the full garage space, eye level, even light.",
    "terrace": "Slow pan left across the terrace towards the view, golden hour light.",
    "garden": "Gentle pull back revealing the lawn and planting, soft afternoon sun.",
    "landscape": "Slow pan right across the landscape, wide framing, soft golden light.",
    "exterior": "Slow tilt up from the entrance to the full facade, wide framing, clear sky.",
    "other": "Gentle push in towards the centre of the room, eye level, natural light.",
}

NEGATIVE_PROMPT = (
    "blur, distortion, warped walls, bent lines, flicker, people, text, watermark, low quality, "
    "fast motion, shaky camera, morphing furniture"
)

TRANSITION_PROMPT = (
    "Seamless continuous camera move from the first room into the next, walking through the "
    "home, smooth and steady, consistent light. " + _STYLE
)


def clip_prompt(
    room_type: str, motion_prompt: str | None, next_label: str | None, native_audio: bool
) -> str:
    """The room's motion (custom or default) + the hand-off + an audio sentence."""
    parts = [motion_prompt or f"{MOTION_PROMPTS.get(room_type, MOTION_PROMPTS['other'])} {_STYLE}"]
    if next_label:
        parts.append(f"The camera smoothly transitions towards the {next_label}.")
    if native_audio:
        parts.append(
            f"Background audio: quiet natural ambience of a {room_label(room_type)}, "
            "no music, no voices."
        )
    return " ".join(parts)
