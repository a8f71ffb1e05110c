"""Alembic environment: migrations for the app database (SQLite or Postgres).

`resources.database.upgrade` hands over an open connection; the command line (`alembic -x
url=…`) gets one from the URL.
"""

from sqlalchemy import Connection, create_engine

from alembic import context
from resources.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_engine(url)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
