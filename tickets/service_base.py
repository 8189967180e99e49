"""The plumbing under ``TicketService``: sessions, role and version checks, the log writer.

Split from ``tickets.service`` to keep each module readable; ``TicketService`` is the class to
use.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from answer_service.quality import redact
from search.errors import ErrorCode
from search.text.vietnamese import fold_accents
from tickets import directory
from tickets.errors import PermissionDenied, TicketError, TicketNotFound, VersionConflict
from tickets.intake import Contact, TicketKind
from tickets.models import Ticket, TicketEvent, utcnow
from tickets.schemas import MAX_ID, Actor, TicketOut, bounded_moment
from tickets.settings import TicketSettings
from tickets.sla import (
    VIETNAM_TIME,
    WorkingCalendar,
    is_overdue,
    load_holiday_file,
    merge_holidays,
    vietnam_date,
)
from tickets.suggestions import ProcedureSuggester
from tickets.workflow import Action, Role, check

logger = logging.getLogger(__name__)

DESK_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
"""Roles that work on tickets at the hotline's desk."""
READ_ALL_ROLES = DESK_ROLES | {Role.EDITOR, Role.SYSTEM}
"""Roles that see every ticket (liaisons see their agency's only)."""
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
EDITOR_ROLES = frozenset({Role.EDITOR, Role.ADMIN})
CONTACT_FIELDS = ("name", "phone", "email", "social_id")
SUMMARY_CHARS = 120
CALENDAR_REFRESH_SECONDS = 300.0
"""How long a service trusts the holidays it read (admins may change them meanwhile)."""


def mask_personal(value: str | None) -> str | None:
    """A contact detail as the log keeps it: its last two characters only ("*******12")."""
    if value is None:
        return None
    return "*" * max(len(value) - 2, 2) + value[-2:] if len(value) > 2 else "**"


_ID_AT_SENTENCE_END = re.compile(r"(?<![\w.])\d{9}(?:\d{3})?(?=\.(?!\d))")
"""An identity-card number right before a full stop, which ``redact`` leaves alone."""


def redact_personal(text: str) -> str:
    """``text`` with phone numbers, e-mail addresses and identity-card numbers masked.

    For what the public and the knowledge base see; staff see tickets unmasked.
    """
    return _ID_AT_SENTENCE_END.sub("[số giấy tờ]", redact(text))


def ticket_number(ticket_id: int, created_at: datetime) -> str:
    """The number shown to citizens: "1022-<year in Vietnam>-<id, six digits or more>"."""
    return f"1022-{created_at.astimezone(VIETNAM_TIME).year}-{ticket_id:06d}"


def search_text_of(content: str) -> str:
    """Lower-case, accent-folded, single-spaced content, as stored in ``tickets.search_text``."""
    return " ".join(fold_accents(content).lower().split())


def summarize(content: str) -> str:
    first = content.strip().splitlines()[0] if content.strip() else ""
    return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1] + "…"


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


