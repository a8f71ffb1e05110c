"""Benchmark: the old product's single re-encode command vs studio's compile, same inputs.

Run from the repository root: `.venv/bin/python bench/compile_bench.py`. Generated inputs are
cached under bench/out/ (gitignored), so reruns only time the compiles. Prints `key=value`
lines: old_seconds, new_seconds, compile_speedup, compile_ssim, then the mixed case.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources.compile_plan import plan_compile  # noqa: E402
from resources.compiler import CompileReport, compile_video  # noqa: E402
from resources.ffmpeg import FFmpegError, probe, run_ffmpeg  # noqa: E402

OUT = ROOT / "bench" / "out"
CLIP_S = 5
# Varied content so the encoder works as it would on real footage (noise, motion, flat areas).
SOURCES = [
    ("testsrc2", "testsrc2=s=1920x1080:r=30", 440),
    ("mandelbrot", "mandelbrot=s=1920x1080:r=30", 494),
    ("gradients", "gradients=s=1920x1080:r=30:speed=0.02", 523),
    ("life", "life=s=1920x1080:r=30:mold=10:ratio=0.1:death_color=#102040", 587),
    ("bars", "smptehdbars=s=1920x1080:r=30", 659),
    ("cellauto", "cellauto=s=1920x1080:r=30:rule=110", 698),
    ("grain", "color=c=#335577:s=1920x1080:r=30,noise=alls=24:allf=t", 784),
    ("testsrc", "testsrc=s=1920x1080:r=30", 880),
]
OLD_FILTER = (
    "[1:a]volume=0.5[music];[0:a][music]amix=inputs=2:duration=first:dropout_transition=2[aout]"
)


def make_clip(out: Path, video: str, tone_hz: int | None) -> Path:
    """A 5 s H.264 (x264 veryfast, crf 20) clip, with AAC 48 kHz stereo when tone_hz is set."""
    if out.exists():
        return out
    args = ["-f", "lavfi", "-i", video]
    if tone_hz is not None:
        args += ["-f", "lavfi", "-i", f"sine=f={tone_hz}:r=48000"]
        args += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
    args += ["-t", str(CLIP_S), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
    run_ffmpeg([*args, "-pix_fmt", "yuv420p", str(out)], timeout_s=600)
    return out


def make_music(out: Path) -> Path:
    """About 30 s of a slowly pulsing two-tone chord, as MP3."""
    if not out.exists():
        wave = "0.2*sin(2*PI*220*t)+0.12*sin(2*PI*330*t)*(1+sin(2*PI*0.5*t))"
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"aevalsrc={wave}:s=44100:d=30", "-ac", "2",
             "-c:a", "libmp3lame", "-b:a", "192k", str(out)]
        )  # fmt: skip
    return out


def matching_clips() -> list[Path]:
    return [make_clip(OUT / f"clip-{name}.mp4", src, hz) for name, src, hz in SOURCES]


def mixed_clips(matching: list[Path]) -> list[Path]:
    """Five matching clips with a 720p one, a 24 fps one and a silent one among them."""
    hd = make_clip(OUT / "mixed-720p.mp4", "testsrc2=s=1280x720:r=30", 330)
    film = make_clip(OUT / "mixed-24fps.mp4", "mandelbrot=s=1920x1080:r=24", 370)
    mute = make_clip(OUT / "mixed-noaudio.mp4", "smptehdbars=s=1920x1080:r=30", None)
    return [matching[0], hd, matching[1], film, matching[2], mute, matching[3], matching[4]]


def run_old(clips: list[Path], music: Path, name: str) -> tuple[float, Path]:
    """The old product's command, exactly (our absolute paths in place of its file names)."""
    listing = OUT / f"{name}-list.txt"
    listing.write_text("".join(f"file '{clip}'\n" for clip in clips))
    out = OUT / f"{name}.mp4"
    started = time.monotonic()
    run_ffmpeg(
        ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(music),
         "-filter_complex", OLD_FILTER, "-map", "0:v", "-map", "[aout]",
         "-c:v", "libx264", "-preset", "fast", "-crf", "23",
         "-c:a", "aac", "-b:a", "192k", "-shortest", "-y", str(out)],
        timeout_s=1800,
    )  # fmt: skip
    return time.monotonic() - started, out


