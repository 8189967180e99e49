"""What goes in and out of the ticket service: the acting user, inputs and read models.

The service never hands out ORM objects (they would outlive their session); it returns these
pydantic models, which the HTTP layer can serialize as they are. Inputs validate their own limits
so that bad input becomes a clear 422 before anything is written.

``TicketOut`` carries contact data (personal data) and is for staff only; ``TicketPublic`` has none
and is what Open311 and public ticket pages show.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from tickets.intake import Channel, Contact, TicketKind, TicketRef, Urgency
from tickets.sla import VIETNAM_TIME
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


EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(3000, 1, 1, tzinfo=UTC)
"""Times outside ``[EARLIEST_MOMENT, LATEST_MOMENT)`` are refused: near year 1 or 9999 a time-zone
conversion leaves the calendar, and no ticket was or will be recorded there."""


def bounded_moment(value: datetime) -> datetime:
    """``value`` itself, if it lies between 1900 and 2999 (naive times count as Vietnam time).

    Raises:
        ValueError: out of that range; the message names the range.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=VIETNAM_TIME)
    try:
        in_range = EARLIEST_MOMENT <= aware.astimezone(UTC) < LATEST_MOMENT
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(
            f"date-time {value.isoformat()} is out of range; "
            "give a time from 1900-01-01 to 2999-12-31"
        )
    return value


Moment = Annotated[datetime, AfterValidator(bounded_moment)]
"""A date-time between 1900 and 2999, as every input time of the ticket system must be."""


_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff")
"""Characters that show nothing: a text made of these (and spaces) is blank."""


def _is_control(char: str) -> bool:
    return char not in "\n\t" and unicodedata.category(char) == "Cc"


def normalize_text(value: str) -> str:
    """``value`` in Unicode NFC, with leading and trailing white space removed.

    Vietnamese typed on some keyboards arrives decomposed ("Hộ" as o + two combining marks);
    stored as sent it would never equal the same word typed elsewhere.
    """
    return unicodedata.normalize("NFC", value).strip()


def short_text(value: str) -> str:
    """A one-line value (a field, a name, a code), normalized; control characters refused.

    Raises:
        ValueError: it holds a control character other than a newline or a tab.
    """
    value = normalize_text(value)
    bad = sorted({f"U+{ord(char):04X}" for char in value if _is_control(char)})
    if bad:
        raise ValueError(f"must not contain control characters ({', '.join(bad)})")
    return value


def long_text(value: str) -> str:
    """A free text (content, an answer, a note), normalized, with control characters removed.

    Line breaks become ``\\n``; tabs stay. NUL is refused separately, loudly.
    """
    value = normalize_text(value).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(char for char in value if char == "\x00" or not _is_control(char)).strip()


def is_blank(value: str) -> bool:
    """Whether ``value`` shows nothing: only white space and invisible characters."""
    return all(char.isspace() or char in _INVISIBLE for char in value)


def visible_text(value: str) -> str:
    """``long_text`` that must show something.

    Raises:
        ValueError: the text is blank or made of invisible characters only.
    """
    value = long_text(value)
    if is_blank(value):
        raise ValueError("must not be blank (white space and invisible characters do not count)")
    return value


ShortText = Annotated[str, AfterValidator(short_text)]
"""A one-line text input: NFC, trimmed, no control characters."""
LongText = Annotated[str, AfterValidator(long_text)]
"""A free text input: NFC, trimmed, control characters other than newline and tab removed."""
VisibleText = Annotated[str, AfterValidator(visible_text)]
"""A free text input that must show something."""


class InputModel(BaseModel):
    """Base of the service's inputs: unknown fields and NUL characters are refused.

    Every string is normalized to NFC and trimmed before the fields' own limits are checked;
    the field types (``ShortText``, ``LongText``, ``VisibleText``) add their rules after.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _normalize_strings(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        return {key: _normalized(value) for key, value in data.items()}

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


def _normalized(value: object) -> object:
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, list | tuple):
        return [_normalized(item) for item in value]
    return value


class ContactIn(InputModel):
    """A citizen's contact details; all optional, all personal data."""

    name: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    phone: ShortText | None = Field(None, max_length=64)
    email: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    social_id: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)

    def to_contact(self) -> Contact:
        """The same details as the intake dataclass."""
        return Contact(name=self.name, phone=self.phone, email=self.email, social_id=self.social_id)


class PlaceIn(InputModel):
    """Where a reported problem is: a position, an address and a photo link; all optional."""

    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    address_id: ShortText | None = Field(None, max_length=64)
    media_url: ShortText | None = Field(None, max_length=1024, pattern=r"^https?://")

    @model_validator(mode="after")
    def _both_coordinates(self) -> PlaceIn:
        if (self.lat is None) != (self.long is None):
            raise ValueError("give lat and long together")
        return self

    def stored(self) -> dict[str, object] | None:
        """The set values as the ``tickets.place`` column keeps them; ``None`` when empty."""
        values = self.model_dump(exclude_none=True)
        return values or None


def _clean_codes(value: Sequence[str]) -> list[str]:
    codes = [code.strip() for code in value if code and code.strip()]
    for code in codes:
        if len(code) > 64:
            raise ValueError(f"procedure code {code[:70]!r}… is longer than 64 characters")
    return list(dict.fromkeys(codes))


class TicketCreate(InputModel):
    """A new ticket as an operator (or a client of the API) records it."""

    channel: Channel
    content: VisibleText = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    kind: TicketKind = TicketKind.QUESTION
    urgency: Urgency = Urgency.NORMAL
    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    public: StrictBool = False
    contact: ContactIn = Field(default_factory=ContactIn)
    procedure_codes: list[ShortText] = Field(default_factory=list, max_length=MAX_CODES)
    thread_key: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    operator_id: int | None = Field(None, ge=1, le=MAX_ID)
    received_at: Moment | None = None
    place: PlaceIn | None = None

    @field_validator("procedure_codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return _clean_codes(value)


class TicketUpdate(InputModel):
    """Fields an operator may edit; only the fields that are set are changed."""

    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    kind: TicketKind | None = None
    urgency: Urgency | None = None
    content: VisibleText | None = Field(None, min_length=1, max_length=MAX_CONTENT_CHARS)
    public: StrictBool | None = None
    procedure_codes: list[ShortText] | None = Field(None, max_length=MAX_CODES)
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
    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    agency_code: ShortText | None = Field(None, max_length=64)
    operator_id: int | None = Field(None, ge=1, le=MAX_ID)
    overdue: bool | None = None
    public: bool | None = None
    created_from: Moment | None = None
    created_to: Moment | None = None
    text: ShortText | None = Field(None, max_length=500)
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
    holidays_known: bool = True
    """False when a year between creation and deadline has no holiday data: the deadline then
    skips weekends only and may fall on a holiday."""
    recording_uri: str | None
    recording_seconds: float | None
    call_seconds: float | None
    call_outcome: str | None
    merged_into_id: int | None
    place: dict[str, Any] | None = None
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
    place: dict[str, Any] | None = None


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
    name: ShortText = Field(min_length=1, max_length=MAX_SHORT_CHARS)


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
    question: VisibleText | None = Field(None, min_length=1, max_length=MAX_CONTENT_CHARS)
    answer: VisibleText | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    procedure_codes: list[ShortText] | None = Field(None, max_length=MAX_CODES)
    note: LongText | None = Field(None, max_length=2000)
