"""Benchmark: inpainting a 12 MP photo with a large mask on the offline engine.

Run from the repository root: `.venv/bin/python bench/photo_bench.py`. The photo is the engine
bench's textured 4032x3024 room (cached under bench/out/); the mask covers a quarter of it
(2000x1500 px, a sofa and the wall behind it). Side by side in one run:

- `inpaint_bounded_*`: `image.inpaint` as the pipeline runs it — decode, Telea at most 1024 px
  a side around the mask, the fill scaled back and composited at full resolution, a JPEG out;
  the median of three runs.
- `inpaint_naive_*`: the way it was — Telea over the whole photo at full resolution (radius 1 %
  of the shorter side) and a lossless PNG out; one run (it is slow).

`inpaint_speedup` is naive / bounded; `*_bytes` show why the PNG was refused as an input.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine_bench import _room_photo  # noqa: E402

from resources.engine.image import inpaint, inpainted  # noqa: E402
from resources.engine.photo import open_photo  # noqa: E402
from studio_assets.domain.validation import MAX_IMAGE_BYTES  # noqa: E402

OUT = ROOT / "bench" / "out"
RUNS = 3
MASK_BOX = (500, 1300, 2500, 2800)  # x0, y0, x1, y1: the sofa, the rug and the wall above


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    photo = _room_photo(OUT / "engine_room.jpg")
    mask = _mask(OUT / "photo_mask.png", Image.open(photo).size)
    bounded_out = OUT / "inpaint_bounded.jpg"
    seconds = [_timed(lambda: inpaint(photo, mask, bounded_out)) for _ in range(RUNS)]
    bounded = statistics.median(seconds)
    print(f"inpaint_bounded_runs_seconds={','.join(f'{s:.2f}' for s in seconds)}")
    print(f"inpaint_bounded_seconds={bounded:.3f}")
    print(f"inpaint_bounded_bytes={bounded_out.stat().st_size}")

    naive_out = OUT / "inpaint_naive.png"
    naive = _timed(lambda: _naive(photo, mask, naive_out))
    print(f"inpaint_naive_seconds={naive:.3f}")
    print(f"inpaint_naive_bytes={naive_out.stat().st_size}")
    print(f"input_limit_bytes={MAX_IMAGE_BYTES}")
    print(f"inpaint_speedup={naive / bounded:.1f}")
    print(f"inpaint_fill_difference={_difference(bounded_out, naive_out, mask):.1f}")


def _naive(photo: Path, mask: Path, out: Path) -> None:
    img = np.asarray(open_photo(photo))
    region = np.asarray(Image.open(mask).convert("L")) > 127
    Image.fromarray(inpainted(img, region, work_side=None)).save(out, "PNG", optimize=True)


def _mask(path: Path, size: tuple[int, int]) -> Path:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rounded_rectangle(MASK_BOX, radius=120, fill=255)
    m.save(path)
    return path


def _difference(a: Path, b: Path, mask: Path) -> float:
    """Mean absolute difference of the two fills inside the mask (0-255): how alike they look."""
    region = np.asarray(Image.open(mask).convert("L")) > 127
    first = np.asarray(Image.open(a).convert("RGB"), dtype=np.int16)[region]
    second = np.asarray(Image.open(b).convert("RGB"), dtype=np.int16)[region]
    return float(np.abs(first - second).mean())


def _timed(work) -> float:  # noqa: ANN001 - a callable
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
