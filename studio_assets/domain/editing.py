"""Editing a made project: the patch a user gives, and what the re-render keeps and buys.

A patch is a JSON object in the spec's shape. Objects merge into the project's (RFC 7386: a
key set to `null` is removed), lists replace. `clips` is the new clip list in order: an entry
`{"id": "vc_…"}` keeps that clip (other keys in it change it), an entry without `id` is a new
clip (like a spec's), a clip left out is dropped.

What is kept: a clip's bought video while its own inputs are unchanged (its photos, room type,
motion prompt, length, the frame and native audio); a transition while its two clips are still
neighbours, with the same photos and frame. The room a clip hands off to is only a hint to the
generator, so moving a clip does not buy it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resources.errors import InputRejected

EDITABLE = (
    "name",
    "aspect_ratio",
    "generate_native_audio",
    "music",
    "listing",
    "branding",
    "renditions",
    "narration",
    "priority",
    "clips",
)
CLIP_INPUTS = ("image", "end_image", "room_type", "motion_prompt", "duration")
"""What a clip's bought video was made from (besides the project's frame and audio)."""
PROJECT_INPUTS = ("aspect_ratio", "generate_native_audio")
"""Project fields every clip and transition is made with: changing one buys them all again."""


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key (`null` removes), anything else
    replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def patched(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The project's spec data (its clips with their `id`s) after `patch`; refuses keys that
    cannot be edited and clip ids the project does not have."""
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise InputRejected(
            f"cannot edit {', '.join(unknown)}: an edit changes {', '.join(EDITABLE)}"
        )
    rest = {key: value for key, value in patch.items() if key != "clips"}
    music = rest.get("music")
    if isinstance(music, dict) and ("audio_url" in music or "track_id" in music):
        current = {**current, "music": {"volume": (current.get("music") or {}).get("volume", 50)}}
    data = merge_patch(current, rest)
    if "clips" in patch:
        data["clips"] = _clips(current["clips"], patch["clips"])
    return data


def _clips(current: list[dict[str, Any]], entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise InputRejected("clips: give the new clip list, in order")
    by_id = {clip["id"]: clip for clip in current}
    seen: set[str] = set()
    out = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise InputRejected(f"clip {n}: give an object ({{'id': …}} or a new clip)")
        clip_id = entry.get("id")
        if clip_id is None:
            out.append(dict(entry))
            continue
        if clip_id not in by_id:
            raise InputRejected(
                f"clip {n}: {clip_id!r} is not a clip of this project (its clips: "
                f"{', '.join(by_id)})"
            )
        if clip_id in seen:
            raise InputRejected(f"clip {n}: {clip_id} is listed twice")
        seen.add(clip_id)
        out.append(merge_patch(by_id[clip_id], entry))
    return out


@dataclass
class EditPlan:
    """What an edit does to the clips: which are kept as bought, bought again, new, dropped,
    and which transitions are bought again."""

    kept: list[str] = field(default_factory=list)
    rebought: list[str] = field(default_factory=list)
    new: list[int] = field(default_factory=list)  # positions (0-based) in the new list
    dropped: list[str] = field(default_factory=list)
    transitions_reset: list[str] = field(default_factory=list)  # by the first clip's id

    def summary(self) -> dict[str, Any]:
        return {
            "clips_kept": self.kept,
            "clips_bought_again": self.rebought,
            "clips_added": len(self.new),
            "clips_dropped": self.dropped,
            "transitions_bought_again": self.transitions_reset,
        }


def plan_edit(
    before: dict[str, Any], after: dict[str, Any], transitions_made: set[str]
) -> EditPlan:
    """Compare the clips of two spec datas (kept clips carry their `id`). `transitions_made`:
    the clips whose transition to their next clip exists."""
    plan = EditPlan()
    everything = any(before.get(k) != after.get(k) for k in PROJECT_INPUTS)
    old = {clip["id"]: clip for clip in before["clips"]}
    pairs = zip(before["clips"], before["clips"][1:], strict=False)
    old_next = {a["id"]: b["id"] for a, b in pairs}
    for n, clip in enumerate(after["clips"]):
        clip_id = clip.get("id")
        if clip_id is None:
            plan.new.append(n)
        elif everything or any(old[clip_id].get(k) != clip.get(k) for k in CLIP_INPUTS):
            plan.rebought.append(clip_id)
        else:
            plan.kept.append(clip_id)
    plan.dropped = [cid for cid in old if cid not in {c.get("id") for c in after["clips"]}]
    followers = [c.get("id") for c in after["clips"][1:]] + [None]
    for a, next_id in zip(after["clips"], followers, strict=True):
        first = a.get("id")
        if first not in transitions_made:
            continue
        same_pair = next_id is not None and old_next.get(first) == next_id
        if everything or not same_pair or not _same_photos(old[first], a, old, after, next_id):
            plan.transitions_reset.append(first)
    return plan


def _same_photos(
    before: dict[str, Any],
    after: dict[str, Any],
    old: dict[str, dict[str, Any]],
    data: dict[str, Any],
    next_id: str | None,
) -> bool:
    """Whether a transition's photos are unchanged: its first clip's last photo, the next
    clip's first."""
    nxt = next(c for c in data["clips"] if c.get("id") == next_id)
    tail = (before.get("end_image") or before["image"], old[str(next_id)]["image"])
    return tail == (after.get("end_image") or after["image"], nxt["image"])
