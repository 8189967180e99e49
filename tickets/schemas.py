"""What goes in and out of the ticket service: the acting user, inputs and read models.

The service never hands out ORM objects (they would outlive their session); it returns these
pydantic models, which the HTTP layer can serialize as they are. Inputs validate their own limits
so that bad input becomes a clear 422 before anything is written.

``TicketOut`` carries contact data (personal data) and is for staff only; ``TicketPublic`` has none
and is what Open311 and public ticket pages show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tickets.intake import Channel, Contact, TicketKind, TicketRef, Urgency
from tickets.workflow import Role, Status

MAX_CONTENT_CHARS = 20_000
MAX_ANSWER_CHARS = 20_000
MAX_SHORT_CHARS = 255
MAX_CODES = 50
MAX_PAGE = 500


MAX_ID = 2_147_483_647
"""Largest id a ticket, user or proposal can have (a 32-bit integer column)."""


def has_nul(value: object) -> bool:
    """Whether a string, or a string in a list, holds a NUL character (PostgreSQL refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """Base of the service's inputs: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> InputModel:
        bad = [name for name in type(self).model_fields if has_nul(getattr(self, name))]
        if bad:
            raise ValueError(f"{', '.join(bad)} must not contain NUL characters")
        return self


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, or a system component (a channel, a job).

    Args:
        username: Shown in the log as the actor.
        role: What the actor may do.
        user_id: The user's id; ``None`` for system actors.
        agency_code: The agency of an agency liaison.
    """

    username: str
    role: Role
    user_id: int | None = None
    agency_code: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """A system actor (a channel, the telephony bridge, a job) named ``name``."""
        return cls(username=name or "system", role=Role.SYSTEM)

    @classmethod
    def of(cls, actor: Actor | str) -> Actor:
        """``actor`` itself, or a system actor when given a name."""
        return actor if isinstance(actor, Actor) else cls.system(actor)


class ContactIn(InputModel):
    """A citizen's contact details; all optional, all personal data."""

    name: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    phone: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    social_id: str | None = Field(None, max_length=MAX_SHORT_CHARS)

    def to_contact(self) -> Contact:
        """The same details as the intake dataclass."""
        return Contact(name=self.name, phone=self.phone, email=self.email, social_id=self.social_id)


def _clean_codes(value: Sequence[str]) -> list[str]:
    codes = [code.strip() for code in value if code and code.strip()]
    for code in codes:
        if len(code) > 64:
            raise ValueError(f"procedure code {code[:70]!r}… is longer than 64 characters")
    return list(dict.fromkeys(codes))


class TicketCreate(InputModel):
    """A new ticket as an operator (or a client of the API) records it."""

    channel: Channel
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    kind: TicketKind = TicketKind.QUESTION
    urgency: Urgency = Urgency.NORMAL
    field: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    public: bool = False
    contact: ContactIn = Field(default_factory=ContactIn)
    procedure_codes: list[str] = Field(default_factory=list, max_length=MAX_CODES)
    thread_key: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    operator_id: int | None = Field(None, ge=1, le=MAX_ID)
    received_at: datetime | None = None

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value

    @field_validator("procedure_codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return _clean_codes(value)


class TicketUpdate(InputModel):
    """Fields an operator may edit; only the fields that are set are changed."""

    field: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    kind: TicketKind | None = None
    urgency: Urgency | None = None
    content: str | None = Field(None, min_length=1, max_length=MAX_CONTENT_CHARS)
    public: bool | None = None
    procedure_codes: list[str] | None = Field(None, max_length=MAX_CODES)
    contact: ContactIn | None = None

    @field_validator("procedure_codes")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_codes(value)


class TicketFilters(InputModel):
    """Filters and paging of a ticket list; every filter is optional and they combine with AND."""

    status: list[Status] | None = None
    kind: list[TicketKind] | None = None
    channel: list[Channel] | None = None
    urgency: list[Urgency] | None = None
    field: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    agency_code: str | None = Field(None, max_length=64)
    operator_id: int | None = Field(None, ge=1, le=MAX_ID)
    overdue: bool | None = None
    public: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = Field(None, max_length=500)
    offset: int = Field(0, ge=0, le=MAX_ID)
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class AgencyOut(BaseModel):
    """An agency."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    phone: str | None
    email: str | None
    active: bool


class UserOut(BaseModel):
    """A user, without the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    agency_code: str | None
    active: bool
    created_at: datetime

    def actor(self) -> Actor:
        """This user as the actor of a service call."""
        return Actor(
            username=self.username, role=self.role, user_id=self.id, agency_code=self.agency_code
        )


class TicketOut(BaseModel):
    """A ticket as staff see it, contact data included."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    channel: Channel
    thread_key: str | None
    kind: TicketKind
    urgency: Urgency
    field: str | None
    status: Status
    content: str
    public: bool
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_social_id: str | None
    procedure_codes: list[str]
    operator_id: int | None
    agency_code: str | None
    answer: str | None
    answered_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    overdue: bool = False
    recording_uri: str | None
    recording_seconds: float | None
    call_seconds: float | None
    call_outcome: str | None
    merged_into_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime

    def ref(self, *, created: bool = False) -> TicketRef:
        """The intake's short reference to this ticket."""
        return TicketRef(
            id=self.id,
            number=self.number,
            status=self.status.value,
            version=self.version,
            created=created,
        )


class TicketPublic(BaseModel):
    """A ticket without personal data, for Open311 and public pages.

    ``content`` and ``answer`` are only filled when the citizen chose public visibility.
    """

    id: int
    number: str
    channel: Channel
    kind: TicketKind
    field: str | None
    status: Status
    public: bool
    content: str | None
    answer: str | None
    procedure_codes: list[str]
    agency_code: str | None
    agency_name: str | None
    created_at: datetime
    updated_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None


class TicketPage(BaseModel):
    """One page of a ticket list."""

    items: list[TicketOut]
    total: int
    offset: int
    limit: int


class EventOut(BaseModel):
    """One line of the processing log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    at: datetime
    actor: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    text: str | None


class ProposalOut(BaseModel):
    """An answered ticket proposed as a curated answer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    question: str
    answer: str
    field: str | None
    procedure_codes: list[str]
    status: Literal["proposed", "approved", "rejected"]
    proposed_by: str
    proposed_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    version: int


class HolidayOut(BaseModel):
    """A public holiday, and where it comes from ("bundled" file or admin "override")."""

    day: date
    name: str
    source: Literal["bundled", "override"]


class HolidayIn(InputModel):
    """A public holiday an admin sets for a year."""

    day: date
    name: str = Field(min_length=1, max_length=MAX_SHORT_CHARS)


class ProcedureHit(BaseModel):
    """A procedure the search found for the ticket's content."""

    code: str
    title: str
    field: str
    score: float


class TicketMatch(BaseModel):
    """A ticket that looks like the same question: a duplicate, or a past answered one."""

    id: int
    number: str
    status: Status
    field: str | None
    summary: str
    answer: str | None
    score: float
    created_at: datetime


class Suggestions(BaseModel):
    """What the screen offers while a ticket is being recorded."""

    field: str | None
    procedures: list[ProcedureHit]
    similar_open: list[TicketMatch]
    past_answered: list[TicketMatch]


class ReviewDecision(InputModel):
    """An editor's decision on a proposal: approve (optionally edited), edit, or reject."""

    decision: Literal["approve", "edit", "reject"]
    question: str | None = Field(None, min_length=1, max_length=MAX_CONTENT_CHARS)
    answer: str | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    field: str | None = Field(None, max_length=MAX_SHORT_CHARS)
    procedure_codes: list[str] | None = Field(None, max_length=MAX_CODES)
    note: str | None = Field(None, max_length=2000)