class ServiceBase:
    """State and plumbing shared by the parts of ``TicketService``; see there."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: TicketSettings | None = None,
        suggester: ProcedureSuggester | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings or TicketSettings()
        self.suggester = suggester
        self.clock = clock
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._bundled_holidays = load_holiday_file(self.settings.holidays_file)
        self._calendar: WorkingCalendar | None = None
        self._calendar_loaded = 0.0
        self._warned_years: set[int] = set()

    # ------------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        """The service's current time (aware, UTC)."""
        return self.clock().astimezone(UTC)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def _write(self, ticket_id: int | None = None) -> Iterator[Session]:
        """A transaction; a lost optimistic-lock race becomes ``VersionConflict``."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except StaleDataError as exc:
            current = self._current_version(ticket_id)
            raise VersionConflict(
                f"ticket {ticket_id} was changed by someone else meanwhile", current_version=current
            ) from exc
        except OperationalError as exc:
            if "database is locked" not in str(exc.orig):
                raise
            # SQLite lets one writer in at a time; the other save is refused, not lost.
            raise TicketError(
                "another save of the same data was in progress; reload and try again",
                error_code=ErrorCode.CONFLICT,
            ) from exc
        except IntegrityError as exc:
            logger.warning("Ticket write refused by the database: %s", exc.orig)
            raise TicketError(
                "the change conflicts with stored data (a duplicate or a missing reference)",
                error_code=ErrorCode.CONFLICT,
            ) from exc
        finally:
            session.close()

    def _current_version(self, ticket_id: int | None) -> int:
        if ticket_id is None:
            return 0
        with self.sessions() as session:
            return session.scalar(select(Ticket.version).where(Ticket.id == ticket_id)) or 0

    @staticmethod
    def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
        if actor.role not in roles:
            allowed = ", ".join(sorted(role.value for role in roles))
            raise PermissionDenied(f"role {actor.role.value!r} may not {what}; allowed: {allowed}")

    @staticmethod
    def _visible(ticket: Ticket, actor: Actor) -> bool:
        if actor.role is Role.AGENCY_LIAISON:
            return ticket.agency_code is not None and ticket.agency_code == actor.agency_code
        return True

    def _ticket(self, session: Session, ticket_id: int, actor: Actor | None) -> Ticket:
        ticket = session.get(Ticket, ticket_id) if valid_id(ticket_id) else None
        # An invisible ticket answers as a missing one: its existence is not the liaison's business.
        if ticket is None or (actor is not None and not self._visible(ticket, actor)):
            raise TicketNotFound(f"no ticket with id {ticket_id}")
        return ticket

    @staticmethod
    def _check_version(ticket: Ticket, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != ticket.version:
            raise VersionConflict(
                f"ticket {ticket.number} was saved at version {expected_version}, which is stale",
                current_version=ticket.version,
            )

    def _log(
        self,
        session: Session,
        ticket: Ticket,
        actor: Actor,
        action: str,
        *,
        field: str | None = None,
        old: object = None,
        new: object = None,
        text: str | None = None,
        at: datetime | None = None,
    ) -> None:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=at or self.now(),
                actor=actor.username[:128],
                action=action,
                field=field,
                old_value=_text_or_none(old),
                new_value=_text_or_none(new),
                text=text,
            )
        )

    def _set(
        self, session: Session, ticket: Ticket, actor: Actor, action: str, name: str, value: object
    ) -> bool:
        """Set one column and log the change; returns False when the value is unchanged."""
        old = getattr(ticket, name)
        if old == value:
            return False
        setattr(ticket, name, value)
        if name.startswith("contact_"):
            self._log(
                session,
                ticket,
                actor,
                action,
                field=name,
                old=mask_personal(old),
                new=mask_personal(value),
            )
        else:
            self._log(session, ticket, actor, action, field=name, old=old, new=value)
        return True

    def _move(self, session: Session, ticket: Ticket, actor: Actor, action: Action) -> None:
        transition = check(ticket.status, action, actor.role)
        self._set(session, ticket, actor, action.value, "status", transition.target.value)
        ticket.updated_at = self.now()

    def _out(self, ticket: Ticket) -> TicketOut:
        session = object_session(ticket)
        if session is not None and session.dirty:
            session.flush()  # the new version number is assigned at flush
        out = TicketOut.model_validate(ticket)
        return out.model_copy(
            update={
                "overdue": is_overdue(ticket.status, ticket.due_at, self.now()),
                "holidays_known": self.holidays_known(ticket.created_at, ticket.due_at),
            }
        )

    # ------------------------------------------------------------------ calendar

    def calendar(self) -> WorkingCalendar:
        """Working days with this database's holidays (bundled file and admin overrides)."""
        # Another process may change the holidays; read them again after a few minutes.
        stale = time.monotonic() - self._calendar_loaded > CALENDAR_REFRESH_SECONDS
        if self._calendar is None or stale:
            with self._read() as session:
                overrides = directory.holiday_overrides(session)
            merged = merge_holidays(self._bundled_holidays, overrides)
            days = [day for entries in merged.values() for day, _, _ in entries]
            self._calendar = WorkingCalendar(days, known_years=merged)
            self._calendar_loaded = time.monotonic()
        return self._calendar

    def due_date(self, kind: TicketKind | str, start: datetime) -> datetime:
        """When a ticket of ``kind`` that came in at ``start`` is due (UTC)."""
        days = self.settings.sla_working_days[TicketKind(kind).value]
        calendar = self.calendar()
        due = calendar.due_at(start, days)
        for year in calendar.unknown_years(vietnam_date(start), vietnam_date(due)):
            if year not in self._warned_years:
                self._warned_years.add(year)
                logger.warning(
                    "No public holidays are known for %s: deadlines in it skip weekends only; "
                    "set the year's holidays (PUT /v1/holidays/%s)",
                    year,
                    year,
                )
        return due

    def holidays_known(self, start: datetime, due: datetime | None) -> bool:
        """Whether the holidays of every year from ``start`` to ``due`` were known."""
        if due is None:
            return True
        return self.calendar().knows(vietnam_date(start), vietnam_date(due))


def parse_role(value: Role | str) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role.from_str(value)
    except ValueError as exc:
        raise TicketError(str(exc)) from None


def require_text(value: str | None, name: str, limit: int) -> None:
    """Refuse a blank, oversized or NUL-holding text with a ``TicketError`` naming ``name``."""
    if not value:
        raise TicketError(f"{name} is required")
    if not value.strip():
        raise TicketError(f"{name} must not be blank")
    if len(value) > limit:
        raise TicketError(f"{name} is {len(value)} characters; at most {limit} are allowed")
    if "\x00" in value:
        raise TicketError(f"{name} must not contain NUL characters")


def valid_id(value: int) -> bool:
    """Whether ``value`` can be a row id at all (larger ones overflow the database column)."""
    return isinstance(value, int) and 1 <= value <= MAX_ID


ModelT = TypeVar("ModelT", bound=BaseModel)


def build_input(model: type[ModelT], **values: Any) -> ModelT:
    """``model(**values)``, with a validation failure turned into a ``TicketError`` (422)."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'input'}: {error['msg']}"
            for error in exc.errors()
        )
        raise TicketError(f"invalid {model.__name__}: {problems}") from None


def checked_moment(moment: datetime, name: str) -> datetime:
    """``moment`` if it is between 1900 and 2999, else a ``TicketError`` (422) naming ``name``."""
    try:
        return bounded_moment(moment)
    except ValueError as exc:
        raise TicketError(f"{name}: {exc}") from None


def contact_fields(contact: Contact) -> dict[str, str | None]:
    return {name: getattr(contact, name) for name in CONTACT_FIELDS}


def assume_vietnam_time(moment: datetime) -> datetime:
    # A filter time without an offset is read as Vietnam time, as people there type it.
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM_TIME)
