"""The ticket service: every contact recorded, classified, routed and tracked to its answer.

``TicketService`` is the only way into the ticket tables. It implements the channels' seam
(``tickets.intake.TicketIntake``), the operators' and agencies' work on tickets, the knowledge
loop (it is an ``ingestion.connectors.curated.AnsweredTicketSource``), statistics and export.

Rules every write follows:

- the actor's role (and agency, for liaisons) is checked first (``PermissionDenied``, 403);
- a client edit names the version it read; an older one raises ``VersionConflict`` (409), and the
  ``WHERE version = …`` of the UPDATE settles two saves racing on the database;
- status changes go through ``tickets.workflow`` (``InvalidTransition``, 409);
- every change writes ``ticket_events`` rows (who, when, what, old, new) in the same transaction,
  so the log and the ticket never disagree; nothing is ever deleted.

Contact details are personal data: they never reach ``logging``, and the log keeps them masked.
"""

from __future__ import annotations

import logging
import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from search.errors import ErrorCode
from tickets import directory
from tickets.errors import InvalidTransition, PermissionDenied, TicketError, TicketNotFound
from tickets.export import ExportFile, ExportFormat, render_export
from tickets.intake import (
    Channel,
    Contact,
    ContactRequest,
    EntryKind,
    TicketKind,
    TicketRef,
    TicketSummary,
    Urgency,
)
from tickets.models import Ticket, TicketEvent, User
from tickets.schemas import (
    MAX_ANSWER_CHARS,
    MAX_CONTENT_CHARS,
    Actor,
    ContactIn,
    EventOut,
    Suggestions,
    TicketCreate,
    TicketFilters,
    TicketOut,
    TicketPage,
    TicketPublic,
    TicketUpdate,
    is_blank,
    long_text,
)
from tickets.service_admin import AdminMixin
from tickets.service_base import (
    CONTACT_FIELDS,
    DESK_ROLES,
    EDITOR_ROLES,
    READ_ALL_ROLES,
    SUMMARY_CHARS,
    SUPERVISION_ROLES,
    assume_vietnam_time,
    build_input,
    checked_moment,
    contact_fields,
    mask_personal,
    redact_personal,
    require_text,
    search_text_of,
    summarize,
    ticket_number,
    valid_id,
)
from tickets.service_knowledge import KnowledgeMixin
from tickets.stats import Period, StatsReport, compute_stats
from tickets.suggestions import suggest
from tickets.workflow import (
    OPEN_STATUSES,
    PENDING_STATUSES,
    Action,
    Role,
    Status,
    action_to,
    allowed_targets,
)

logger = logging.getLogger(__name__)

RECEIVED_AT_SKEW = timedelta(minutes=5)
"""How far a contact's ``received_at`` may be ahead of the server's clock (clocks differ)."""
RECEIVED_AT_MAX_AGE = timedelta(days=366)
"""How far back a contact's ``received_at`` may be (late imports of a year's records)."""

__all__ = [
    "CONTACT_FIELDS",
    "DESK_ROLES",
    "EDITOR_ROLES",
    "READ_ALL_ROLES",
    "SUMMARY_CHARS",
    "SUPERVISION_ROLES",
    "TicketService",
    "mask_personal",
    "search_text_of",
    "ticket_number",
]


