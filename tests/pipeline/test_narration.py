"""Narrated tours on the offline engine: the speech heard back by an offline recogniser
(PocketSphinx, its en-US model in the wheel), the captions read as files and off the picture,
the music measured under the voice, and nothing of the agent in the unbranded cut."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from resources.errors import InputRejected
from resources.ffmpeg import measure_loudness, probe, run_ffmpeg
from studio_assets.app import status as status_json
from studio_assets.app import submission
from studio_assets.app.samples import room_photo
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import parse_spec
from tests.pipeline.test_publishing import AGENT_WORDS, BRANDING, LISTING, ocr, text_at
from tests.support.projects import project, run
from tests.support.studio_fixtures import Studio, make_studio

ROOMS = ("exterior", "living-room", "kitchen", "bedroom")
HIGH_TONE_HZ = 15_000  # the music: above anything the voice (22.05 kHz, so < 11 kHz) holds


def tone(path: Path, seconds: float, hz: int) -> Path:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate=48000:duration={seconds}",
         "-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k", str(path)]
    )  # fmt: skip
    return path


def pcm(video: Path, start_s: float = 0.0, end_s: float | None = None, *, af: str = "") -> Any:
    """Mono 16 kHz samples of the video's sound (optionally filtered), as float32."""
    args = ["-ss", f"{start_s:.3f}", "-i", str(video)]
    if end_s is not None:
        args += ["-t", f"{end_s - start_s:.3f}"]
    out = Path(tempfile.mkdtemp()) / "sound.raw"
    rate = 48_000 if af else 16_000
    filters = ["-af", af] if af else []
    run_ffmpeg([*args, "-vn", *filters, "-ac", "1", "-ar", str(rate), "-f", "s16le", str(out)])
    return np.frombuffer(out.read_bytes(), dtype=np.int16).astype(np.float32) / 32768


def transcribe(video: Path, start_s: float = 0.0, end_s: float | None = None) -> str:
    from pocketsphinx import Decoder

    samples = pcm(video, start_s, end_s)
    decoder = Decoder(samprate=16000, logfn="/dev/null")
    decoder.start_utt()
    decoder.process_raw((samples * 32767).astype(np.int16).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)\n(.+)", text)
    return [(seconds(a), seconds(b), words) for a, b, words in cues]


def outputs_of(studio: Studio, project_id: str) -> list[dict[str, Any]]:
    """The renditions as the status JSON links them (local paths here)."""
    status = status_json.video_status(studio.db, studio.storage, project_id)
    return list(status["output"]["renditions"])


def narrated_spec(studio: Studio, **extra: Any) -> ProjectSpec:
    clips = [
        {"image": str(room_photo(studio.tmp / f"{r}.jpg", r, (640, 360))), "room_type": r}
        for r in ROOMS
    ]
    music = {"audio_url": str(tone(studio.tmp / "tone.mp3", 30, HIGH_TONE_HZ)), "volume": 60}
    data = {
        "name": "Elm house",
        "clips": clips,
        "music": music,
        "listing": LISTING,
        "branding": BRANDING,
        "narration": {"script": "auto"},
        **extra,
    }
    return parse_spec(ProjectSpec, data)


