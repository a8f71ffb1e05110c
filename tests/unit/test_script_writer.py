"""The paid script writer's prompt and the checks its answer passes before a voice speaks it:
a rewritten line is kept only when it is plain, fits its clip, states no number the facts lack
and names the agent only in the outro; anything else keeps the written line, saying why."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from studio_assets.domain.narration_plan import line_budgets
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.script_writer import Facts, checked_rewrite, writer_prompt

LISTING = {"address": "12 Elm Street", "price": 1250000, "beds": 4, "baths": 2.5, "area": 2400}
BRANDING = {"agent_name": "Jane Morrison", "agent_phone": "555-0142", "brokerage": "Acme Realty"}


def spec() -> ProjectSpec:
    clips = [{"image": f"{r}.jpg", "room_type": r} for r in ("exterior", "kitchen", "bedroom")]
    narration = {"script": "auto", "writer": "llm"}
    return ProjectSpec.model_validate(
        {
            "name": "Elm",
            "clips": clips,
            "narration": narration,
            "listing": LISTING,
            "branding": BRANDING,
        }  # fmt: skip
    )


def facts_and_draft() -> tuple[Facts, list, list[int]]:
    made = spec()
    assert made.narration is not None
    clips = made.ordered_clips()
    lines = made.spoken_lines()
    budgets = line_budgets(made.narration, lines, clips, made.listing, made.branding)
    return (
        Facts(made.name, tuple(c.label for c in clips), made.listing, made.branding),
        lines,
        budgets,
    )


def answer(*lines: object) -> str:
    return json.dumps({"lines": list(lines)})


def test_the_prompt_holds_only_the_facts_and_each_lines_limit() -> None:
    facts, lines, budgets = facts_and_draft()
    prompt = json.loads(writer_prompt(facts, lines, budgets))
    assert prompt["facts"] == {
        "name": "Elm", "rooms": ["exterior", "kitchen", "bedroom"], **LISTING, **BRANDING
    }  # fmt: skip
    assert [d["role"] for d in prompt["draft"]] == ["intro", "room", "room", "room", "outro"]
    assert [d["text"] for d in prompt["draft"]] == [line.text for line in lines]
    assert all(d["max_characters"] >= len(d["text"]) for d in prompt["draft"])
    assert budgets[1] > len(lines[1].text)  # a room line has room to say more


def test_a_good_rewrite_is_spoken_as_written() -> None:
    facts, lines, budgets = facts_and_draft()
    better = [
        "Welcome home to 12 Elm Street, with 2 and a half baths.",
        "Step outside first.",
        "The kitchen is made for gathering.",
        "A calm bedroom, one of four.",
        "Call Jane Morrison of Acme Realty at 555-0142.",
    ]
    done = checked_rewrite(answer(*better), facts, lines, budgets)
    assert [line.text for line in done.lines] == better
    assert [line.role for line in done.lines] == [line.role for line in lines]
    assert done.warnings == []


@pytest.mark.parametrize(
    ("room_line", "why"),
    [
        ("The kitchen, with 3 ovens.", "states a number the facts do not hold (3)"),
        ("The kitchen, one of five rooms.", "states a number the facts do not hold (5)"),
        ("The kitchen, with eight burners.", "states a number the facts do not hold (8)"),
        ("Jane Morrison loves this kitchen.", "names 'Jane Morrison' outside the outro"),
        ("Call 555-0142 about the kitchen.", "outside the outro"),
        ("The <b>kitchen</b>.", "holds markup"),
        ("The kitchen 🍳.", "emoji"),
        ("A bright kitchen. " * 6, "is 107 characters; its clip has room for 90"),
        ("The kitchen. " * 30, "is 390 characters; a line has at most 240"),
        ("", "is empty"),
        (7, "is not text"),
    ],
)
def test_a_rewritten_line_that_fails_a_check_keeps_the_written_one(
    room_line: object, why: str
) -> None:
    facts, lines, budgets = facts_and_draft()
    texts = [line.text for line in lines]
    rewrite = [*texts[:2], room_line, *texts[3:]]
    done = checked_rewrite(answer(*rewrite), facts, lines, budgets)
    assert [line.text for line in done.lines] == texts
    (warning,) = done.warnings
    assert warning.startswith("narration line 3 (room): the rewrite") and why in warning


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("Sure! Here is your script.", "it is not JSON"),
        ('{"script": []}', 'it has no "lines" list'),
        (answer("One line only."), "it has 1 lines for 5"),
    ],
)
def test_an_answer_that_cannot_be_read_leaves_the_written_script(reply: str, why: str) -> None:
    facts, lines, budgets = facts_and_draft()
    done = checked_rewrite(reply, facts, lines, budgets)
    assert done.lines == lines
    assert done.warnings == [f"the script writer's answer is not used: {why}"]


def test_an_answer_in_a_code_fence_is_read() -> None:
    facts, lines, budgets = facts_and_draft()
    texts = [line.text for line in lines]
    fenced = f"```json\n{answer('Welcome home to 12 Elm Street.', *texts[1:])}\n```"
    done = checked_rewrite(fenced, facts, lines, budgets)
    assert done.lines[0].text == "Welcome home to 12 Elm Street." and done.warnings == []


def test_the_writer_rewrites_only_the_written_script() -> None:
    clips = [{"image": "a.jpg", "room_type": "kitchen"}]
    with pytest.raises(ValidationError, match='writer "llm" rewrites the written script'):
        ProjectSpec.model_validate(
            {"name": "x", "clips": clips, "narration": {"script": ["Hi."], "writer": "llm"}}
        )
