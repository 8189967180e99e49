"""Ticket databases for integration tests: the same test runs on SQLite and on PostgreSQL.

``ticket_db_url`` is parametrized over both backends. SQLite gets a new file per test; PostgreSQL
gets one uniquely named database per test session (``tickets_test_<random>``, dropped at the end,
so parallel runs never meet), migrated once and emptied with TRUNCATE before each test. A down
PostgreSQL is started with ``scripts/start-services.sh``; when it cannot be, the tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.utils.tickets import FixedClock, fresh_postgres_database
from tickets.db import create_ticket_engine, migrate
from tickets.models import Base
from tickets.service import TicketService
from tickets.settings import BUNDLED_HOLIDAYS, TicketSettings
from tickets.sla import VIETNAM_TIME

BACKENDS = ("sqlite", "postgresql")
START = datetime(2026, 3, 2, 9, 0, tzinfo=VIETNAM_TIME)
"""Monday 2 March 2026, 09:00 in Vietnam: the tests' default "now"."""


@pytest.fixture(scope="session")
def postgres_ticket_db() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session; dropped at the end."""
    with fresh_postgres_database() as url:
        migrate(url)
        yield url


def _truncate(url: str) -> None:
    engine = create_ticket_engine(url)
    tables = ", ".join(table.name for table in reversed(Base.metadata.sorted_tables))
    try:
        with engine.begin() as connection:
            # TRUNCATE fires no row trigger, so the append-only guards stay in place.
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def ticket_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated ticket database, on each backend in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.sqlite'}"
        migrate(url)
        return url
    url = request.getfixturevalue("postgres_ticket_db")
    _truncate(url)
    return url


@pytest.fixture
def ticket_engine(ticket_db_url: str) -> Iterator[Engine]:
    """An engine on ``ticket_db_url``."""
    engine = create_ticket_engine(ticket_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ticket_clock() -> FixedClock:
    """The service's clock, standing at ``START`` until a test moves it."""
    return FixedClock(START)


@pytest.fixture
def ticket_settings(ticket_db_url: str) -> TicketSettings:
    """Default settings on the test database and the bundled holidays."""
    return TicketSettings(database_url=ticket_db_url, holidays_file=BUNDLED_HOLIDAYS)


@pytest.fixture
def ticket_service(
    ticket_engine: Engine, ticket_settings: TicketSettings, ticket_clock: FixedClock
) -> TicketService:
    """A ``TicketService`` on the test database, with the fixed clock and no procedure search."""
    return TicketService(ticket_engine, settings=ticket_settings, clock=ticket_clock)
