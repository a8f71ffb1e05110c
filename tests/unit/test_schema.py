"""The Alembic migrations build exactly the schema the SQLAlchemy models declare (a column
added to a model without its migration would fail only on a user's database)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from resources.database import upgrade
from resources.models import Base


def test_the_migrations_build_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
    assert "narration_script" in sa.inspect(engine).get_table_names()
