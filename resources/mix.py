"""The sound track as one FFmpeg filter graph: each segment's own sound (or silence) cut to its
length, the music looped or trimmed under it and ducked under the clips' own sound, the
narration's lines at their starts ducking everything under them, and the gain that brings the
mix to its loudness. `resources.compiler` runs the graphs.

Written out by hand rather than with ffmpeg-python: it merges identical inputs (a clip used
twice) into one node, which this graph must not do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from resources.compile_plan import (
    AUDIO_RATE,
    LOUDNESS_LUFS,
    MUSIC_FADE_S,
    TRUE_PEAK_DBTP,
    CompilePlan,
    VoiceLine,
)
from resources.ffmpeg import Loudness

# The music steps back under the clips' own sound: ~10 dB under sound at -21 dBFS RMS, ~3 dB
# under quiet room tone at -30 (threshold -34 dBFS, ratio 4); in 20 ms, back over 300 ms.
DUCKING = "threshold=0.02:ratio=4:attack=20:release=300"
# Everything else steps back under the narration: at least 10 dB under speech (threshold
# -46 dBFS, ratio 20), in 10 ms, back over 400 ms once a line ends.
VOICE_DUCKING = "threshold=0.005:ratio=20:attack=10:release=400"
# Speech peaks ~20 dB over its loudness, more than a linear gain to -14 LUFS under a -1.5 dBTP
# ceiling allows: the voice is levelled (+12 dB into a limiter 10.5 dB under full scale) to
# ~10 dB, as broadcast voice chains do.
VOICE_LEVELLING = "volume=4,alimiter=limit=0.3:level=false:attack=1:release=30"
_OUTPUT_FORMAT = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


def sound_graphs(
    plan: CompilePlan, voices: Sequence[tuple[VoiceLine, ...]]
) -> tuple[list[str], list[str], list[str]]:
    """Several mixes of the same video, each with its own narration, in one filter graph: their
    inputs (numbered after the concat list, input 0), the graph, and each mix's output label."""
    inputs: list[str] = []
    graph: list[str] = []
    labels: list[str] = []
    for n, voice in enumerate(voices):
        more, part, label = _sound_graph(plan, voice, first=1 + inputs.count("-i"))

        def own(text: str, n: int = n) -> str:  # this mix's labels, apart from the others'
            return _LABEL.sub(lambda m: f"[mix{n}_{m[1]}]", text)

        inputs += more
        graph += [own(step) for step in part]
        labels.append(own(label))
    return inputs, graph, labels


_LABEL = re.compile(r"\[([a-z][a-z_0-9]*)\]")
"""A link label in the graph (inputs, `[3:a:0]`, start with a digit)."""


def _sound_graph(
    plan: CompilePlan, voice: tuple[VoiceLine, ...], first: int
) -> tuple[list[str], list[str], str]:
    """The audio inputs (numbered from `first`), the filter graph that rebuilds the sound track
    with `voice`, and its output label."""
    inputs: list[str] = []

    def added(*args: str) -> int:
        inputs.extend(args)
        return first + inputs.count("-i") - 1

    graph = []
    for n, segment in enumerate(plan.segments):
        if segment.needs_silent_audio:
            graph.append(f"{_silence(segment.duration_s)}[a{n}]")
        else:
            graph.append(
                f"[{added('-i', str(segment.path))}:a:0]{_sound(segment.duration_s)}[a{n}]"
            )
    labels = "".join(f"[a{n}]" for n in range(len(plan.segments)))
    graph.append(f"{labels}concat=n={len(plan.segments)}:v=0:a=1[native]")
    beds = ["[native]"]
    if plan.mixes_music:
        music = added("-stream_loop", "-1", "-i", str(plan.music))
        graph += _music(plan, music)
        beds = ["[native_kept]" if plan.ducks_music else "[native]", "[music_bed]"]
    if voice:
        graph += _voice(plan, voice, [added("-i", str(line.path)) for line in voice])
        keys = "".join(f"[key{n}]" for n in range(len(beds)))
        graph.append(f"[voice]asplit={len(beds) + 1}[speech]{keys}")
        for n, bed in enumerate(beds):
            graph.append(f"{bed}[key{n}]sidechaincompress={VOICE_DUCKING}[under{n}]")
        beds = [*(f"[under{n}]" for n in range(len(beds))), "[speech]"]
    if len(beds) == 1:
        return inputs, graph, beds[0]
    # normalize=0: amix would otherwise lower each input to make room for the others.
    graph.append(f"{''.join(beds)}amix=inputs={len(beds)}:duration=first:normalize=0[mixed]")
    return inputs, graph, "[mixed]"


