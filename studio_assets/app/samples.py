"""Sample media for the demo and the tests: room photos drawn with Pillow, a music bed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from resources.ffmpeg import run_ffmpeg

_WALLS = {
    "exterior": (150, 180, 210),
    "living-room": (200, 190, 170),
    "kitchen": (215, 215, 205),
    "bedroom": (190, 180, 200),
    "bathroom": (200, 215, 220),
    "hallway": (195, 185, 165),
}


def room_photo(
    path: Path,
    room_type: str = "living-room",
    size: tuple[int, int] = (1280, 720),
    dull: bool = True,
) -> Path:
    """A recognisable room (walls, floor, window, furniture) — dim and colour-cast if `dull`."""
    w, h = size
    img = Image.new("RGB", size, _WALLS.get(room_type, (190, 185, 175)))
    d = ImageDraw.Draw(img)
    if room_type == "exterior":
        _house(d, w, h)
    else:
        _interior(d, w, h, room_type)
    img = img.filter(ImageFilter.GaussianBlur(1))
    if dull:  # an under-exposed, yellowish phone photo: what enhancement should fix
        img = Image.eval(img, lambda v: int(v * 0.55 + 20))
        r, g, b = img.split()
        img = Image.merge(
            "RGB", (r.point(lambda v: min(255, v + 18)), g, b.point(lambda v: max(0, v - 25)))
        )
    img.save(path, quality=90)
    return path


def _interior(d: ImageDraw.ImageDraw, w: int, h: int, room_type: str) -> None:
    d.polygon(
        [(0, h), (w, h), (int(w * 0.8), int(h * 0.7)), (int(w * 0.2), int(h * 0.7))],
        fill=(140, 100, 70),
    )  # wooden floor in perspective
    d.rectangle(
        [int(w * 0.6), int(h * 0.15), int(w * 0.78), int(h * 0.5)],
        fill=(180, 215, 240),
        outline=(250, 250, 250),
        width=max(2, w // 200),
    )  # window
    if room_type in ("living-room", "hallway", "other"):
        d.rectangle(
            [int(w * 0.15), int(h * 0.55), int(w * 0.5), int(h * 0.75)], fill=(70, 90, 120)
        )  # sofa
        d.ellipse([int(w * 0.3), int(h * 0.78), int(w * 0.45), int(h * 0.86)], fill=(90, 60, 40))
    elif room_type == "kitchen":
        d.rectangle(
            [int(w * 0.05), int(h * 0.5), int(w * 0.55), int(h * 0.72)], fill=(235, 235, 230)
        )  # counters
        for i in range(5):
            x = int(w * (0.07 + i * 0.095))
            d.rectangle([x, int(h * 0.25), x + int(w * 0.08), int(h * 0.42)], fill=(120, 140, 110))
    elif room_type == "bedroom":
        d.rectangle(
            [int(w * 0.2), int(h * 0.55), int(w * 0.55), int(h * 0.8)], fill=(240, 240, 245)
        )  # bed
        d.rectangle(
            [int(w * 0.2), int(h * 0.45), int(w * 0.55), int(h * 0.56)], fill=(120, 80, 60)
        )  # headboard
    elif room_type == "bathroom":
        d.rounded_rectangle(
            [int(w * 0.1), int(h * 0.55), int(w * 0.5), int(h * 0.78)],
            radius=w // 40,
            fill=(245, 245, 250),
        )  # bathtub
        d.rectangle(
            [int(w * 0.82), int(h * 0.3), int(w * 0.95), int(h * 0.5)],
            fill=(210, 230, 240),
            outline=(160, 160, 160),
        )  # mirror


def _house(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    d.rectangle([0, int(h * 0.75), w, h], fill=(80, 140, 70))  # lawn
    d.rectangle([int(w * 0.25), int(h * 0.4), int(w * 0.75), int(h * 0.78)], fill=(230, 225, 210))
    d.polygon(
        [
            (int(w * 0.2), int(h * 0.42)),
            (int(w * 0.5), int(h * 0.15)),
            (int(w * 0.8), int(h * 0.42)),
        ],
        fill=(150, 60, 50),
    )  # roof
    d.rectangle([int(w * 0.46), int(h * 0.58), int(w * 0.54), int(h * 0.78)], fill=(100, 70, 50))
    for x in (0.3, 0.6):
        d.rectangle(
            [int(w * x), int(h * 0.48), int(w * (x + 0.1)), int(h * 0.6)], fill=(170, 200, 230)
        )


def object_and_mask(photo: Path, mask: Path, box: tuple[int, int, int, int]) -> None:
    """Draw a red object at `box` on `photo` (in place) and write its mask (white = object)."""
    with Image.open(photo) as opened:
        img = opened.convert("RGB")
    ImageDraw.Draw(img).ellipse(box, fill=(220, 30, 30))
    img.save(photo, "PNG")
    m = Image.new("L", img.size, 0)
    x0, y0, x1, y1 = box
    ImageDraw.Draw(m).rectangle([x0 - 4, y0 - 4, x1 + 4, y1 + 4], fill=255)
    m.save(mask, "PNG")


def music_bed(path: Path, seconds: float = 12.0) -> Path:
    """A calm chord progression with a soft beat, as MP3 (looped or trimmed by the compile)."""
    voices = [(220.0, 0.20), (277.2, 0.14), (329.6, 0.12), (110.0, 0.18)]
    inputs: list[str] = []
    for freq, _ in voices:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}"]
    weights = " ".join(str(v) for _, v in voices)
    graph = (
        f"amix=inputs={len(voices)}:weights={weights}:normalize=0,"
        f"tremolo=f=2:d=0.3,afade=t=in:d=1,afade=t=out:st={seconds - 1.5}:d=1.5,"
        "aformat=channel_layouts=stereo"
    )
    run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            graph,
            "-ar",
            "48000",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            str(path),
        ],
        timeout_s=60,
    )
    return path
