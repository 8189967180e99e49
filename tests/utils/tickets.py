"""Factories and helpers for ticket tests: databases, a settable clock, agencies, users, tickets.

Every name, number and address here is invented (phones are 0900000xxx).
"""

from __future__ import annotations

import itertools
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tickets.intake import Channel, TicketKind, Urgency
from tickets.schemas import Actor, AgencyOut, ContactIn, TicketCreate, TicketOut, UserOut
from tickets.service import TicketService
from tickets.workflow import Role

POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
"""The maintenance database of the local test server; new test databases are made from it."""

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_ADMIN = Actor(username="test-setup", role=Role.ADMIN)
"""An admin actor for arranging test data."""

_counter = itertools.count(1)


class FixedClock:
    """A clock that stands still until a test moves it.

    Args:
        start: The time it shows first (aware).
    """

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self.current = moment


def ensure_postgres() -> None:
    """Start the local PostgreSQL with ``scripts/start-services.sh`` when it does not answer.

    Raises:
        RuntimeError: it still does not answer.
    """
    engine = create_engine(POSTGRES_SERVER_URL)
    try:
        try:
            with engine.connect():
                return
        except OperationalError:
            subprocess.run(
                ["bash", str(REPO_ROOT / "scripts" / "start-services.sh")], check=False, timeout=300
            )
        try:
            with engine.connect():
                return
        except OperationalError as exc:
            raise RuntimeError(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}") from exc
    finally:
        engine.dispose()


@contextmanager
def fresh_postgres_database(prefix: str = "tickets_test") -> Iterator[str]:
    """A new, uniquely named, empty PostgreSQL database, dropped afterwards; yields its URL."""
    ensure_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_agency(
    service: TicketService, code: str | None = None, name: str | None = None
) -> AgencyOut:
    """An active agency with an invented name and number."""
    number = next(_counter)
    return service.create_agency(
        code=code or f"AG-TEST-{number}",
        name=name or f"Cơ quan thử nghiệm số {number}",
        phone=f"0900000{number % 1000:03d}",
        email=f"agency{number}@example.invalid",
        actor=SETUP_ADMIN,
    )


def make_user(
    service: TicketService,
    role: Role | str = Role.OPERATOR,
    *,
    username: str | None = None,
    agency_code: str | None = None,
    password_hash: str = "",
) -> UserOut:
    """A user of ``role``; a liaison without ``agency_code`` gets a new agency."""
    role = Role(role)
    if role is Role.AGENCY_LIAISON and agency_code is None:
        agency_code = make_agency(service).code
    number = next(_counter)
    return service.create_user(
        username=username or f"{role.value}-{number}",
        role=role,
        full_name=f"Người dùng thử {number}",
        agency_code=agency_code,
        password_hash=password_hash,
        actor=SETUP_ADMIN,
    )


def make_actor(service: TicketService, role: Role | str = Role.OPERATOR, **kwargs: object) -> Actor:
    """A new user of ``role``, as the actor of service calls."""
    return make_user(service, role, **kwargs).actor()  # type: ignore[arg-type]


def make_ticket(
    service: TicketService,
    actor: Actor | str = "system:test",
    *,
    content: str = "Cho hỏi thủ tục làm lại căn cước công dân bị mất?",
    channel: Channel = Channel.PHONE,
    kind: TicketKind = TicketKind.QUESTION,
    urgency: Urgency = Urgency.NORMAL,
    field: str | None = None,
    public: bool = False,
    phone: str | None = "0900000123",
    received_at: datetime | None = None,
    **extra: object,
) -> TicketOut:
    """A new ticket with invented contact data."""
    return service.create(
        TicketCreate(
            channel=channel,
            content=content,
            kind=kind,
            urgency=urgency,
            field=field,
            public=public,
            contact=ContactIn(name="Nguyễn Văn Thử", phone=phone),
            received_at=received_at,
            **extra,  # type: ignore[arg-type]
        ),
        actor=actor,
    )


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
