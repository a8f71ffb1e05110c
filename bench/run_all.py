"""Run every benchmark in one go (`make bench`) and print their `name=value` lines.

Each benchmark measures its own side-by-side comparison in the same run; nothing here asserts
a target — the figures are for people (and the closing notes) to read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITE = (
    "compile_bench.py",
    "overhead_bench.py",
    "engine_bench.py",
    "latency_bench.py",
    "photo_bench.py",
    "zip_bench.py",
    "rendition_bench.py",
    "narration_bench.py",
    "live_bench.py",
    "throughput_bench.py",
)


def main() -> int:
    failed = 0
    for script in SUITE:
        print(f"# {script}", flush=True)
        done = subprocess.run(
            [sys.executable, str(BENCH / script)],
            capture_output=True,
            text=True,
            cwd=BENCH.parent,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if "=" in line and " " not in line]
        print("\n".join(lines), flush=True)
        if done.returncode != 0:
            failed += 1
            print(f"# {script} failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
