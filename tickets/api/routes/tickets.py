"""Tickets: create, list, read, edit, move along the flow, log, export, suggestions.

Edits carry the version the client read, as ``version`` in the body or an ``If-Match`` header
(``"3"`` or ``3``); a stale one answers 409 with the current version, so two operators saving the
same ticket never overwrite each other silently. Reads answer an ``ETag`` with the version.
Agency liaisons reach only the tickets transferred to their agency; any other ticket answers 404,
the same as a ticket that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from search.errors import ErrorCode
from tickets.api.deps import (
    CurrentUser,
    DeskUser,
    StaffUser,
    TicketServiceDep,
    WorkerUser,
)
from tickets.api.routing import TicketsRoute
from tickets.errors import TicketError, VersionConflict
from tickets.export import ExportFile
from tickets.intake import Channel, EntryKind, TicketKind, Urgency
from tickets.schemas import (
    MAX_ANSWER_CHARS,
    MAX_CODES,
    MAX_CONTENT_CHARS,
    MAX_PAGE,
    MAX_SHORT_CHARS,
    EventOut,
    InputModel,
    Moment,
    ProposalOut,
    ShortText,
    Suggestions,
    TicketCreate,
    TicketFilters,
    TicketOut,
    TicketPage,
    TicketUpdate,
    VisibleText,
)
from tickets.workflow import Status

router = APIRouter(prefix="/v1/tickets", tags=["tickets"], route_class=TicketsRoute)

TicketId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The ticket's id.")]
IfMatch = Annotated[
    str | None,
    Header(max_length=40, description='The version read, e.g. "3"; or send it in the body.'),
]
VersionField = Field(None, ge=1, le=2**31 - 1, description="The version read (or If-Match).")
MAX_EXPORT_IDS = 500
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The export file",
        "content": {"application/json": {}, "text/csv": {}, XLSX_MEDIA_TYPE: {}},
    }
}


class TicketPatch(TicketUpdate):
    """Fields to change, and the version they were read at."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = VersionField


class TransitionRequest(InputModel):
    """Move a ticket to ``to`` by the step of the flow that leads there.

    ``text`` is the answer (to ``answered``) or a closing note; ``agency_code`` and ``reason`` are
    for a transfer; ``reason`` for reopening; ``field``, ``kind``, ``urgency`` and
    ``procedure_codes`` may come with a classification.
    """

    model_config = ConfigDict(extra="forbid")

    to: Status
    version: int | None = VersionField
    text: VisibleText | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    agency_code: ShortText | None = Field(None, min_length=1, max_length=64)
    reason: VisibleText | None = Field(None, min_length=1, max_length=2000)
    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    kind: TicketKind | None = None
    urgency: Urgency | None = None
    procedure_codes: list[ShortText] | None = Field(None, max_length=MAX_CODES)


class AllowedTransitions(BaseModel):
    """Where the signed-in user may move the ticket now."""

    status: Status
    version: int
    allowed: list[Status]


class EntryRequest(InputModel):
    """A message, transcript segment or note for the ticket's log."""

    model_config = ConfigDict(extra="forbid")

    kind: EntryKind = EntryKind.NOTE
    text: VisibleText = Field(min_length=1, max_length=MAX_CONTENT_CHARS)


class AssignmentRequest(InputModel):
    """Assign the ticket to an operator (``null`` unassigns)."""

    model_config = ConfigDict(extra="forbid")

    operator_id: int | None = Field(None, ge=1, le=2**31 - 1)
    version: int | None = VersionField


class MergeRequest(InputModel):
    """Merge this ticket (a duplicate) into ``into_id``; this one is closed."""

    model_config = ConfigDict(extra="forbid")

    into_id: int = Field(ge=1, le=2**31 - 1)
    version: int | None = VersionField


class ProposalRequest(InputModel):
    """Propose an answered ticket as a curated answer; texts default to the ticket's."""

    model_config = ConfigDict(extra="forbid")

    question: VisibleText | None = Field(None, min_length=1, max_length=MAX_CONTENT_CHARS)
    answer: VisibleText | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)


class SuggestionRequest(InputModel):
    """The text of a contact being recorded."""

    model_config = ConfigDict(extra="forbid")

    content: VisibleText = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    limit: int = Field(5, ge=1, le=20)
    exclude_ticket_id: int | None = Field(None, ge=1, le=2**31 - 1)