@pytest.fixture(scope="module")
def narrated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One 4-room narrated project (branded 16:9, its unbranded cut, a branded 9:16) run once
    for the tests below."""
    with make_studio(tmp_path_factory.mktemp("narrated")) as studio:
        renditions = [
            {"aspect_ratio": "16:9", "branded": True},
            {"aspect_ratio": "16:9", "branded": False},
            {"aspect_ratio": "9:16", "branded": True},
        ]
        spec = narrated_spec(studio, renditions=renditions)
        project_id = submission.submit_project(studio.db, studio.storage, spec)
        draft = status_json.video_status(studio.db, studio.storage, project_id)
        assert run(studio, project_id).success
        yield studio, project_id, draft


def test_the_script_is_shown_before_anything_is_made(narrated: Any) -> None:
    _, _, draft = narrated
    script = draft["narration"]["script"]
    assert [line["role"] for line in script] == ["intro", "room", "room", "room", "room", "outro"]
    assert [line["clip"] for line in script] == [1, 1, 2, 3, 4, 4]
    spoken = " ".join(line["text"] for line in script)
    assert "12 Elm Street" in spoken and "4 bedrooms" in spoken and "Jane Morrison" in spoken
    starts = [line["start_s"] for line in script]
    assert starts == sorted(starts)
    assert all(line["duration_s"] > 0.5 for line in script)


def test_the_tour_speaks_its_rooms_and_facts_in_each_clip(narrated: Any) -> None:
    studio, project_id, _ = narrated
    done = project(studio, project_id)
    assert done.status == "completed"
    branded = Path(outputs_of(studio, project_id)[0]["video_url"])
    info = probe(branded)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    heard = transcribe(branded)
    for words in ("welcome", "living room", "kitchen", "bedroom", "four"):
        assert words in heard, heard
    cues = vtt_cues(Path(outputs_of(studio, project_id)[0]["captions_url"]).read_text())
    clip_ends = np.cumsum([0.0] + [5.0] * 4)  # 4 clips of 5 s, cuts (plus any hold: below)
    duration = info.duration_s
    assert clip_ends[-1] <= duration + 0.1
    # every clip's window holds speech: a cue starts inside it
    for n in range(4):
        assert any(
            clip_ends[n] <= start < clip_ends[n + 1] + (duration - 20) for start, _, _ in cues
        )
    loud = measure_loudness(branded)
    assert loud.integrated_lufs == pytest.approx(-14.0, abs=1.0) and loud.true_peak_dbtp <= -1.0


def test_a_burned_in_caption_over_the_listing_card_sits_above_it(narrated: Any) -> None:
    """The 9:16 cut burns its captions in: the intro's, spoken while the listing card's band
    covers the bottom, is drawn at the top; the card's address stays readable below."""
    studio, project_id, _ = narrated
    vertical = outputs_of(studio, project_id)[2]
    assert vertical["aspect_ratio"] == "9:16"
    start, end, intro = vtt_cues(Path(vertical["captions_url"]).read_text())[0]
    frame = studio.tmp / "vertical-intro.png"
    at = min((start + end) / 2, start + 1.0)
    run_ffmpeg(["-ss", f"{at:.3f}", "-i", vertical["video_url"], "-frames:v", "1", str(frame)])
    found, _ = ocr()(str(frame))
    height = Image.open(frame).height
    tops = {text: min(y for _, y in box) for box, text, _ in found or []}
    caption = [y for text, y in tops.items() if intro.split()[0] in text]
    address = [y for text, y in tops.items() if text.strip() == LISTING["address"]]
    assert caption and max(caption) < height / 2, tops  # the caption at the top
    assert address and min(address) > height / 2, tops  # the card's text at the bottom, clear


def test_captions_have_one_cue_per_line_in_order_within_the_video(narrated: Any) -> None:
    studio, project_id, draft = narrated
    lines = [line["text"] for line in draft["narration"]["script"]]
    for output in outputs_of(studio, project_id):
        cues = vtt_cues(Path(output["captions_url"]).read_text())
        expected = lines if output["branded"] else lines[:-1]  # no outro in the unbranded cut
        assert [text for _, _, text in cues] == expected
        starts = [start for start, _, _ in cues]
        assert starts == sorted(starts)
        pairs = zip(cues, cues[1:], strict=False)
        assert all(b <= a2 for (_, b, _), (a2, _, _) in pairs)  # never overlap
        assert cues[-1][1] <= output["duration_seconds"]


def test_each_cue_is_spoken_when_it_is_shown(narrated: Any) -> None:
    studio, project_id, _ = narrated
    branded = Path(outputs_of(studio, project_id)[0]["video_url"])
    for start, end, text in vtt_cues(
        Path(outputs_of(studio, project_id)[0]["captions_url"]).read_text()
    )[:3]:
        heard = transcribe(branded, max(0.0, start - 0.3), end + 0.3)
        first_word = re.sub(r"[^a-z ]", "", text.lower()).split()[0]
        assert first_word in heard.split(), (text, heard)


def test_the_unbranded_cut_never_names_the_agent(narrated: Any) -> None:
    studio, project_id, _ = narrated
    unbranded = next(o for o in outputs_of(studio, project_id) if not o["branded"])
    captions = Path(unbranded["captions_url"]).read_text()
    assert not any(word.lower() in captions.lower() for word in AGENT_WORDS), captions
    heard = transcribe(Path(unbranded["video_url"]))
    assert "jane" not in heard and "morrison" not in heard, heard
    branded_heard = transcribe(Path(outputs_of(studio, project_id)[0]["video_url"]))
    assert "call" in branded_heard  # the branded cut does speak the outro


