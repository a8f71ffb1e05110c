"""How a failing step ends up on the app DB row: bad input at once, faults after the last retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from resources.database import AppDatabase
from resources.errors import InputRejected, NotFound, ProviderError, StudioError
from resources.repository import rows
from resources.webhooks import WebhookResource
from studio_assets.runtime.notifications import notify


def user_message(exc: BaseException) -> str:
    """What the row and the CLI say; never a traceback, never a secret."""
    if isinstance(exc, StudioError | dg.Failure):
        return str(exc.description if isinstance(exc, dg.Failure) else exc)
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def row_fails_with_step(
    context: dg.AssetExecutionContext,
    db: AppDatabase,
    kind: str,
    row_id: str,
    max_retries: int,
    webhooks: WebhookResource | None = None,
) -> Iterator[None]:
    """Fail the row with a specific reason when the step fails for good; let retries act.

    With `webhooks`, the `failed` event goes out at once (the run-failure sensor would also
    send it, once, for runs that end without the asset getting this far).
    """

    def _fail(message: str) -> None:
        fail_row(db, kind, row_id, message)
        if webhooks is not None:
            notify(db, webhooks, kind, row_id, context.log)

    try:
        yield
    except (InputRejected, NotFound) as exc:
        _fail(str(exc))
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except ProviderError as exc:
        if not exc.retryable or context.retry_number >= max_retries:
            _fail(str(exc))
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        _note_retry(context, db, kind, row_id, str(exc))
        raise
    except dg.Failure as exc:
        if not exc.allow_retries or context.retry_number >= max_retries:
            _fail(user_message(exc))
        raise
    except Exception as exc:
        if context.retry_number >= max_retries:
            _fail(user_message(exc))
        else:
            _note_retry(context, db, kind, row_id, user_message(exc))
        raise


def fail_row(db: AppDatabase, kind: str, row_id: str, message: str) -> None:
    with db.session() as session:
        rows.fail(session, rows.model_for(kind), row_id, message)


def _note_retry(
    context: dg.AssetExecutionContext, db: AppDatabase, kind: str, row_id: str, message: str
) -> None:
    context.log.warning(f"attempt {context.retry_number + 1} failed for {row_id}: {message}")
    with db.session() as session:
        row = rows.get(session, rows.model_for(kind), row_id)
        rows.progress(
            session,
            rows.model_for(kind),
            row_id,
            row.step or "retrying",
            row.progress,
            f"Retrying after: {message}"[:500],
        )