def expected_version(body_version: int | None, if_match: str | None) -> int:
    """The version a client edits, from the body or ``If-Match``.

    Raises:
        TicketError: neither given (400), they disagree, or ``If-Match`` is not a version.
    """
    header_version: int | None = None
    if if_match is not None:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 2**31 - 1:
            raise TicketError(
                f'If-Match must be a ticket version such as "3", got {if_match[:40]!r}',
                error_code=ErrorCode.BAD_REQUEST,
            )
        header_version = int(raw)
    if body_version is not None and header_version is not None and body_version != header_version:
        raise TicketError(
            f"version {body_version} in the body and {header_version} in If-Match disagree",
            error_code=ErrorCode.BAD_REQUEST,
        )
    version = body_version if body_version is not None else header_version
    if version is None:
        raise TicketError(
            "send the version you read, as 'version' in the body or an If-Match header",
            error_code=ErrorCode.BAD_REQUEST,
        )
    return version


def _with_etag(response: Response, ticket: TicketOut) -> TicketOut:
    response.headers["ETag"] = f'"{ticket.version}"'
    return ticket


class ListQuery(InputModel):
    """Query parameters of the ticket list and the filtered export."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] | None = None
    kind: list[TicketKind] | None = None
    channel: list[Channel] | None = None
    urgency: list[Urgency] | None = None
    field: ShortText | None = Field(None, max_length=MAX_SHORT_CHARS)
    agency_code: ShortText | None = Field(None, max_length=64)
    operator_id: int | None = Field(None, ge=1, le=2**31 - 1)
    overdue: bool | None = None
    created_from: Moment | None = None
    created_to: Moment | None = None
    text: ShortText | None = Field(None, max_length=500)
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=MAX_PAGE)

    def filters(self) -> TicketFilters:
        """The service's filters."""
        return TicketFilters(**self.model_dump(include=set(ListQuery.model_fields)))


class ExportQuery(ListQuery):
    """The filters of an export (paging is ignored), or chosen ticket ``ids``, and the format."""

    format: Literal["json", "csv", "xlsx"] = "json"
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        None, max_length=MAX_EXPORT_IDS
    )


@router.post("", status_code=201)
def create_ticket(
    body: TicketCreate, user: DeskUser, service: TicketServiceDep, response: Response
) -> TicketOut:
    """Record a new contact as a ticket (status ``new``, deadline from its kind's SLA).

    A ``thread_key`` whose channel already has an open ticket answers 409 naming that ticket:
    add the new message to it with ``POST /v1/tickets/{id}/entries``.
    """
    ticket = service.create(body, actor=user.actor())
    response.headers["Location"] = f"/v1/tickets/{ticket.id}"
    return _with_etag(response, ticket)


@router.get("")
def list_tickets(
    query: Annotated[ListQuery, Query()], user: CurrentUser, service: TicketServiceDep
) -> TicketPage:
    """A page of tickets, newest first; filters combine with AND (lists: any of)."""
    return service.list(query.filters(), actor=user.actor())


@router.post("/suggestions")
def suggest(body: SuggestionRequest, _user: DeskUser, service: TicketServiceDep) -> Suggestions:
    """While recording: the field, matching procedures, similar open tickets and past answers."""
    return service.suggestions(
        body.content, limit=body.limit, exclude_ticket_id=body.exclude_ticket_id
    )


@router.get(
    "/export",
    response_class=Response,
    responses=EXPORT_RESPONSES,
)
def export_tickets(
    query: Annotated[ExportQuery, Query()], user: CurrentUser, service: TicketServiceDep
) -> Response:
    """Chosen tickets (``ids``) or every ticket matching the filters, with their logs."""
    if query.ids:
        chosen = list(dict.fromkeys(query.ids))
        exported = service.export(actor=user.actor(), fmt=query.format, ticket_ids=chosen)
    else:
        exported = service.export(actor=user.actor(), fmt=query.format, filters=query.filters())
    return _file(exported)


@router.get("/{ticket_id}")
def get_ticket(
    ticket_id: TicketId, user: CurrentUser, service: TicketServiceDep, response: Response
) -> TicketOut:
    """One ticket, contact data included."""
    return _with_etag(response, service.get(ticket_id, actor=user.actor()))