class TicketService(AdminMixin, KnowledgeMixin):
    """Tickets, their log, agencies, users, knowledge proposals, statistics and export.

    Args:
        engine: An engine on a migrated ticket database (see ``tickets.db``).
        settings: SLA days, holiday file and limits; read from the environment when not given.
        suggester: Finds procedures for a ticket's content; without one, suggestions list none.
        clock: Returns the current aware time; tests pass a fixed one.

    Usage example:
        ```python
        service = tickets.open_service()
        ticket = service.create(
            TicketCreate(channel=Channel.PHONE, content="Làm lại căn cước thế nào?"),
            actor=operator,
        )
        service.classify(ticket.id, field="Tư pháp", actor=operator, expected_version=1)
        ```
    """

    # ------------------------------------------------------------------ intake (channels)

    def open_or_append(self, request: ContactRequest) -> TicketRef:
        """Open a ticket for the contact, or append it to the open ticket of its thread.

        Raises:
            TicketError: blank or oversized content, or a blank thread key.
        """
        if not request.thread_key.strip() or len(request.thread_key) > 255:
            raise TicketError("thread_key must be 1 to 255 characters")
        content = long_text(request.content)  # NFC, no control characters, as typed input
        if is_blank(content):
            raise TicketError("content must not be blank")
        require_text(content, "content", MAX_CONTENT_CHARS)
        received_at = self._received_at(request.received_at)
        actor = Actor.system(request.actor)
        with self._write() as session:
            self._lock_thread(session, request.channel, request.thread_key)
            existing = self._open_ticket(session, request.channel, request.thread_key)
            if existing is not None:
                self._log(
                    session,
                    existing,
                    actor,
                    EntryKind.MESSAGE_IN.value,
                    text=content,
                    at=received_at,
                )
                return self._out(existing).ref(created=False)
            data = build_input(
                TicketCreate,
                channel=request.channel,
                content=content,
                kind=request.kind or TicketKind.QUESTION,
                urgency=request.urgency,
                field=request.field,
                public=request.public,
                contact=ContactIn(**contact_fields(request.contact)),
                procedure_codes=list(request.procedure_codes),
                thread_key=request.thread_key,
                received_at=received_at,
            )
            ticket = self._insert(session, data, actor)
            return self._out(ticket).ref(created=True)

    @staticmethod
    def _lock_thread(session: Session, channel: Channel, thread_key: str) -> None:
        """On PostgreSQL, hold a lock on the thread until the transaction ends.

        Two deliveries of one thread at once must not both open a ticket. SQLite lets one
        writer in at a time anyway.
        """
        if session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"{Channel(channel).value}\x00{thread_key}".encode())
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def find_open(self, channel: Channel, thread_key: str) -> TicketRef | None:
        """The open ticket of a thread, if any."""
        with self._read() as session:
            ticket = self._open_ticket(session, channel, thread_key)
            return None if ticket is None else self._out(ticket).ref(created=False)

    @staticmethod
    def _open_ticket(session: Session, channel: Channel, thread_key: str) -> Ticket | None:
        return session.scalar(
            select(Ticket)
            .where(
                Ticket.channel == Channel(channel).value,
                Ticket.thread_key == thread_key,
                Ticket.status.in_(OPEN_STATUSES),
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        )

    def add_entry(self, ticket_id: int, *, kind: EntryKind, text: str, actor: Actor | str) -> None:
        """Append a message, transcript segment or note to the ticket's log.

        Raises:
            TicketNotFound: no such ticket (or not visible to the actor).
            TicketError: blank or oversized text.
        """
        act = Actor.of(actor)
        require_text(text, "text", MAX_CONTENT_CHARS)
        entry = EntryKind(kind)
        if act.role is Role.EDITOR:
            raise PermissionDenied("editors do not write to tickets' logs")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._log(session, ticket, act, entry.value, text=text)

    def attach_recording(
        self, ticket_id: int, *, uri: str, duration_seconds: float | None, actor: Actor | str
    ) -> None:
        """Link a call recording (a file path or URL) to the ticket; logged.

        Raises:
            TicketNotFound: no such ticket.
            TicketError: a blank or oversized URI, or a negative duration.
        """
        act = Actor.of(actor)
        require_text(uri, "uri", 1024)
        if duration_seconds is not None and duration_seconds < 0:
            raise TicketError(f"duration_seconds must be 0 or more, got {duration_seconds}")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            changed = self._set(session, ticket, act, "attach_recording", "recording_uri", uri)
            changed |= self._set(
                session, ticket, act, "attach_recording", "recording_seconds", duration_seconds
            )
            if changed:
                ticket.updated_at = self.now()

    def record_call(
        self, ticket_id: int, *, duration_seconds: float, outcome: str, actor: Actor | str
    ) -> None:
        """Store a finished call's duration and outcome ("answered", "abandoned" …); logged.

        Raises:
            TicketNotFound: no such ticket.
            TicketError: a negative duration or a blank or oversized outcome.
        """
        act = Actor.of(actor)
        require_text(outcome, "outcome", 32)
        if duration_seconds < 0:
            raise TicketError(f"duration_seconds must be 0 or more, got {duration_seconds}")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            changed = self._set(
                session, ticket, act, "record_call", "call_seconds", float(duration_seconds)
            )
            changed |= self._set(session, ticket, act, "record_call", "call_outcome", outcome)
            if changed:
                ticket.updated_at = self.now()

    def history_for_contact(self, contact: Contact, *, limit: int = 10) -> list[TicketSummary]:
        """The caller's past tickets, newest first, matched on phone, e-mail or social id."""
        matches = []
        if contact.phone:
            matches.append(Ticket.contact_phone == contact.phone)
        if contact.email:
            matches.append(func.lower(Ticket.contact_email) == contact.email.lower())
        if contact.social_id:
            matches.append(Ticket.contact_social_id == contact.social_id)
        if not matches:
            return []
        query = (
            select(Ticket)
            .where(or_(*matches))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(max(1, min(limit, 100)))
        )
        with self._read() as session:
            return [
                TicketSummary(
                    id=t.id,
                    number=t.number,
                    channel=Channel(t.channel),
                    kind=TicketKind(t.kind),
                    status=t.status,
                    field=t.field,
                    summary=summarize(t.content),
                    created_at=t.created_at,
                    answered_at=t.answered_at,
                )
                for t in session.scalars(query)
            ]

    # ------------------------------------------------------------------ tickets

    def create(self, data: TicketCreate, *, actor: Actor | str) -> TicketOut:
        """Record a new ticket (status ``new``) with its deadline; logged.

        A ``thread_key`` names a conversation: while its channel has an open ticket for it, a
        second one is refused (409, naming the open ticket) instead of appended, since a client
        creating a ticket means a new one. Channels that want append-or-open call
        ``open_or_append``.

        Raises:
            PermissionDenied: the actor is not at the desk (operator, supervisor, admin, system).
            TicketError: an unknown operator, or an open ticket for the thread (409).
        """
        act = Actor.of(actor)
        self._require(act, DESK_ROLES | {Role.SYSTEM}, "create tickets")
        with self._write() as session:
            if data.thread_key is not None:
                self._lock_thread(session, data.channel, data.thread_key)
                existing = self._open_ticket(session, data.channel, data.thread_key)
                if existing is not None:
                    raise TicketError(
                        f"thread {data.thread_key!r} on channel {data.channel.value} already has "
                        f"the open ticket {existing.number} (id {existing.id}); add to it with "
                        f"POST /v1/tickets/{existing.id}/entries",
                        error_code=ErrorCode.CONFLICT,
                    )
            ticket = self._insert(session, data, act)
            out = self._out(ticket)
        logger.info(
            "Ticket %s created (channel %s, kind %s)",
            out.number,
            out.channel.value,
            out.kind.value,
        )
        return out

    def _insert(self, session: Session, data: TicketCreate, actor: Actor) -> Ticket:
        created_at = self._received_at(data.received_at)
        contact = data.contact
        ticket = Ticket(
            number=f"pending-{uuid.uuid4().hex[:24]}",
            channel=data.channel.value,
            thread_key=data.thread_key,
            kind=data.kind.value,
            urgency=data.urgency.value,
            field=data.field,
            status=Status.NEW.value,
            content=data.content,
            search_text=search_text_of(data.content),
            public=data.public,
            contact_name=contact.name,
            contact_phone=contact.phone,
            contact_email=contact.email,
            contact_social_id=contact.social_id,
            procedure_codes=list(data.procedure_codes),
            place=None if data.place is None else data.place.stored(),
            due_at=self.due_date(data.kind, created_at),
            created_at=created_at,
            updated_at=created_at,
        )
        if data.operator_id is not None:
            ticket.operator_id = self._operator(session, data.operator_id).id
        session.add(ticket)
        session.flush()
        # The number needs the id; the row is still uncommitted, so nobody sees the placeholder.
        # A plain UPDATE keeps the ORM from counting this as a new version.
        number = ticket_number(ticket.id, created_at)
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(number=number))
        set_committed_value(ticket, "number", number)
        self._log(
            session,
            ticket,
            actor,
            "create",
            field="status",
            new=Status.NEW.value,
            text=f"channel {ticket.channel}, kind {ticket.kind}",
            at=created_at,
        )
        return ticket

    def _received_at(self, received_at: datetime | None) -> datetime:
        """When a contact came in (UTC): now when not given, else a time near now.

        Raises:
            TicketError: no time-zone offset, more than ``RECEIVED_AT_SKEW`` in the future, or
                more than ``RECEIVED_AT_MAX_AGE`` back.
        """
        now = self.now()
        if received_at is None:
            return now
        if received_at.tzinfo is None:
            raise TicketError("received_at must carry a timezone offset")
        moment = checked_moment(received_at, "received_at").astimezone(UTC)
        if moment > now + RECEIVED_AT_SKEW:
            raise TicketError(
                f"received_at {received_at.isoformat()} is in the future; "
                f"it may be at most {int(RECEIVED_AT_SKEW.total_seconds() // 60)} minutes "
                f"after the server's time ({now.isoformat()})"
            )
        if moment < now - RECEIVED_AT_MAX_AGE:
            raise TicketError(
                f"received_at {received_at.isoformat()} is more than "
                f"{RECEIVED_AT_MAX_AGE.days} days ago; record old contacts with today's time "
                "and put the original date in the content"
            )
        return moment

    @staticmethod
    def _operator(session: Session, user_id: int) -> User:
        user = session.get(User, user_id) if valid_id(user_id) else None
        if user is None or not user.active:
            raise TicketError(f"no active user with id {user_id}")
        if Role(user.role) not in DESK_ROLES:
            raise TicketError(f"user {user.username!r} is a {user.role}, not an operator")
        return user

    def get(self, ticket_id: int, *, actor: Actor | str | None = None) -> TicketOut:
        """One ticket, contact data included; liaisons see their agency's tickets only.

        Raises:
            TicketNotFound: no such ticket, or not visible to the actor.
        """
        act = None if actor is None else Actor.of(actor)
        with self._read() as session:
            return self._out(self._ticket(session, ticket_id, act))

    def get_by_number(self, number: str, *, actor: Actor | str | None = None) -> TicketOut:
        """One ticket by its public number ("1022-2026-000123").

        Raises:
            TicketNotFound: no such ticket, or not visible to the actor.
        """
        with self._read() as session:
            ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number))
        if ticket_id is None:
            raise TicketNotFound(f"no ticket numbered {number!r}")
        return self.get(ticket_id, actor=actor)

    def list(self, filters: TicketFilters | None = None, *, actor: Actor | str) -> TicketPage:
        """A page of tickets, newest first, as the actor may see them.

        Raises:
            PermissionDenied: a liaison without an agency.
        """
        act = Actor.of(actor)
        chosen = filters or TicketFilters()
        query = self._filtered(chosen, act)
        with self._read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .offset(chosen.offset)
                .limit(chosen.limit)
            )
            items = [self._out(ticket) for ticket in rows]
        return TicketPage(items=items, total=total, offset=chosen.offset, limit=chosen.limit)

    def _filtered(self, filters: TicketFilters, actor: Actor) -> Select[tuple[Ticket]]:
        query = select(Ticket)
        if actor.role is Role.AGENCY_LIAISON:
            if not actor.agency_code:
                raise PermissionDenied("an agency liaison without an agency sees no tickets")
            query = query.where(Ticket.agency_code == actor.agency_code)
        if filters.status:
            query = query.where(Ticket.status.in_([s.value for s in filters.status]))
        if filters.kind:
            query = query.where(Ticket.kind.in_([k.value for k in filters.kind]))
        if filters.channel:
            query = query.where(Ticket.channel.in_([c.value for c in filters.channel]))
        if filters.urgency:
            query = query.where(Ticket.urgency.in_([u.value for u in filters.urgency]))
        if filters.field is not None:
            query = query.where(Ticket.field == filters.field)
        if filters.agency_code is not None:
            query = query.where(Ticket.agency_code == filters.agency_code)
        if filters.operator_id is not None:
            query = query.where(Ticket.operator_id == filters.operator_id)
        if filters.public is not None:
            query = query.where(Ticket.public.is_(filters.public))
        if filters.created_from is not None:
            query = query.where(Ticket.created_at >= assume_vietnam_time(filters.created_from))
        if filters.created_to is not None:
            query = query.where(Ticket.created_at < assume_vietnam_time(filters.created_to))
        if filters.overdue is not None:
            late = Ticket.status.in_(PENDING_STATUSES) & (Ticket.due_at < self.now())
            query = query.where(late if filters.overdue else ~late | Ticket.due_at.is_(None))
        if filters.text:
            needle = search_text_of(filters.text)
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(
                or_(
                    Ticket.search_text.like(f"%{escaped}%", escape="\\"),
                    Ticket.number == filters.text.strip(),
                )
            )
        return query

    def update(
        self,
        ticket_id: int,
        changes: TicketUpdate,
        *,
        actor: Actor | str,
        expected_version: int | None,
    ) -> TicketOut:
        """Edit a ticket's fields; each changed field is logged with its old and new value.

        A new kind moves the deadline to that kind's SLA, counted from the ticket's creation.

        Raises:
            PermissionDenied: the actor is not at the desk.
            TicketNotFound: no such ticket.
            VersionConflict: ``expected_version`` is stale.
            InvalidTransition: the ticket is closed (reopen it first).
        """
        act = Actor.of(actor)
        self._require(act, DESK_ROLES | {Role.SYSTEM}, "edit tickets")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            if ticket.status == Status.CLOSED.value:
                raise InvalidTransition(
                    current=ticket.status,
                    requested="edit",
                    allowed=allowed_targets(ticket.status, act.role),
                    reason="a closed ticket is read-only; reopen it first",
                )
            self._apply(session, ticket, act, changes)
            out = self._out(ticket)
        return out

    def _apply(self, session: Session, ticket: Ticket, actor: Actor, changes: TicketUpdate) -> None:
        values = changes.model_dump(exclude_unset=True, exclude={"contact"})
        changed = False
        for name, value in values.items():
            if value is None and name != "field":
                continue
            plain = value.value if hasattr(value, "value") else value
            changed |= self._set(session, ticket, actor, "update", name, plain)
            if name == "content" and plain is not None:
                ticket.search_text = search_text_of(plain)
        if changes.contact is not None:
            for name in changes.contact.model_fields_set & set(CONTACT_FIELDS):
                value = getattr(changes.contact, name)
                changed |= self._set(session, ticket, actor, "update", f"contact_{name}", value)
        if "kind" in values and values["kind"] is not None:
            due = self.due_date(ticket.kind, ticket.created_at)
            changed |= self._set(session, ticket, actor, "update", "due_at", due)
        if changed:
            ticket.updated_at = self.now()

    def classify(
        self,
        ticket_id: int,
        *,
        actor: Actor | str,
        expected_version: int | None = None,
        field: str | None = None,
        kind: TicketKind | None = None,
        urgency: Urgency | None = None,
        procedure_codes: Sequence[str] | None = None,
    ) -> TicketOut:
        """Set field, kind, urgency and procedures; move ``new`` or ``reopened`` to ``classified``.

        Raises:
            InvalidTransition: the status does not allow classification.
            PermissionDenied, TicketNotFound, VersionConflict: as for ``update``.
        """
        act = Actor.of(actor)
        given: dict[str, Any] = {"field": field, "kind": kind, "urgency": urgency}
        given["procedure_codes"] = None if procedure_codes is None else list(procedure_codes)
        changes = build_input(TicketUpdate, **{k: v for k, v in given.items() if v is not None})
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            self._move(session, ticket, act, Action.CLASSIFY)
            self._apply(session, ticket, act, changes)
            return self._out(ticket)

    def assign(
        self,
        ticket_id: int,
        *,
        operator_id: int | None,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """Assign the ticket to an operator (``None`` unassigns); logged.

        Operators may take a ticket for themselves only; supervisors and admins assign anyone.

        Raises:
            PermissionDenied: an operator assigning someone else, or a role off the desk.
            TicketError: the user is unknown, inactive or not at the desk.
        """
        act = Actor.of(actor)
        self._require(act, DESK_ROLES | {Role.SYSTEM}, "assign tickets")
        if act.role is Role.OPERATOR and operator_id != act.user_id:
            raise PermissionDenied("operators may only assign tickets to themselves")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            if operator_id is not None:
                self._operator(session, operator_id)
            if self._set(session, ticket, act, "assign", "operator_id", operator_id):
                ticket.updated_at = self.now()
            return self._out(ticket)

    def answer(
        self,
        ticket_id: int,
        *,
        text: str,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """Answer a classified ticket at the desk (→ ``answered``); logged with the answer.

        Raises:
            InvalidTransition: the status does not allow it (transferred tickets are answered
                by their agency).
            TicketError: a blank or oversized answer.
        """
        act = Actor.of(actor)
        require_text(text, "answer", MAX_ANSWER_CHARS)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            self._move(session, ticket, act, Action.ANSWER)
            self._record_answer(session, ticket, act, Action.ANSWER, text)
            if ticket.operator_id is None and act.user_id is not None:
                self._set(session, ticket, act, "assign", "operator_id", act.user_id)
            return self._out(ticket)

    def _record_answer(
        self, session: Session, ticket: Ticket, actor: Actor, action: Action, text: str
    ) -> None:
        self._set(session, ticket, actor, action.value, "answer", text)
        self._set(session, ticket, actor, action.value, "answered_at", self.now())

    def transfer(
        self,
        ticket_id: int,
        *,
        agency_code: str,
        reason: str,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketRef:
        """Transfer the ticket to an agency (urgent calls with their recording); logged.

        Returns the intake's ``TicketRef``; call ``get`` for the whole ticket.

        Raises:
            InvalidTransition: the status does not allow it.
            UnknownAgency: the agency is not configured or inactive.
            TicketError: a blank or oversized reason.
        """
        act = Actor.of(actor)
        require_text(reason, "reason", 2000)
        agency_code = agency_code.strip()
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            if ticket.agency_code is not None and ticket.agency_code == agency_code:
                # Re-routing goes to another agency; the same one again is a double click.
                raise InvalidTransition(
                    current=ticket.status,
                    requested=Status.TRANSFERRED.value,
                    allowed=allowed_targets(ticket.status, act.role),
                    reason=f"already with agency {ticket.agency_code}",
                )
            self._move(session, ticket, act, Action.TRANSFER)
            agency = directory.active_agency(session, agency_code)
            self._set(session, ticket, act, Action.TRANSFER.value, "agency_code", agency.code)
            note = reason
            if ticket.recording_uri:
                note = f"{reason} (recording attached: {ticket.recording_uri})"
            self._log(session, ticket, act, "transfer_reason", text=note)
            ref = self._out(ticket).ref()
        logger.info("Ticket %s transferred to %s", ref.number, agency.code)
        return ref

    def return_to_hotline(
        self,
        ticket_id: int,
        *,
        reason: str,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """The agency hands a ticket that is not its business back to the hotline.

        The ticket goes back to ``classified`` without an agency, so the desk can answer it or
        transfer it elsewhere; the reason is logged.

        Raises:
            TicketNotFound: the ticket is not transferred to the liaison's agency.
            InvalidTransition: the ticket is not with an agency.
            TicketError: a blank or oversized reason.
        """
        act = Actor.of(actor)
        require_text(reason, "reason", 2000)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            agency_code = ticket.agency_code
            self._move(session, ticket, act, Action.RETURN)
            self._set(session, ticket, act, Action.RETURN.value, "agency_code", None)
            self._log(session, ticket, act, "return_reason", text=reason)
            out = self._out(ticket)
        logger.info("Ticket %s returned to the hotline by agency %s", out.number, agency_code)
        return out

    def agency_accept(
        self, ticket_id: int, *, actor: Actor | str, expected_version: int | None = None
    ) -> TicketOut:
        """The agency takes a transferred ticket (→ ``agency_processing``); logged.

        Raises:
            TicketNotFound: the ticket is not transferred to the liaison's agency.
            InvalidTransition, PermissionDenied, VersionConflict: as usual.
        """
        act = Actor.of(actor)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            self._move(session, ticket, act, Action.AGENCY_ACCEPT)
            return self._out(ticket)

    def agency_answer(
        self,
        ticket_id: int,
        *,
        text: str,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """The agency's answer returns to the ticket (→ ``answered``), visible to the operator.

        Raises:
            TicketNotFound: the ticket is not transferred to the liaison's agency.
            InvalidTransition: the agency has not accepted the ticket.
            TicketError: a blank or oversized answer.
        """
        act = Actor.of(actor)
        require_text(text, "answer", MAX_ANSWER_CHARS)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            self._move(session, ticket, act, Action.AGENCY_ANSWER)
            self._record_answer(session, ticket, act, Action.AGENCY_ANSWER, text)
            return self._out(ticket)

    def close(
        self,
        ticket_id: int,
        *,
        actor: Actor | str,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> TicketOut:
        """Close an answered ticket; its history stays. Logged.

        Raises:
            InvalidTransition: the ticket is not answered.
        """
        act = Actor.of(actor)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            self._move(session, ticket, act, Action.CLOSE)
            self._set(session, ticket, act, Action.CLOSE.value, "closed_at", self.now())
            if note:
                require_text(note, "note", 2000)
                self._log(session, ticket, act, EntryKind.NOTE.value, text=note)
            return self._out(ticket)

    def reopen(
        self,
        ticket_id: int,
        *,
        reason: str,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """Reopen an answered or closed ticket (→ ``reopened``) with a new deadline; logged.

        The earlier answer and the agency assignment are cleared (both stay in the log), the
        deadline is counted again from now, and approved proposals of the ticket go back to
        review.

        Raises:
            InvalidTransition: the ticket was merged into another, or its status does not allow
                reopening.
            TicketError: a blank reason.
        """
        act = Actor.of(actor)
        require_text(reason, "reason", 2000)
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            self._check_version(ticket, expected_version)
            if ticket.merged_into_id is not None:
                raise InvalidTransition(
                    current=ticket.status,
                    requested=Status.REOPENED.value,
                    allowed=[],
                    reason=f"merged into ticket {ticket.merged_into_id}; reopen that one",
                )
            self._move(session, ticket, act, Action.REOPEN)
            now = self.now()
            self._log(session, ticket, act, "reopen_reason", text=reason)
            self._withdraw_approvals(session, ticket, act)
            # The answer was found wrong: it lives on in the log only, and the ticket starts
            # again at the desk, without an agency, with a deadline counted from now.
            self._set(session, ticket, act, Action.REOPEN.value, "answer", None)
            self._set(session, ticket, act, Action.REOPEN.value, "agency_code", None)
            self._set(session, ticket, act, Action.REOPEN.value, "answered_at", None)
            self._set(session, ticket, act, Action.REOPEN.value, "closed_at", None)
            self._set(
                session,
                ticket,
                act,
                Action.REOPEN.value,
                "due_at",
                self.due_date(ticket.kind, now),
            )
            return self._out(ticket)

    def merge(
        self,
        source_id: int,
        *,
        into_id: int,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> TicketOut:
        """Merge a duplicate into another open ticket; the source is closed, both keep history.

        Returns the target ticket.

        Raises:
            InvalidTransition: the source is closed already.
            TicketError: merging a ticket into itself, or into a closed ticket.
        """
        act = Actor.of(actor)
        if source_id == into_id:
            raise TicketError("a ticket cannot be merged into itself")
        with self._write(source_id) as session:
            source = self._ticket(session, source_id, act)
            target = self._ticket(session, into_id, act)
            self._check_version(source, expected_version)
            if target.status == Status.CLOSED.value:
                raise TicketError(f"ticket {target.number} is closed; merge into an open one")
            self._move(session, source, act, Action.MERGE)
            self._set(session, source, act, Action.MERGE.value, "merged_into_id", target.id)
            self._set(session, source, act, Action.MERGE.value, "closed_at", self.now())
            self._log(
                session,
                target,
                act,
                "merge_in",
                field="merged_from",
                new=source.number,
                text=source.content,
            )
            return self._out(target)

    def transition(
        self,
        ticket_id: int,
        *,
        to: Status | str,
        actor: Actor | str,
        expected_version: int | None = None,
        text: str | None = None,
        agency_code: str | None = None,
        reason: str | None = None,
    ) -> TicketOut:
        """Move a ticket to status ``to`` by the one step of the flow that leads there.

        ``text`` is the answer (→ answered) or a note (→ closed); ``agency_code`` and ``reason``
        are for a transfer; ``reason`` also for reopening.

        Raises:
            InvalidTransition: no step leads from the current status to ``to``.
            TicketError: a missing parameter of the step, or an unknown status.
        """
        try:
            target = Status(to)
        except ValueError:
            allowed = ", ".join(s.value for s in Status)
            raise TicketError(f"unknown status {to!r}; statuses: {allowed}") from None
        current = self.get(ticket_id, actor=actor)
        step = action_to(current.status, target)
        common: dict[str, Any] = {"actor": actor, "expected_version": expected_version}
        if step is Action.CLASSIFY:
            return self.classify(ticket_id, **common)
        if step in (Action.ANSWER, Action.AGENCY_ANSWER):
            if not text:
                raise TicketError("an answer needs text")
            method = self.answer if step is Action.ANSWER else self.agency_answer
            return method(ticket_id, text=text, **common)
        if step is Action.TRANSFER:
            if not agency_code:
                raise TicketError("a transfer needs agency_code")
            if not reason:
                raise TicketError("a transfer needs a reason: say why this agency should handle it")
            self.transfer(ticket_id, agency_code=agency_code, reason=reason or "", **common)
            return self.get(ticket_id, actor=actor)
        if step is Action.AGENCY_ACCEPT:
            return self.agency_accept(ticket_id, **common)
        if step is Action.RETURN:
            if not (reason or text):
                raise TicketError("handing a ticket back needs a reason: say why it is not yours")
            return self.return_to_hotline(ticket_id, reason=reason or text or "", **common)
        if step is Action.CLOSE:
            return self.close(ticket_id, note=text, **common)
        return self.reopen(ticket_id, reason=reason or text or "", **common)

    def allowed_transitions(self, ticket_id: int, *, actor: Actor | str) -> list[str]:
        """Statuses the actor may move the ticket to now."""
        act = Actor.of(actor)
        ticket = self.get(ticket_id, actor=act)
        if ticket.merged_into_id is not None:
            return []
        return allowed_targets(ticket.status, act.role)

    def events(self, ticket_id: int, *, actor: Actor | str | None = None) -> list[EventOut]:
        """The ticket's processing log, oldest first.

        Raises:
            TicketNotFound: no such ticket, or not visible to the actor.
        """
        act = None if actor is None else Actor.of(actor)
        with self._read() as session:
            self._ticket(session, ticket_id, act)
            rows = session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.at, TicketEvent.id)
            )
            return [EventOut.model_validate(row) for row in rows]

    # ------------------------------------------------------------------ public view

    def to_public(self, ticket: TicketOut, agency_name: str | None = None) -> TicketPublic:
        """A ticket without contact data; text only when the citizen chose public visibility."""
        return TicketPublic(
            id=ticket.id,
            number=ticket.number,
            channel=ticket.channel,
            kind=ticket.kind,
            field=ticket.field,
            status=ticket.status,
            public=ticket.public,
            content=redact_personal(ticket.content) if ticket.public else None,
            answer=redact_personal(ticket.answer) if ticket.public and ticket.answer else None,
            procedure_codes=ticket.procedure_codes,
            agency_code=ticket.agency_code,
            agency_name=agency_name,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            answered_at=ticket.answered_at,
            closed_at=ticket.closed_at,
            due_at=ticket.due_at,
            place=ticket.place if ticket.public else None,
        )

    def public_view(self, ticket_id: int) -> TicketPublic:
        """The public view of one ticket (Open311, public pages).

        Raises:
            TicketNotFound: no such ticket.
        """
        ticket = self.get(ticket_id)
        return self.to_public(ticket, self._agency_name(ticket.agency_code))

    def public_page(
        self, filters: TicketFilters | None = None, *, public_only: bool = True
    ) -> tuple[list[TicketPublic], int]:
        """Public views of a filtered page of tickets, and the total that match.

        With ``public_only`` (the default) only tickets whose citizen chose public visibility
        are listed; otherwise every ticket is, with its text left out unless public.
        """
        chosen = filters or TicketFilters()
        if public_only:
            chosen = chosen.model_copy(update={"public": True})
        page = self.list(chosen, actor=Actor.system("public"))
        names = {a.code: a.name for a in self.list_agencies(include_inactive=True)}
        items = [self.to_public(t, names.get(t.agency_code or "")) for t in page.items]
        return items, page.total

    def _agency_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        try:
            return self.get_agency(code).name
        except TicketNotFound:
            return None

    # ------------------------------------------------------------------ suggestions

    def suggestions(
        self, content: str, *, limit: int = 5, exclude_ticket_id: int | None = None
    ) -> Suggestions:
        """What to offer while recording a ticket: the field, procedures, similar open tickets
        (possible duplicates) and past answered tickets for the same question.

        Raises:
            TicketError: blank or oversized content.
        """
        require_text(content, "content", MAX_CONTENT_CHARS)
        limit = max(1, min(limit, 20))
        with self._read() as session:
            return suggest(
                session,
                content,
                suggester=self.suggester,
                limit=limit,
                exclude_ticket_id=exclude_ticket_id,
            )

    # ------------------------------------------------------------------ supervision

    def stats(
        self,
        *,
        actor: Actor | str,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        period: Period | str = Period.MONTH,
    ) -> StatsReport:
        """Counts and SLA compliance by field, channel, agency, status and period; per-operator
        workload and median handling time; the overdue count (supervisors and admins).

        Raises:
            PermissionDenied: the actor is not a supervisor or admin.
        """
        act = Actor.of(actor)
        self._require(act, SUPERVISION_ROLES | {Role.SYSTEM}, "see statistics")
        for name, moment in (("created_from", created_from), ("created_to", created_to)):
            if moment is not None:
                checked_moment(moment, name)
        with self._read() as session:
            return compute_stats(
                session,
                now=self.now(),
                created_from=None if created_from is None else assume_vietnam_time(created_from),
                created_to=None if created_to is None else assume_vietnam_time(created_to),
                period=Period(period),
            )

    def overdue(self, *, actor: Actor | str, limit: int = 500) -> list[TicketOut]:
        """Tickets still waiting for their answer past their deadline, the most late first."""
        act = Actor.of(actor)
        query = self._filtered(TicketFilters(overdue=True, limit=1), act)
        query = query.order_by(Ticket.due_at, Ticket.id).limit(max(1, min(limit, 5000)))
        with self._read() as session:
            return [self._out(t) for t in session.scalars(query)]

    # ------------------------------------------------------------------ export

    def export(
        self,
        *,
        actor: Actor | str,
        fmt: ExportFormat | str,
        ticket_ids: Sequence[int] | None = None,
        filters: TicketFilters | None = None,
    ) -> ExportFile:
        """One ticket, chosen tickets or a filtered set, each with its log, as JSON, CSV or XLSX.

        With ``filters``, every matching ticket is exported (paging is ignored, up to 10 000).

        Raises:
            TicketNotFound: one of ``ticket_ids`` does not exist or is not visible.
            TicketError: more than 10 000 tickets, or neither ids nor filters given.
        """
        act = Actor.of(actor)
        export_format = ExportFormat.from_str(fmt)
        if ticket_ids is not None:
            tickets = [self.get(ticket_id, actor=act) for ticket_id in ticket_ids]
        elif filters is not None:
            tickets = self._all_matching(filters, act)
        else:
            raise TicketError("give ticket_ids or filters to export")
        logs = {t.id: self.events(t.id) for t in tickets}
        return render_export(tickets, logs, export_format, generated_at=self.now())

    def _all_matching(self, filters: TicketFilters, actor: Actor) -> list[TicketOut]:
        cap = 10_000
        query = self._filtered(filters, actor).order_by(Ticket.created_at, Ticket.id)
        with self._read() as session:
            rows = list(session.scalars(query.limit(cap + 1)))
            if len(rows) > cap:
                raise TicketError(f"more than {cap} tickets match; narrow the filters")
            return [self._out(t) for t in rows]