def _voice(plan: CompilePlan, voice: tuple[VoiceLine, ...], numbers: list[int]) -> list[str]:
    """Each line at its start (and tempo), on one track as long as the video."""
    total = plan.expected_duration_s
    graph = []
    for n, (line, number) in enumerate(zip(voice, numbers, strict=True)):
        tempo = f"atempo={line.tempo:.4f}," if abs(line.tempo - 1) > 1e-3 else ""
        delay = round(line.start_s * 1000)
        graph.append(
            f"[{number}:a:0]aresample={AUDIO_RATE},{_OUTPUT_FORMAT},{tempo}"
            f"adelay={delay}:all=1[line{n}]"
        )
    labels = "".join(f"[line{n}]" for n in range(len(voice)))
    joined = (
        f"{labels}amix=inputs={len(voice)}:duration=longest:normalize=0,"
        if len(voice) > 1
        else f"{labels}"
    )
    graph.append(
        f"{joined}{VOICE_LEVELLING},apad=whole_dur={total:.6f},atrim=end={total:.6f}[voice]"
    )
    return graph


def normalise(measured: Loudness) -> str:
    """The second pass: one linear gain to the target when the true peak stays under the
    ceiling with it; otherwise `loudnorm`'s dynamic mode, which holds the peak (back at 48 kHz)."""
    gain = LOUDNESS_LUFS - measured.integrated_lufs
    if measured.true_peak_dbtp + gain <= TRUE_PEAK_DBTP:
        return f"volume={gain:.2f}dB"
    return (
        f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DBTP}:LRA=20"
        f":measured_I={measured.integrated_lufs:.2f}:measured_TP={measured.true_peak_dbtp:.2f}"
        f":measured_LRA={measured.range_lu:.2f}:measured_thresh={measured.threshold_lufs:.2f}"
        f":linear=true,aresample={AUDIO_RATE}"
    )


def _silence(duration_s: float) -> str:
    return f"anullsrc=r={AUDIO_RATE}:cl=stereo:d={duration_s:.6f},{_OUTPUT_FORMAT}"


def _sound(duration_s: float) -> str:
    """A segment's own sound, exactly `duration_s` long: padded with silence or cut."""
    # async=1 fills a late start or a gap with silence instead of pulling the sound earlier.
    return (
        f"aresample={AUDIO_RATE}:async=1:first_pts=0,{_OUTPUT_FORMAT},"
        f"apad=whole_dur={duration_s:.6f},atrim=end={duration_s:.6f},asetpts=N/SR/TB"
    )


def _music(plan: CompilePlan, music_input: int) -> list[str]:
    """`[music_bed]`: the music looped (or trimmed) to the video, faded out, at its gain; ducked
    by the native sound (a sidechain compressor keyed on it, `[native_kept]` passing the native
    sound on) where there is any."""
    total = plan.expected_duration_s
    fade = min(MUSIC_FADE_S, total)
    music = [
        f"[{music_input}:a:0]{_OUTPUT_FORMAT},atrim=end={total:.6f},"
        f"afade=t=out:st={plan.music_fade_start_s:.6f}:d={fade:.6f},"
        f"volume={plan.music_gain:.3f}" + ("[music]" if plan.ducks_music else "[music_bed]"),
    ]
    if plan.ducks_music:
        music += [
            "[native]asplit=2[native_kept][key]",
            f"[music][key]sidechaincompress={DUCKING}[music_bed]",
        ]
    return music
