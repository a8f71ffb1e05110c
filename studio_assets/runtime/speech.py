"""Who speaks a project's lines: the offline voice, or a paid one bought line by line.

The offline voice speaks every line in one batch, free, with nothing to remember. A paid voice
(fal's Kokoro) is bought one request per line, each line a ledger slot (`ledger.SPEECH`, a
`narration_line` row) bought through `generate_once` like a clip: its request id stored before
it is awaited, resumed after a crash, never bought twice. A line's slot is named by a digest of
the project, voice, speed and text, so compiling again reuses every line already bought and an
edited line is bought anew. On the offline engine (`STUDIO_PROVIDER=local`, a free preview) a
paid voice's lines are spoken by the offline voice, free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg
from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.engine.voice import Speech, speak
from resources.errors import ProviderError
from resources.ffmpeg import probe
from resources.keys import content_id
from resources.models import NarrationLine, VideoProject
from resources.provider.base import GenerationJob, Kind, ProviderResource
from resources.provider.local import OFFLINE_VOICE, LocalProvider
from resources.repository import ledger, rows
from resources.storage import StorageResource
from studio_assets.domain.narration import FAL, VOICES, NarrationSpec
from studio_assets.domain.script import Line
from studio_assets.domain.wording import plural
from studio_assets.runtime.buying import Buy, buyer
from studio_assets.runtime.fanout import ItemResult, fan_out
from studio_assets.runtime.generation import Outcome
from studio_assets.runtime.progress import Tracker
from studio_assets.runtime.projects import engine_for
from studio_assets.runtime.slots import ITEM_RETRY
from studio_assets.runtime.stopping import StopFlag

Speaker = Callable[[Sequence[Line], Path], list[Speech]]
"""Speaks lines into a folder: one `Speech` per line, in order."""


def paid_voice(narration: NarrationSpec, provider: ProviderResource) -> bool:
    """Whether `provider` buys the lines: a fal voice on a provider that is not the free engine."""
    return VOICES[narration.voice].engine == FAL and provider.name != LocalProvider().name


def speech_job(narration: NarrationSpec, line: Line) -> GenerationJob:
    return GenerationJob(
        kind=Kind.SPEECH,
        prompt=line.text,
        voice=narration.voice,
        speed=narration.speed,
        label=f"narration line ({line.role}, clip {line.clip + 1})",
    )


def line_id(project_id: str, narration: NarrationSpec, text: str) -> str:
    return content_id("nl", project_id, narration.voice, f"{narration.speed:.3f}", text)


def offline_speaker(narration: NarrationSpec) -> Speaker:
    voice = OFFLINE_VOICE if VOICES[narration.voice].engine == FAL else narration.voice

    def speak_offline(lines: Sequence[Line], workdir: Path) -> list[Speech]:
        return speak([line.text for line in lines], voice, narration.speed, workdir)

    return speak_offline


def paid_speaker(
    narration: NarrationSpec,
    row: VideoProject,
    db: AppDatabase,
    storage: StorageResource,
    buy: Buy,
    max_workers: int,
    stop: StopFlag | None = None,
    on_line: Callable[[int, int], None] | None = None,
) -> Speaker:
    """Each line bought once (`max_workers` at a time), fetched from storage and measured."""

    def speak_paid(lines: Sequence[Line], workdir: Path) -> list[Speech]:
        ids = [line_id(row.id, narration, line.text) for line in lines]
        unique = dict(zip(ids, lines, strict=True))  # a line said twice is bought once
        db.patiently(lambda session: _add_slots(session, row.id, narration, unique))
        workdir.mkdir(parents=True, exist_ok=True)
        done = 0

        def bought(result: ItemResult[str, Outcome]) -> None:
            nonlocal done
            done += 1
            if on_line:
                on_line(done, len(unique))

        def buy_line(slot_id: str) -> Outcome:
            job, line_dir = speech_job(narration, unique[slot_id]), workdir / slot_id
            line_dir.mkdir(exist_ok=True)
            return buy(ledger.SPEECH, slot_id, job, f"narration/{slot_id}.wav", line_dir)

        results = fan_out(
            buy_line,
            list(unique),
            max_workers=max_workers,
            retry=ITEM_RETRY,
            on_done=bought,
            stop=stop,
        )
        failed = [r for r in results if r.value is None]
        if failed:
            why = "; ".join(f"{unique[r.item].text[:40]!r}: {r.error}" for r in failed)
            raise ProviderError(
                f"narration: {plural(len(failed), 'line')} of {len(unique)} could not be "
                f"spoken ({why}); a retry resumes them, buying nothing twice",
                retryable=True,
            )
        audio = {
            r.item: storage.fetch(r.value.uri, workdir / f"{r.item}.audio", 50 * 1024 * 1024)
            for r in results
            if r.value is not None
        }
        return [Speech(audio[i], probe(audio[i]).duration_s) for i in ids]

    return speak_paid


def _add_slots(
    session: Session, project_id: str, narration: NarrationSpec, lines: dict[str, Line]
) -> None:
    for slot_id, line in lines.items():
        rows.add_once(
            session,
            NarrationLine(
                id=slot_id,
                video_project_id=project_id,
                voice=narration.voice,
                speed=narration.speed,
                text=line.text,
            ),
        )


def speaker_for(
    context: dg.AssetExecutionContext,
    forced: Callable[[str], bool],
    db: AppDatabase,
    storage: StorageResource,
    provider: ProviderResource,
    row: VideoProject,
    tracker: Tracker,
) -> Speaker:
    """The offline voice, or the paid one line by line (a preview: the offline voice)."""
    narration = NarrationSpec.model_validate(row.narration)
    provider = engine_for(row, provider)
    if not paid_voice(narration, provider):
        return offline_speaker(narration)
    provider.check_ready()

    def on_line(done: int, total: int) -> None:
        label = f"Speaking the narration… ({done} of {plural(total, 'line')})"
        tracker.report("compiling", 80, label)

    buy = buyer(context, forced, db, storage, provider, row, tracker)
    return paid_speaker(
        narration, row, db, storage, buy, provider.max_concurrency, tracker.stop, on_line
    )
