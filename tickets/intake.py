"""How the channels and the telephony bridge hand contacts to the ticket system.

Zalo, Messenger, e-mail, web chat, SMS and phone calls all end in the same place: a ticket with
its processing log. This module is the narrow seam they use; the ticket service implements it
(``tickets.service.TicketService``) and ``open_intake`` returns one on the configured database.
Callers never touch tables or sessions.

Every method is synchronous (SQLAlchemy sessions); async callers run them in a thread, e.g.
``await anyio.to_thread.run_sync(...)`` or ``starlette.concurrency.run_in_threadpool``.

Idempotency: ``open_or_append`` is keyed by ``(channel, thread_key)``. The same thread key while
its ticket is still open appends to that ticket instead of opening another, so a redelivered event
or the next message of a conversation never makes a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol, runtime_checkable


class Channel(str, Enum):
    """Where a contact came in."""

    PHONE = "phone"
    ZALO = "zalo"
    FACEBOOK = "facebook"
    EMAIL = "email"
    WEB_CHAT = "web_chat"
    SMS = "sms"
    APP = "app"
    WALK_IN = "walk_in"


class TicketKind(str, Enum):
    """What the contact is about."""

    QUESTION = "question"
    PROCEDURE_FEEDBACK = "procedure_feedback"  # feedback on a procedure (phản ánh, kiến nghị)
    COMPLAINT = "complaint"  # complaint or denunciation (khiếu nại, tố cáo)
    INCIDENT = "incident"  # broken public infrastructure, sanitation
    EMERGENCY_FORWARDED = "emergency_forwarded"  # sent on to 113, 114 or 115


class Urgency(str, Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class EntryKind(str, Enum):
    """Kinds of free-text entries a channel adds to a ticket's log."""

    MESSAGE_IN = "message_in"  # the citizen wrote or said this
    MESSAGE_OUT = "message_out"  # the hotline sent this (auto-reply, operator reply)
    TRANSCRIPT = "transcript"  # a speech-recognizer segment of a call
    NOTE = "note"  # an internal note


@dataclass(frozen=True)
class Contact:
    """Who wrote or called. Personal data: stored, never logged, left out of public views."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    social_id: str | None = None  # Zalo user id, Messenger PSID … (as a string)


@dataclass(frozen=True)
class ContactRequest:
    """One incoming contact, as a channel or the telephony bridge sees it.

    ``thread_key`` identifies the conversation within its channel: the Zalo user id, the
    Messenger PSID, the e-mail thread's first Message-ID, the web-chat session, the SMS sender
    number, the ARI channel id of a call.
    """

    channel: Channel
    thread_key: str
    content: str
    contact: Contact = field(default_factory=Contact)
    kind: TicketKind | None = None
    urgency: Urgency = Urgency.NORMAL
    field: str | None = None  # lĩnh vực, when the channel already knows it
    procedure_codes: Sequence[str] = ()
    public: bool = False  # the citizen's choice of public or private visibility
    actor: str = "system"  # who records it: "system:zalo", an operator's username …
    received_at: datetime | None = None  # aware; now when not given


@dataclass(frozen=True)
class TicketRef:
    """Enough of a ticket for a channel to link to it and to update it safely."""

    id: int
    number: str  # shown to citizens, e.g. "1022-2026-000123"
    status: str
    version: int
    created: bool  # False when the contact was appended to an open ticket


@dataclass(frozen=True)
class TicketSummary:
    """A past ticket, as the operator's screen-pop shows it."""

    id: int
    number: str
    channel: Channel
    kind: TicketKind
    status: str
    field: str | None
    summary: str  # first line of the content, shortened
    created_at: datetime
    answered_at: datetime | None


@runtime_checkable
class TicketIntake(Protocol):
    """What channels and the telephony bridge may do with tickets."""

    def open_or_append(self, request: ContactRequest) -> TicketRef:
        """Open a ticket for the contact, or append it to the open ticket of its thread."""

    def find_open(self, channel: Channel, thread_key: str) -> TicketRef | None:
        """The open ticket of a thread, if any."""

    def add_entry(self, ticket_id: int, *, kind: EntryKind, text: str, actor: str) -> None:
        """Append a message, transcript segment or note to the ticket's log."""

    def attach_recording(
        self, ticket_id: int, *, uri: str, duration_seconds: float | None, actor: str
    ) -> None:
        """Link a call recording (a file path or URL) to the ticket; logged."""

    def record_call(
        self, ticket_id: int, *, duration_seconds: float, outcome: str, actor: str
    ) -> None:
        """Store a finished call's duration and outcome ("answered", "abandoned",
        "transferred" …); logged."""

    def transfer(self, ticket_id: int, *, agency_code: str, reason: str, actor: str) -> TicketRef:
        """Transfer the ticket to an agency (urgent calls with their recording); logged.

        Raises ``tickets.errors.InvalidTransition`` (409) when the status does not allow it and
        ``tickets.errors.UnknownAgency`` (422) for an agency that is not configured.
        """

    def history_for_contact(self, contact: Contact, *, limit: int = 10) -> list[TicketSummary]:
        """The caller's past tickets, newest first, matched on phone, e-mail or social id."""
