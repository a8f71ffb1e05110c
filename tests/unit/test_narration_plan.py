"""The narration's pure decisions: what the written script says (only the spec's facts), where
each line plays, how much faster, and which clips hold longer."""

from __future__ import annotations

import re

import pytest

from studio_assets.domain.captions import ass, webvtt
from studio_assets.domain.narration import NarrationSpec, line_problem, speakable
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.script import Line
from studio_assets.domain.speech_timing import GAP_S, LEAD_S, MAX_TEMPO, TAIL_S, plan_speech

LISTING = {"address": "12 Elm Street", "price": 1250000, "beds": 4, "baths": 2.5, "area": 2400}
BRANDING = {"agent_name": "Jane Morrison", "agent_phone": "555-0142", "brokerage": "Acme Realty"}


def spec(**extra: object) -> ProjectSpec:
    clips = [{"image": f"{r}.jpg", "room_type": r} for r in ("exterior", "kitchen", "bedroom")]
    data = {"name": "Elm", "clips": clips, "narration": {"script": "auto"}, **extra}
    return ProjectSpec.model_validate(data)


def test_the_written_script_states_only_numbers_the_spec_holds() -> None:
    made = spec(listing=LISTING, branding=BRANDING)
    said = " ".join(line.text for line in made.script())
    facts = "12 1250000 1,250,000 4 2 2400 2,400 555-0142 0142 555"
    for number in re.findall(r"\d[\d,.-]*\d|\d", said):
        assert number in facts.split(), (number, said)
    assert "Jane Morrison" in said and "kitchen" in said and "bedroom" in said


def test_without_facts_the_script_names_only_the_rooms() -> None:
    said = [line.text for line in spec().script()]
    assert said[0] == "Welcome to Elm."
    assert not any(ch.isdigit() for text in said for ch in text)
    assert [line.role for line in spec().script()] == ["intro", "room", "room", "room"]


def test_an_empty_intro_and_outro_mean_none() -> None:
    made = spec(branding=BRANDING, narration={"script": "auto", "intro": "", "outro": ""})
    assert [line.role for line in made.script()] == ["room", "room", "room"]


def test_lines_fit_their_clip_faster_then_the_clip_holds() -> None:
    lines = [Line("room", 0, "a"), Line("room", 1, "b"), Line("room", 2, "c")]
    room = 5.0 - LEAD_S - TAIL_S
    plan = plan_speech([(0, 5.0), (None, 5.0), (1, 5.0), (2, 5.0)], lines, [3.0, room * 1.1, 7.0])
    first, second, third = plan.lines
    assert (first.start_s, first.tempo) == (LEAD_S, 1.0)
    assert second.start_s == pytest.approx(10 + LEAD_S) and second.tempo == pytest.approx(1.1)
    assert third.tempo == MAX_TEMPO
    assert plan.holds == {2: pytest.approx(7.0 / MAX_TEMPO - room, abs=1e-3)}
    assert third.end_s == pytest.approx(15 + 5 + plan.holds[2] - TAIL_S, abs=1e-3)


def test_intro_and_outro_share_their_clips_and_never_overlap() -> None:
    lines = [Line("intro", 0, "i"), Line("room", 0, "r0"), Line("room", 1, "r1"),
             Line("outro", 1, "o")]  # fmt: skip
    plan = plan_speech([(0, 5.0), (1, 5.0)], lines, [1.5, 1.5, 1.0, 1.0])
    intro, r0, r1, outro = plan.lines
    assert intro.start_s == LEAD_S and r0.start_s == pytest.approx(intro.end_s + GAP_S)
    assert outro.end_s == pytest.approx(10 - TAIL_S)  # as late as it can: over the agent card
    assert r1.end_s <= outro.start_s
    assert plan.for_rendition(branded=False) == (intro, r0, r1)


def test_a_failed_clip_s_line_is_dropped_and_the_outro_moves_to_the_last_clip_left() -> None:
    lines = [Line("intro", 0, "i"), Line("room", 0, "a"), Line("room", 1, "b"),
             Line("outro", 1, "o")]  # fmt: skip
    plan = plan_speech([(0, 5.0)], lines, [1.0, 1.0, 1.0, 1.0])
    assert [t.line.text for t in plan.lines] == ["i", "a", "o"]
    assert plan.lines[-1].end_s <= 5.0 - TAIL_S + 1e-6


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Fine: it's 50% [in] \\ ok", None),
        ("Café, Straße, € 890.000", None),
        ("  ", "is empty"),
        ("tab\there", "control"),
        ("zero\u200bwidth", "control or invisible"),
        ("<break time='1s'/>", "markup"),
        ("{\\an8}top", "markup"),
        ("%{pts}", "markup"),
        ("&amp;", "markup"),
        ("مرحبا", "letters the en-US voices cannot speak"),
        ("nice 🏡", "emoji"),
    ],
)
def test_line_problems(text: str, problem: str | None) -> None:
    found = line_problem(text)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_facts_are_made_speakable_before_they_are_written() -> None:
    assert speakable("12 Elm St 🏡 <b>") == "12 Elm St"
    assert line_problem(speakable("Rue de l'Église\u200b ✨")) is None


def test_captions_escape_what_their_formats_would_read_as_syntax() -> None:
    from studio_assets.domain.speech_timing import TimedLine

    timed = [TimedLine(Line("room", 0, "a --> b & c \\N d"), 0.3, 1.5, 1.0)]
    vtt = webvtt(timed)
    assert "00:00:00.300 --> 00:00:01.800\na --&gt; b &amp; c \\N d" in vtt
    script = ass(timed, (1080, 1920), "9:16", "Noto Sans")
    dialogue = script.splitlines()[-1]
    assert dialogue.startswith("Dialogue: 0,0:00:00.30,0:00:01.80,Default")
    assert "\\N" not in dialogue and "\\\u2060N" in dialogue


def test_the_default_voice_speaks_its_language() -> None:
    assert NarrationSpec().voice == "joe"
    with pytest.raises(ValueError, match="unknown language 'de-DE'"):
        NarrationSpec(language="de-DE")
