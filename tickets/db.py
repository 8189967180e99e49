"""Engines, migrations and the ready-to-use service on the configured database.

``migrate(url)`` runs the Alembic migrations in ``tickets/migrations`` up to head; every process
that serves tickets calls it at start-up (``open_service`` does), so a new SQLite file or an empty
PostgreSQL database is ready without a separate step.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from search.errors import ConfigurationError
from tickets.errors import TicketError
from tickets.settings import TicketSettings

if TYPE_CHECKING:
    from tickets.service import TicketService

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"


def _enable_sqlite_foreign_keys(dbapi_connection: Any, connection_record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _refuse_nul(
    conn: object, cursor: object, statement: str, parameters: Any, context: object, many: bool
) -> None:
    """PostgreSQL cannot store NUL in text; refuse it as bad input on every backend alike."""
    if _holds_nul(parameters):
        raise TicketError("text must not contain NUL characters")


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


def create_ticket_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the ticket database; SQLite gets foreign keys and a busy timeout.

    Raises:
        ConfigurationError: the URL cannot be parsed or names no supported database.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError variants
        raise ConfigurationError(f"cannot parse the tickets database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    elif backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **kwargs)
    else:
        raise ConfigurationError(f"tickets support sqlite and postgresql URLs, got {backend!r}")
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def alembic_config(url: str) -> Config:
    """The Alembic configuration of the ticket migrations, aimed at ``url``."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    # ConfigParser interpolation would read "%" in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, *, engine: Engine | None = None) -> None:
    """Upgrade the ticket database at ``url`` to the newest migration.

    Args:
        url: The database URL.
        engine: An engine on that URL to reuse (an in-memory SQLite database needs it).
    """
    config = alembic_config(url)
    own_engine = engine is None
    active = engine or create_ticket_engine(url)
    try:
        with active.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if own_engine:
            active.dispose()
    logger.info("Ticket database migrated to head (%s)", make_url(url).get_backend_name())


def open_service(settings: TicketSettings | None = None, **kwargs: Any) -> TicketService:
    """A ``TicketService`` on the configured database, migrated to head first.

    Args:
        settings: The ticket settings; read from the environment when not given.
        **kwargs: Passed to ``TicketService`` (``suggester``, ``clock``).
    """
    from tickets.service import TicketService

    active = settings or TicketSettings()
    engine = create_ticket_engine(active.url)
    migrate(active.url, engine=engine)
    return TicketService(engine, settings=active, **kwargs)


def open_intake(settings: TicketSettings | None = None) -> TicketService:
    """The ``TicketIntake`` the channels and the telephony bridge use (a ``TicketService``)."""
    return open_service(settings)
