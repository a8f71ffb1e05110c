"""The ambient bed under offline clips: soft room tone and a quiet pad, the same every time.

Room tone is brown noise with a fixed seed per channel (wide stereo, yet repeatable), low-passed
steeply until it reads as air rather than hiss. The pad is an open A-major voicing of sine
waves, each voice swelling at its own slow rate, the right channel detuned a little for width.
All of it is one FFmpeg filtergraph of source filters: nothing to ship and nothing random.
"""

from __future__ import annotations

SAMPLE_RATE = 48_000
FADE_IN_S = 1.0
FADE_OUT_S = 1.5

# (frequency Hz, level, swell Hz): A2 E3 A3 C#4, the upper voices quieter so the low end leads.
_PAD_VOICES = (
    (110.0, 0.055, 0.10),
    (164.81, 0.040, 0.13),
    (220.0, 0.025, 0.17),
    (277.18, 0.015, 0.11),
)
_DETUNE_HZ = (0.0, 0.3)
_NOISE_LEVEL = 0.25
_NOISE_SEEDS = (20251, 20252)


def ambient_bed_graph(duration_s: float, label: str = "bed") -> str:
    """A `-filter_complex` graph without inputs whose output `[label]` is the bed: stereo,
    48 kHz, exactly `duration_s` long, fading in and out."""
    fade_in = min(FADE_IN_S, duration_s / 2)
    fade_out = min(FADE_OUT_S, duration_s / 2)
    channels = [_channel(side, duration_s) for side in range(2)]
    return ";".join(
        [
            *channels,
            "[c0][c1]join=inputs=2:channel_layout=stereo,"
            f"atrim=end_sample={round(duration_s * SAMPLE_RATE)},"
            f"afade=t=in:d={fade_in},afade=t=out:st={duration_s - fade_out}:d={fade_out},"
            f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo[{label}]",
        ]
    )


def _channel(side: int, duration_s: float) -> str:
    """One channel, `[c{side}]`: its room tone and the pad voices, mixed at their levels."""
    parts = [
        f"anoisesrc=c=brown:r={SAMPLE_RATE}:a={_NOISE_LEVEL}:s={_NOISE_SEEDS[side]}"
        f":d={duration_s},highpass=f=50,lowpass=f=700,lowpass=f=700[n{side}]"
    ]
    for i, (hz, level, swell) in enumerate(_PAD_VOICES):
        parts.append(
            f"sine=f={hz + _DETUNE_HZ[side]:.2f}:r={SAMPLE_RATE}:d={duration_s},"
            f"volume={level},tremolo=f={swell + 0.02 * side:.2f}:d=0.4[v{side}{i}]"
        )
    voices = "".join(f"[v{side}{i}]" for i in range(len(_PAD_VOICES)))
    parts.append(f"[n{side}]{voices}amix=inputs={len(_PAD_VOICES) + 1}:normalize=0[c{side}]")
    return ";".join(parts)