def test_the_music_sits_10_db_under_the_voice(narrated: Any) -> None:
    studio, project_id, _ = narrated
    branded = Path(outputs_of(studio, project_id)[0]["video_url"])
    cues = vtt_cues(Path(outputs_of(studio, project_id)[0]["captions_url"]).read_text())
    music = pcm(branded, af=f"highpass=f={HIGH_TONE_HZ - 2000}:poles=2,highpass=f=12000")
    rate = 48_000

    def level_db(a: float, b: float) -> float:
        chunk = music[int(a * rate) : int(b * rate)]
        return 20 * np.log10(np.sqrt(np.mean(chunk**2)) + 1e-9)

    speech = [level_db(a + 0.3, b - 0.2) for a, b, _ in cues if b - a > 1.0]
    gaps = [
        level_db(b + 0.6, a2 - 0.05)
        for (_, b, _), (a2, _, _) in zip(cues, cues[1:], strict=False)
        if a2 - b > 1.0
    ]
    assert speech and gaps
    assert max(speech) <= min(gaps) - 10, (speech, gaps)


def test_vertical_captions_are_burned_in_with_accents_and_euro(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    lines = ["Café Straße, € 890.000 — it's 50%: [in] \\N back\\slash", "Die Küche.", "Ö.", "Ende."]
    spec = narrated_spec(
        studio,
        aspect_ratio="9:16",
        renditions=[{"aspect_ratio": "9:16", "branded": False}],
        narration={"script": lines, "intro": "", "captions": {"burn_in": "auto"}},
    )
    project_id = submission.submit_project(studio.db, studio.storage, spec)
    assert run(studio, project_id).success
    video = Path(outputs_of(studio, project_id)[0]["video_url"])
    cues = vtt_cues(Path(outputs_of(studio, project_id)[0]["captions_url"]).read_text())
    assert [text for _, _, text in cues] == lines
    work = studio.tmp / "frames"
    work.mkdir()
    seen = text_at(video, (cues[0][0] + cues[0][1]) / 2, work)
    assert "Café" in seen and re.search("Stra[ßβB]e", seen), seen  # accents and ß drawn
    assert "890.000" in seen and "[in]" in seen, seen  # filter syntax is plain text
    assert re.search(r"N\s*back", seen), seen  # "\\N" is not a line break


@pytest.mark.parametrize(
    ("narration", "message"),
    [
        ({"voice": "nobody"}, "unknown voice 'nobody'; the voices are: joe"),
        ({"language": "fr-FR"}, "unknown language 'fr-FR'; the languages are: en-US"),
        ({"script": ["One.", "Two."]}, "narration.script has 2 lines for 4 clips"),
        ({"script": ["", "b", "c", "d"]}, "narration line 1 (exterior) is empty"),
        ({"script": ["a", "<speak>hi</speak>", "c", "d"]}, "line 2 (living room) holds markup"),
        ({"script": ["a", "b", "%{pts}", "d"]}, "line 3 (kitchen) holds markup ({pts})"),
        ({"script": ["a", "b", "c", "bell\x07"]}, "line 4 (bedroom) holds a control"),
        ({"script": ["🏡", "b", "c", "d"]}, "line 1 (exterior) holds an emoji"),
        ({"script": ["שלום", "b", "c", "d"]}, "holds letters the en-US voices cannot speak"),
        ({"script": ["x" * 10_000, "b", "c", "d"]}, "is 10000 characters; a line has at most"),
        (
            {"script": ["word " * 40, "b", "c", "d"]},
            "the narration over clip 1 (exterior) is about",
        ),
        ({"script": ["Ask Jane Morrison", "b", "c", "d"]}, "names 'Jane Morrison'"),
        ({"script": ["a", "Jane loves this.", "c", "d"]}, "line 2 (living room) names 'Jane'"),
        ({"script": ["a", "b", "Dial 5550142 now.", "d"]}, "line 3 (kitchen) names '555-0142'"),
        ({"script": ["a", "...", "c", "d"]}, "line 2 (living room) has no words to speak"),
        ({"captions": {"burn_in": "yes"}}, "burn_in: is true, false or \"auto\", not 'yes'"),
        ({"speed": 3}, "narration speed"),
    ],
)
def test_bad_narration_is_refused_at_submit_naming_the_line(
    sqlite_studio: Studio, narration: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputRejected, match=re.escape(message)):
        narrated_spec(sqlite_studio, narration=narration)
