"""Benchmark: what renditions add to a compile — one branded video against three.

Run from the repository root: `.venv/bin/python bench/rendition_bench.py` (in `make bench`).
A 20 s 1080p master (what `compile_video` makes of the clips: moving picture, sound at its
loudness) is rendered, side by side in one run, as:

- `rendition_plain_seconds`: one rendition at the master's frame without cards (a file copy);
- `rendition_one_seconds`: one branded 16:9 rendition (opening card, logo, closing card);
- `rendition_three_seconds`: branded 16:9 + unbranded 16:9 + branded 9:16 (reframed);

`rendition_three_vs_one` is the ratio; nothing is generated again for any of them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources.compile_plan import FRAMES  # noqa: E402
from resources.engine.cards import draw_banner, draw_closing, draw_logo  # noqa: E402
from resources.ffmpeg import run_ffmpeg  # noqa: E402
from resources.renditions import Overlay, RenditionPlan, render  # noqa: E402

SECONDS = 20.0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="studio-rendition-bench-") as tmp:
        work = Path(tmp)
        master = _master(work / "master.mp4")
        logo = _logo(work / "logo.png")
        plain = RenditionPlan("16x9-plain", *FRAMES["16:9"])
        branded = _plan(work, "16x9-branded", "16:9", logo, branded=True)
        three = [
            branded,
            _plan(work, "16x9-unbranded", "16:9", logo, branded=False),
            _plan(work, "9x16-branded", "9:16", logo, branded=True),
        ]
        print(f"rendition_master_seconds={SECONDS:.0f}")
        print(f"rendition_plain_seconds={_timed(work, master, [plain]):.2f}")
        one = _timed(work, master, [branded])
        print(f"rendition_one_seconds={one:.2f}")
        all_three = _timed(work, master, three)
        print(f"rendition_three_seconds={all_three:.2f}")
        print(f"rendition_three_vs_one={all_three / one:.2f}")


def _timed(work: Path, master: Path, plans: list[RenditionPlan]) -> float:
    started = time.perf_counter()
    for plan in plans:
        render(master, plan, work, timeout_s=900)
    return time.perf_counter() - started


def _plan(work: Path, key: str, aspect: str, logo: Path, branded: bool) -> RenditionPlan:
    size = FRAMES[aspect]
    colour = "#1F3A5F"
    opening = draw_banner(
        "12 Elm Street", ["$1,250,000", "4 bd · 2.5 ba · 2,400 sq ft"], size, colour,
        work / f"{key}-open.png",
    )  # fmt: skip
    overlays = [Overlay(opening, 0.0, 3.0)]
    if branded:
        closing = draw_closing(
            "Jane Morrison", ["555-0142", "Acme Realty"], size, colour, logo,
            work / f"{key}-close.png",
        )  # fmt: skip
        overlays += [
            Overlay(draw_logo(logo, size, work / f"{key}-logo.png"), 3.0, SECONDS - 3.0),
            Overlay(closing, SECONDS - 3.0, SECONDS),
        ]
    return RenditionPlan(key, size[0], size[1], tuple(overlays))


def _master(path: Path) -> Path:
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={SECONDS}",
            "-f", "lavfi", "-i", f"sine=f=330:d={SECONDS}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
        ]
    )  # fmt: skip
    return path


def _logo(path: Path) -> Path:
    mark = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    ImageDraw.Draw(mark).rounded_rectangle((0, 0, 399, 199), radius=40, fill=(240, 180, 30, 255))
    mark.save(path)
    return path


if __name__ == "__main__":
    main()