@router.patch("/{ticket_id}")
def update_ticket(
    ticket_id: TicketId,
    body: TicketPatch,
    user: DeskUser,
    service: TicketServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Edit fields of a ticket; a stale version answers 409."""
    version = expected_version(body.version, if_match)
    changes = TicketUpdate(**body.model_dump(exclude_unset=True, exclude={"version"}))
    ticket = service.update(ticket_id, changes, actor=user.actor(), expected_version=version)
    return _with_etag(response, ticket)


@router.get("/{ticket_id}/transitions")
def allowed_transitions(
    ticket_id: TicketId, user: CurrentUser, service: TicketServiceDep
) -> AllowedTransitions:
    """The statuses the signed-in user may move the ticket to now."""
    ticket = service.get(ticket_id, actor=user.actor())
    allowed = service.allowed_transitions(ticket_id, actor=user.actor())
    return AllowedTransitions(
        status=ticket.status, version=ticket.version, allowed=[Status(s) for s in allowed]
    )


@router.post("/{ticket_id}/transitions")
def move_ticket(
    ticket_id: TicketId,
    body: TransitionRequest,
    user: WorkerUser,
    service: TicketServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Move the ticket along the flow; a step the flow does not allow answers 409 with why."""
    version = expected_version(body.version, if_match)
    actor = user.actor()
    classification = body.model_dump(
        include={"field", "kind", "urgency", "procedure_codes"}, exclude_none=True
    )
    if classification and body.to is not Status.CLASSIFIED:
        raise TicketError("field, kind, urgency and procedure_codes go with to='classified' only")
    current = service.get(ticket_id, actor=actor)
    if current.version != version:
        # The version speaks first: a stale screen should reload before anything else.
        raise VersionConflict(
            f"ticket {current.number} was saved at version {version}, which is stale",
            current_version=current.version,
        )
    if body.to is Status.CLASSIFIED and current.status in (Status.NEW, Status.REOPENED):
        ticket = service.classify(
            ticket_id, actor=actor, expected_version=version, **classification
        )
    else:
        ticket = service.transition(
            ticket_id,
            to=body.to,
            actor=actor,
            expected_version=version,
            text=body.text,
            agency_code=body.agency_code,
            reason=body.reason,
        )
    return _with_etag(response, ticket)


@router.post("/{ticket_id}/assignment")
def assign_ticket(
    ticket_id: TicketId,
    body: AssignmentRequest,
    user: DeskUser,
    service: TicketServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> TicketOut:
    """Assign the ticket to an operator; operators may take tickets for themselves only."""
    version = expected_version(body.version, if_match)
    ticket = service.assign(
        ticket_id, operator_id=body.operator_id, actor=user.actor(), expected_version=version
    )
    return _with_etag(response, ticket)


@router.post("/{ticket_id}/merge")
def merge_ticket(
    ticket_id: TicketId,
    body: MergeRequest,
    user: DeskUser,
    service: TicketServiceDep,
    if_match: IfMatch = None,
) -> TicketOut:
    """Merge this duplicate into another ticket; answers the target ticket."""
    version = expected_version(body.version, if_match)
    return service.merge(
        ticket_id, into_id=body.into_id, actor=user.actor(), expected_version=version
    )


@router.get("/{ticket_id}/events")
def ticket_events(
    ticket_id: TicketId, user: CurrentUser, service: TicketServiceDep
) -> list[EventOut]:
    """The processing log, oldest first: who did what, when, from which value to which."""
    return service.events(ticket_id, actor=user.actor())


@router.post("/{ticket_id}/entries", status_code=201)
def add_entry(
    ticket_id: TicketId, body: EntryRequest, user: WorkerUser, service: TicketServiceDep
) -> list[EventOut]:
    """Append a message, transcript segment or note to the log; answers the log."""
    service.add_entry(ticket_id, kind=body.kind, text=body.text, actor=user.actor())
    return service.events(ticket_id, actor=user.actor())


@router.get(
    "/{ticket_id}/export",
    response_class=Response,
    responses=EXPORT_RESPONSES,
)
def export_ticket(
    ticket_id: TicketId,
    user: CurrentUser,
    service: TicketServiceDep,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """One ticket with its log as JSON, CSV or XLSX."""
    return _file(service.export(actor=user.actor(), fmt=format, ticket_ids=[ticket_id]))


@router.post("/{ticket_id}/proposals", status_code=201)
def propose_answer(
    ticket_id: TicketId, body: ProposalRequest, user: StaffUser, service: TicketServiceDep
) -> ProposalOut:
    """Propose the answered ticket as a curated answer for the knowledge base."""
    return service.propose_answer(
        ticket_id, actor=user.actor(), question=body.question, answer=body.answer
    )


def _file(exported: ExportFile) -> Response:
    return Response(
        content=exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
