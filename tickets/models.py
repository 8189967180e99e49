"""Tables of the ticket system (SQLAlchemy 2, typed declarative, its own ``Base``).

The same models run on SQLite (embedded default) and PostgreSQL (production); Alembic migrations
in ``tickets/migrations`` create them, and a test checks that the migration head and these models
agree. Times are stored in UTC and always come back timezone-aware, whatever the backend.

``ticket_events`` is the append-only processing log: the ORM refuses to update or delete its rows
(see ``_refuse_log_changes``) and database triggers refuse too. Tickets are never deleted either;
merging and closing only change their status.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from tickets.errors import TicketError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as an aware ``datetime``.

    SQLite keeps no offset; PostgreSQL keeps it in ``timestamptz``. Normalizing on both sides
    makes the two backends return the same values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the ticket tables only."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Agency(Base):
    """An agency tickets can be transferred to (a department, a district People's Committee …)."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    """A person who works with tickets; ``agency_code`` is set for agency liaisons."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.code"), nullable=True, index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Ticket(Base):
    """One contact (or conversation) and everything done about it."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_channel_thread_status", "channel", "thread_key", "status"),
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_agency_status", "agency_code", "status"),
        Index("ix_tickets_operator_status", "operator_id", "status"),
        Index("ix_tickets_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    thread_key: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    urgency: Mapped[str] = mapped_column(String(16), index=True)
    field: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    # Lower-case, accent-folded content: "lam lai can cuoc" finds "làm lại căn cước" on any DB.
    search_text: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_name: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(255), index=True)
    contact_social_id: Mapped[str | None] = mapped_column(String(255), index=True)
    procedure_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    recording_uri: Mapped[str | None] = mapped_column(String(1024))
    recording_seconds: Mapped[float | None] = mapped_column(Float)
    call_seconds: Mapped[float | None] = mapped_column(Float)
    call_outcome: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Where a reported problem is (Open311): lat, long, address, address_id, media_url.
    place: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Every UPDATE says "WHERE version = <the version read>": of two concurrent saves, one wins.
    __mapper_args__ = {"version_id_col": version}


class TicketEvent(Base):
    """One line of a ticket's processing log: who did what, when, from which value to which."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)


class AnswerProposal(Base):
    """An answered ticket proposed as a curated answer, and the editor's review of it."""

    __tablename__ = "answer_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(255))
    procedure_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(128))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Holiday(Base):
    """A public holiday that overrides the bundled calendar for its year."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class AppendOnlyViolation(TicketError):
    """Something tried to change or delete a log line or a ticket."""


@event.listens_for(Session, "before_flush")
def _refuse_log_changes(session: Session, flush_context: object, instances: object) -> None:
    """The ORM half of the append-only rule; database triggers are the other half."""
    for obj in session.dirty:
        if isinstance(obj, TicketEvent) and session.is_modified(obj):
            raise AppendOnlyViolation("ticket_events rows cannot be changed")
    for obj in session.deleted:
        if isinstance(obj, TicketEvent | Ticket):
            kind = "ticket_events rows" if isinstance(obj, TicketEvent) else "tickets"
            raise AppendOnlyViolation(f"{kind} cannot be deleted; nothing in the log is removed")