def run_new(clips: list[Path], music: Path, name: str) -> tuple[float, CompileReport]:
    """Probe, plan and compile, as the final_video asset does (default volume 50)."""
    workdir = OUT / name
    shutil.rmtree(workdir, ignore_errors=True)
    started = time.monotonic()
    inputs = [(clip, probe(clip)) for clip in clips]
    plan = plan_compile(inputs, aspect_ratio="16:9", music=music, music_volume=50)
    report = compile_video(plan, workdir)
    return time.monotonic() - started, report


def ssim(video: Path, sources: list[Path]) -> float:
    """Mean SSIM (FFmpeg's `ssim` filter, All) of `video` against the sources played in order."""
    stats = OUT / f"{video.parent.name}-ssim.log"
    refs = "".join(f"[{i + 1}:v]" for i in range(len(sources)))
    # Frames are paired by index in one time base (the sources' own timestamps start a priming
    # delay late); -reinit_filter 0 keeps a colour-tag change between clips from restarting
    # the graph, which would truncate the stats file.
    graph = (
        f"{refs}concat=n={len(sources)}:v=1:a=0,settb=1/30,setpts=N[ref];"
        f"[0:v]settb=1/30,setpts=N[main];[main][ref]ssim=stats_file={stats}"
    )
    inputs = [arg for path in [video, *sources] for arg in ("-reinit_filter", "0", "-i", str(path))]
    run_ffmpeg([*inputs, "-filter_complex", graph, "-an", "-f", "null", "-"], timeout_s=1800)
    values = [
        float(part.split(":")[1])
        for line in stats.read_text().splitlines()
        for part in line.split()
        if part.startswith("All:")
    ]
    return sum(values) / len(values)


def audio_holes(path: Path) -> str:
    """Where the audio track has no samples (timestamp jumps over 50 ms), and its coverage."""
    holes, covered, rate = [], 0, 48_000
    with av.open(str(path)) as container:
        end = None
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            if end is not None and frame.time - end > 0.05:
                holes.append(f"{end:.2f}-{frame.time:.2f}s")
            end = frame.time + frame.samples / rate
            covered += frame.samples
    return f"audio_samples={covered / rate:.2f}s holes={','.join(holes) or 'none'}"


def describe(path: Path, expected_s: float) -> str:
    info = probe(path)
    return (
        f"{info.video_codec} {info.width}x{info.height} {info.fps:.2f}fps "
        f"audio={info.audio_codec} duration={info.duration_s:.2f}s (expected {expected_s:.2f}s) "
        + audio_holes(path)
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    clips = matching_clips()
    music = make_music(OUT / "music.mp3")
    expected = CLIP_S * len(clips)

    old_s, old_out = run_old(clips, music, "old")
    new_s, report = run_new(clips, music, "new")
    print(f"old_seconds={old_s:.2f}")
    print(f"new_seconds={new_s:.2f}")
    print(f"compile_speedup={old_s / new_s:.1f}")
    print(f"compile_ssim={ssim(report.video, clips):.5f}")
    print(f"old_output={describe(old_out, expected)}")
    print(f"new_output={describe(report.video, expected)}")
    print(f"new_copied_segments={report.copied_segments}")

    mixed = mixed_clips(clips)
    mixed_s, mixed_report = run_new(mixed, music, "mixed-new")
    print(f"mixed_new_seconds={mixed_s:.2f}")
    print(f"mixed_new_normalised_segments={mixed_report.normalised_segments}")
    print(f"mixed_new_output={describe(mixed_report.video, expected)}")
    try:
        mixed_old_s, mixed_old = run_old(mixed, music, "mixed-old")
    except FFmpegError as exc:
        print("mixed_old_command=failed")
        print(f"mixed_old_error={exc}")
    else:
        print("mixed_old_command=ok")
        print(f"mixed_old_seconds={mixed_old_s:.2f}")
        print(f"mixed_old_output={describe(mixed_old, expected)}")


if __name__ == "__main__":
    main()
