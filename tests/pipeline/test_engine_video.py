"""The offline engine's image-to-video: what a viewer would check, measured on the decoded file.

Small frames (320x180 and friends) keep the file fast; one test renders full HD.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from resources.engine.video import Motion, motion_from_prompt, render_clip, render_transition
from resources.errors import InputRejected
from resources.ffmpeg import FFmpegError, probe

BLUE = (40, 70, 180)
ORANGE = (235, 140, 40)
FPS = 30


def _photo(
    path: Path, colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (800, 600)
) -> Path:
    """A mostly `colour` photo with shapes and fine texture (phase correlation needs detail)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        r = int(rng.integers(10, 50))
        shade = tuple(min(255, int(c * rng.uniform(0.5, 1.2))) for c in colour)
        draw.rectangle([x, y, x + r, y + r // 2], fill=shade)
        draw.ellipse([x - r, y, x, y + r], outline=(250, 250, 250), width=2)
    grain = rng.integers(-14, 15, (size[1], size[0], 1))
    pixels = np.clip(np.asarray(img, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def blue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _photo(tmp_path_factory.mktemp("stills") / "blue.png", BLUE, seed=1)


@pytest.fixture(scope="module")
def orange(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _photo(tmp_path_factory.mktemp("stills") / "orange.png", ORANGE, seed=2)


def _frames(path: Path, fmt: str = "gray") -> list[np.ndarray]:
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format=fmt) for frame in container.decode(video=0)]
    return frames


def _hashes(path: Path) -> list[str]:
    return [hashlib.sha256(frame.tobytes()).hexdigest() for frame in _frames(path, "yuv420p")]


def _mean_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


def _distance(frame: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float(np.linalg.norm(_mean_colour(frame) - np.array(colour)))


@pytest.mark.parametrize("size", [(320, 180), (180, 320), (240, 240)], ids=["16:9", "9:16", "1:1"])
def test_clip_is_h264_at_the_requested_frame_and_length(
    blue: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(blue, out, width=size[0], height=size[1], fps=FPS, duration_s=2.0)

    info = probe(out)
    assert (info.video_codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.fps) == (*size, FPS)
    assert info.duration_s == pytest.approx(2.0, abs=1 / FPS)
    assert not info.has_audio
    assert len(_frames(out)) == 2 * FPS


def test_audio_is_a_soft_aac_bed_only_when_asked(blue: Path, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(blue, out, width=320, height=180, duration_s=3.0, audio=True)

    info = probe(out)
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("aac", 48_000, 2)
    assert info.duration_s == pytest.approx(3.0, abs=1 / FPS)
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    loudness_db = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    assert -45 < loudness_db < -15, "audible, but soft"
    assert np.abs(samples).max() < 0.5


def test_clip_ends_on_the_tail_image(blue: Path, orange: Path, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(
        blue, out, end=orange, width=320, height=180, duration_s=3.0, motion=Motion.PAN_RIGHT
    )

    frames = _frames(out, "rgb24")
    assert _distance(frames[0], BLUE) * 4 < _distance(frames[0], ORANGE)
    assert _distance(frames[-1], ORANGE) * 4 < _distance(frames[-1], BLUE)
    assert _distance(frames[FPS], BLUE) < _distance(frames[FPS], ORANGE), "the fade is at the end"


def test_a_tail_with_the_same_content_is_no_crossfade(blue: Path, tmp_path: Path) -> None:
    same = shutil.copy(blue, tmp_path / "same.png")
    render_clip(blue, tmp_path / "alone.mp4", width=320, height=180, duration_s=2.0)
    render_clip(blue, tmp_path / "tail.mp4", end=Path(same), width=320, height=180, duration_s=2.0)

    assert _hashes(tmp_path / "alone.mp4") == _hashes(tmp_path / "tail.mp4")


def _shifts(frames: list[np.ndarray]) -> np.ndarray:
    """The (dx, dy) between consecutive frames, by phase correlation."""
    window = cv2.createHanningWindow(frames[0].shape[::-1], cv2.CV_64F)
    pairs = zip(frames, frames[1:], strict=False)
    return np.array(
        [
            cv2.phaseCorrelate(a.astype(np.float64), b.astype(np.float64), window)[0]
            for a, b in pairs
        ]
    )


@pytest.mark.parametrize(
    ("motion", "direction"),
    [
        (Motion.PAN_LEFT, (1, 0)),
        (Motion.PAN_RIGHT, (-1, 0)),
        (Motion.TILT_UP, (0, 1)),
        (Motion.TILT_DOWN, (0, -1)),
    ],
)
def test_pans_and_tilts_move_a_constant_whole_step(
    blue: Path, tmp_path: Path, motion: Motion, direction: tuple[int, int]
) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(blue, out, width=320, height=180, duration_s=3.0, motion=motion)

    shifts = _shifts(_frames(out))
    along = shifts @ np.array(direction)  # how far the picture moved the expected way
    across = shifts @ np.array(direction[::-1])
    step = np.median(along)
    assert step >= 0.9, "the picture moves the way the camera turns"
    assert np.all(np.abs(along - step) <= 0.5), "no frame stalls and no frame jumps"
    assert np.all(np.abs(across) <= 0.5)


def _zoom_steps(frames: list[np.ndarray]) -> np.ndarray:
    """The relative scale change between consecutive frames (0 = none), least squares about
    the centre: b(x) = a(x) - step * (x - centre) . grad a(x) for the small steps of a zoom."""
    h, w = frames[0].shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    xs, ys = xs - (w - 1) / 2, ys - (h - 1) / 2
    smooth = [cv2.GaussianBlur(f.astype(np.float64), (0, 0), 1.5) for f in frames]
    steps = []
    for a, b in zip(smooth, smooth[1:], strict=False):
        gy, gx = np.gradient((a + b) / 2)
        radial = (xs * gx + ys * gy)[8:-8, 8:-8]  # the frame's edges carry no usable gradient
        steps.append(-np.sum((b - a)[8:-8, 8:-8] * radial) / np.sum(radial**2))
    return np.array(steps)


@pytest.mark.parametrize("motion", [Motion.PUSH_IN, Motion.PULL_BACK])
def test_zooms_are_smooth_without_stalls(blue: Path, tmp_path: Path, motion: Motion) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(blue, out, width=320, height=180, duration_s=3.0, motion=motion)

    frames = _frames(out)
    middle = slice(len(frames) // 10, len(frames) * 9 // 10)
    for a, b in zip(frames[middle], frames[middle][1:], strict=False):
        assert not np.array_equal(a, b), "a frame repeats the one before it"
    growth = _zoom_steps(frames[middle])
    growth = growth if motion is Motion.PUSH_IN else -growth
    typical = np.median(growth)
    assert typical > 0, "the picture grows on a push-in and shrinks on a pull-back"
    assert np.all((growth > 0.3 * typical) & (growth < 3 * typical)), "no stall-then-jump"


def test_transition_moves_from_the_first_room_into_the_second(
    blue: Path, orange: Path, tmp_path: Path
) -> None:
    out = tmp_path / "transition.mp4"
    render_transition(blue, orange, out, width=320, height=180, fps=FPS, duration_s=5.0)

    info = probe(out)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 320, 180, FPS)
    assert info.duration_s == pytest.approx(5.0, abs=1 / FPS)
    assert not info.has_audio
    frames = _frames(out, "rgb24")
    assert _distance(frames[0], BLUE) * 4 < _distance(frames[0], ORANGE)
    assert _distance(frames[-1], ORANGE) * 4 < _distance(frames[-1], BLUE)
    inner = frames[len(frames) // 10 : len(frames) * 9 // 10]
    assert all(not np.array_equal(a, b) for a, b in zip(inner, inner[1:], strict=False))


def test_rendering_is_deterministic(blue: Path, orange: Path, tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4"):
        render_clip(
            blue,
            tmp_path / name,
            end=orange,
            width=320,
            height=180,
            duration_s=2.0,
            motion=Motion.PUSH_IN,
            audio=True,
        )

    assert _hashes(tmp_path / "a.mp4") == _hashes(tmp_path / "b.mp4")
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


@pytest.mark.parametrize("content", [b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 64])
def test_an_unreadable_image_is_rejected(blue: Path, tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(content)
    out = tmp_path / "clip.mp4"

    with pytest.raises(InputRejected, match="broken.jpg"):
        render_clip(broken, out, width=320, height=180, duration_s=1.0)
    with pytest.raises(InputRejected, match="broken.jpg"):
        render_clip(blue, out, end=broken, width=320, height=180, duration_s=1.0)
    with pytest.raises(InputRejected, match="broken.jpg"):
        render_transition(blue, broken, out, width=320, height=180, duration_s=1.0)
    assert list(tmp_path.iterdir()) == [broken]


def test_ffmpeg_failures_surface_as_ffmpeg_errors(blue: Path, tmp_path: Path) -> None:
    with pytest.raises(FFmpegError, match="timed out"):
        render_clip(blue, tmp_path / "slow.mp4", width=320, height=180, timeout_s=0.05)
    with pytest.raises(FFmpegError):
        render_clip(blue, tmp_path / "missing" / "clip.mp4", width=320, height=180)
    assert list(tmp_path.iterdir()) == []


def test_full_hd_clip_with_audio(blue: Path, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(blue, out, motion=Motion.PUSH_IN, audio=True)

    info = probe(out)
    assert (info.video_codec, info.pix_fmt, info.width, info.height) == (
        "h264",
        "yuv420p",
        1920,
        1080,
    )
    assert info.fps == FPS
    assert info.duration_s == pytest.approx(5.0, abs=1 / FPS)
    assert info.audio_codec == "aac"


@pytest.mark.parametrize(
    ("prompt", "motion"),
    [
        ("Smooth pan left across the desk and shelves", Motion.PAN_LEFT),
        ("Camera tracking left past the island", Motion.PAN_LEFT),
        ("truck left", Motion.PAN_LEFT),
        ("Gentle pan right along the appliances", Motion.PAN_RIGHT),
        ("track right", Motion.PAN_RIGHT),
        ("Slow push in towards the bed", Motion.PUSH_IN),
        ("Steady dolly in down the hallway", Motion.PUSH_IN),
        ("ZOOM IN on the fireplace", Motion.PUSH_IN),
        ("move forward into the kitchen", Motion.PUSH_IN),
        ("Steady pull back revealing the full garage space", Motion.PULL_BACK),
        ("dolly out", Motion.PULL_BACK),
        ("zoom out slowly", Motion.PULL_BACK),
        ("A slow reveal of the garden", Motion.PULL_BACK),
        ("Slow tilt up from the entrance to the full facade", Motion.TILT_UP),
        ("The camera rises above the hedge", Motion.TILT_UP),
        ("crane up over the pool", Motion.TILT_UP),
        ("tilt down to the terrace", Motion.TILT_DOWN),
        ("Pan left, then push in", Motion.PAN_LEFT),
        ("push in, then pan left", Motion.PUSH_IN),
        ("Sunrise light; tilt down to the lawn", Motion.TILT_DOWN),
        ("A calm, bright kitchen", Motion.PUSH_IN),
        ("", Motion.PUSH_IN),
    ],
)
def test_motion_from_prompt(prompt: str, motion: Motion) -> None:
    assert motion_from_prompt(prompt) is motion
