"""The app database resource: a SQLAlchemy engine per URL, sessions, and migrations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TypeVar

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic"


@cache
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the sensor read while a run writes; foreign keys are off by default.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations to the database at `url`."""
    # Imported here: Alembic costs every run worker ~0.4 s of start-up, and only this needs it.
    from alembic.config import Config

    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class AppDatabase(dg.ConfigurableResource):
    """The property app's database (SQLite by default, Postgres in production)."""

    url: str
    outage_patience_s: float = Field(
        default=120.0, ge=0, description="how long a write that must land waits for the DB"
    )

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with sessionmaker(self.engine, expire_on_commit=False)() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        upgrade(self.url)

    def patiently(self, work: Callable[[Session], T], patience_s: float | None = None) -> T:
        """Run `work` in a transaction, retrying it while the database is unreachable.

        For the writes that must not be lost (a paid request's id, a finished result): an
        outage shorter than `patience_s` (default `outage_patience_s`) only delays them.
        Anything other than a lost or refused connection is raised at once."""

        def transaction() -> T:
            with self.session() as session:
                return work(session)

        return through_outage(
            transaction, self.outage_patience_s if patience_s is None else patience_s
        )


def through_outage(work: Callable[[], T], patience_s: float) -> T:
    """`work()`, called again while it fails because the database is unreachable."""
    deadline, delay = time.monotonic() + patience_s, 0.25
    while True:
        try:
            return work()
        except (OperationalError, InterfaceError, DBAPIError) as exc:
            if not is_outage(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning(f"app DB unreachable ({type(exc.orig).__name__}); retrying")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (rather than refusing the SQL)."""
    if isinstance(exc, OperationalError | InterfaceError):
        # SQLite reports schema mistakes as OperationalError too; those are no outage.
        return not any(word in str(exc.orig) for word in ("no such", "syntax error"))
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
