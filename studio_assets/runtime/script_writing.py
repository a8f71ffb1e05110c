"""The paid script writer at compile (`narration.writer: "llm"`): the written lines rewritten
by fal's any-llm, bought once, checked, stored, then spoken.

The request is a ledger slot (`ledger.SCRIPT`, a `narration_script` row) bought through
`generate_once` like a clip: its id stored before it is awaited, resumed after a crash, never
bought twice. The slot is named by a digest of the project, the model and the prompt, so
compiling again reuses the answer (and so the same lines, the same paid speech); a changed fact
is a new prompt, bought anew. The answer is stored as it came, and the lines that pass the
checks (`domain.script_writer`) are written to the row before the voice speaks them. The free
engine (`STUDIO_PROVIDER=local`, a preview) writes nothing: it speaks the written script.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from resources.database import AppDatabase
from resources.errors import ProviderError
from resources.keys import content_id
from resources.models import NarrationScript, VideoProject
from resources.provider.base import GenerationJob, Kind, ProviderResource
from resources.provider.local import LocalProvider
from resources.repository import ledger, rows
from resources.storage import StorageResource
from studio_assets.domain.narration import NarrationSpec
from studio_assets.domain.narration_plan import line_budgets
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.script import Line
from studio_assets.domain.script_writer import (
    INSTRUCTIONS,
    Facts,
    Rewrite,
    checked_rewrite,
    writer_prompt,
)
from studio_assets.runtime.buying import Buy, buyer
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.projects import engine_for

Writer = Callable[[ProjectSpec, list[Line], Path], list[Line]]
"""Rewrites a spec's spoken lines (in a work folder): the lines to speak."""
MAX_ANSWER_BYTES = 1024 * 1024


def script_id(project_id: str, model: str, prompt: str) -> str:
    return content_id("ns", project_id, model, prompt)


def writer_for(
    context: dg.AssetExecutionContext,
    forced: Callable[[str], bool],
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    row: VideoProject,
    tracker: Tracker,
) -> Writer | None:
    """The paid writer, when the project asks for it and a paid provider makes it."""
    narration = NarrationSpec.model_validate(row.narration)
    provider = engine_for(row, provider)
    if narration.writer != "llm" or provider.name == LocalProvider().name:
        return None
    provider.check_ready()
    buy = buyer(context, forced, db, storage, provider, row, tracker)
    model = provider.model_for(Kind.SCRIPT)

    def write(spec: ProjectSpec, lines: list[Line], workdir: Path) -> list[Line]:
        tracker.report("compiling", 80, "Writing the narration…")
        written = rewrite(spec, lines, row.id, model, db, storage, buy, workdir)
        for warning in written.warnings:
            context.log.warning(warning)
        return written.lines

    return write


def rewrite(
    spec: ProjectSpec,
    lines: list[Line],
    project_id: str,
    model: str,
    db: AppDatabase,
    storage: StorageResource,
    buy: Buy,
    workdir: Path,
) -> Rewrite:
    """`lines` with the written ones rewritten (given ones stay as they are)."""
    assert spec.narration is not None
    clips = spec.ordered_clips()
    facts = Facts(spec.name, tuple(c.label for c in clips), spec.listing, spec.branding)
    picked = [n for n, line in enumerate(lines) if spec.narration.written(line.role)]
    draft = [lines[n] for n in picked]
    if not draft:
        return Rewrite(lines, [])
    budgets = line_budgets(spec.narration, draft, clips, spec.listing, spec.branding)
    prompt = writer_prompt(facts, draft, budgets)
    slot_id = script_id(project_id, model, prompt)
    db.patiently(
        lambda session: rows.add_once(
            session,
            NarrationScript(id=slot_id, video_project_id=project_id, model=model, prompt=prompt),
        )
    )
    workdir.mkdir(parents=True, exist_ok=True)
    job = GenerationJob(
        kind=Kind.SCRIPT, prompt=prompt, instructions=INSTRUCTIONS, label="narration script"
    )
    try:
        outcome = buy(ledger.SCRIPT, slot_id, job, f"narration/{slot_id}.json", workdir)
    except ProviderError as exc:
        if exc.retryable:
            raise
        return Rewrite(lines, [f"the script writer failed ({exc}); the written script is spoken"])
    answer = storage.fetch(outcome.uri, workdir / f"{slot_id}.json", MAX_ANSWER_BYTES)
    checked = checked_rewrite(_output(answer), facts, draft, budgets)
    texts = [line.text for line in checked.lines]
    db.patiently(lambda session: rows.keep_script(session, slot_id, texts, checked.warnings))
    spoken = list(lines)
    for n, line in zip(picked, checked.lines, strict=True):
        spoken[n] = line
    return Rewrite(spoken, checked.warnings)


def _output(answer: Path) -> str:
    try:
        output = json.loads(answer.read_text(encoding="utf-8")).get("output")
    except (ValueError, AttributeError):
        return ""
    return output if isinstance(output, str) else ""
