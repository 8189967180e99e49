"""Alembic environment of the ticket database.

``tickets.db.migrate`` hands over an open connection in ``config.attributes["connection"]``;
the command line may give the URL with ``-x url=...``. SQLite runs in batch mode, since it cannot
alter most constraints in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tickets.db import create_ticket_engine
from tickets.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over the given connection, or over a new engine on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_ticket_engine(str(url))
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the ticket migrations run online only: give a database URL")
run_migrations_online()
