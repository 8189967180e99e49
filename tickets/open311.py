"""Open311 GeoReport v2 at ``/open311/v2``: other civic tools create and follow requests.

Mapping (GeoReport v2 → the ticket system):

- A *service* is a ticket category: a kind (question, feedback on a procedure, complaint,
  infrastructure incident) crossed with a field (lĩnh vực) that tickets already use. Its code is
  ``<kind>`` for "any field" or ``<kind>.<field slug>``, e.g. ``incident.giao-thong``. Forwarded
  emergencies are not offered: those go to 113/114/115 by phone, not through a form.
- A *request* is a ticket; ``service_request_id`` is the ticket number ("1022-2026-000123").
  ``status`` is ``closed`` once the ticket is answered or closed (or merged into another one) and
  ``open`` before; ``status_notes`` is the public answer when there is one, else a sentence about
  where the ticket is; ``agency_responsible`` is the agency it was transferred to (else the
  hotline); ``expected_datetime`` is the SLA deadline; ``requested_datetime`` and
  ``updated_datetime`` are the ticket's creation and last change.
- Reads list **public tickets only** (the citizen's choice, the service attribute ``public``) and
  never carry contact data; a private ticket answers 404 exactly like a missing one.
- ``POST requests.json`` needs an ``api_key``: a bearer token of an operator-, supervisor- or
  admin-role account made for the client tool (``POST /v1/auth/token``). Name, phone and e-mail
  are stored as the ticket's contact and never shown again through Open311. The location
  (``address_string``, ``lat``/``long``) and ``media_url`` are kept in the ticket's content,
  since tickets have no place columns.

Every endpoint is rate limited per client. Only the JSON format is served; errors use the
platform's ``{"error_code", "detail"}`` body.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select, select

from search.errors import ErrorCode
from search.text.vietnamese import fold_accents
from tickets.api.deps import get_auth_store, get_ticket_service, rate_limited
from tickets.api.routing import Open311Route
from tickets.errors import AuthenticationFailed, PermissionDenied, TicketError, TicketNotFound
from tickets.intake import Channel, TicketKind
from tickets.models import Ticket
from tickets.schemas import (
    ContactIn,
    InputModel,
    PlaceIn,
    ShortText,
    TicketCreate,
    TicketOut,
    TicketPublic,
    UserOut,
    VisibleText,
    bounded_moment,
)
from tickets.service import TicketService
from tickets.workflow import Role, Status

logger = logging.getLogger(__name__)

router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    route_class=Open311Route,
    dependencies=[Depends(rate_limited("open311"))],
)

HOTLINE_NAME = "Tổng đài 1022"
OFFERED_KINDS: dict[TicketKind, tuple[str, str]] = {
    TicketKind.QUESTION: ("Hỏi đáp thủ tục hành chính", "Câu hỏi về cách làm một thủ tục"),
    TicketKind.PROCEDURE_FEEDBACK: (
        "Phản ánh, kiến nghị về thủ tục",
        "Phản ánh hoặc kiến nghị về việc giải quyết một thủ tục hành chính",
    ),
    TicketKind.COMPLAINT: ("Khiếu nại, tố cáo", "Khiếu nại hoặc tố cáo"),
    TicketKind.INCIDENT: (
        "Sự cố hạ tầng, vệ sinh môi trường",
        "Hư hỏng đường sá, chiếu sáng, cấp thoát nước, rác thải …",
    ),
}
CLOSED_STATUSES = frozenset({Status.ANSWERED, Status.CLOSED})
STATUS_NOTES: dict[Status, str] = {
    Status.NEW: "Đã tiếp nhận, đang chờ phân loại.",
    Status.CLASSIFIED: "Đã phân loại, đang xử lý tại Tổng đài.",
    Status.TRANSFERRED: "Đã chuyển đến cơ quan có thẩm quyền.",
    Status.AGENCY_PROCESSING: "Cơ quan có thẩm quyền đang xử lý.",
    Status.ANSWERED: "Đã trả lời.",
    Status.CLOSED: "Đã trả lời và đóng.",
    Status.REOPENED: "Đã mở lại để xử lý tiếp.",
}
SUBMIT_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUEST_IDS = 100
NUMBER_PATTERN = r"^1022-[0-9]{4}-[0-9]{6,10}$"


class Service(BaseModel):
    """A GeoReport service (a ticket category)."""

    service_code: str
    service_name: str
    description: str
    metadata: bool = True
    type: Literal["realtime", "batch", "blackbox"] = "batch"
    keywords: str
    group: str


class AttributeValue(BaseModel):
    """One value of a list attribute."""

    key: str
    name: str


class ServiceAttribute(BaseModel):
    """An extra field a client may send with a request (``attribute[<code>]``)."""

    variable: bool = True
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinition(BaseModel):
    """The attributes of one service."""

    service_code: str
    attributes: list[ServiceAttribute]


class ServiceRequest(BaseModel):
    """A GeoReport request: a public ticket without any contact data."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class RequestCreated(BaseModel):
    """What ``POST requests.json`` answers for the new request."""

    service_request_id: str
    service_notice: str
    account_id: str | None = None


ATTRIBUTE_FIELD = re.compile(r"^attribute\[[A-Za-z0-9_.-]{1,64}\](\[\])?$")
"""Form names of GeoReport attributes: ``attribute[code]`` or ``attribute[code][]``."""


class NewServiceRequest(InputModel):
    """The form fields of ``POST requests.json`` (``application/x-www-form-urlencoded``).

    ``jurisdiction_id`` is accepted and ignored (this endpoint serves one jurisdiction);
    attributes other than ``public`` are accepted and ignored; any other unknown field is refused.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    api_key: str = Field(min_length=1, max_length=200)
    jurisdiction_id: ShortText | None = Field(None, max_length=120)
    service_code: ShortText = Field(min_length=1, max_length=120)
    description: VisibleText = Field(min_length=1, max_length=4000)
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address_string: ShortText | None = Field(None, max_length=255)
    address_id: ShortText | None = Field(None, max_length=64)
    email: ShortText | None = Field(None, max_length=255)
    device_id: ShortText | None = Field(None, max_length=128)
    account_id: ShortText | None = Field(None, max_length=128)
    first_name: ShortText | None = Field(None, max_length=100)
    last_name: ShortText | None = Field(None, max_length=100)
    phone: ShortText | None = Field(None, max_length=64)
    media_url: ShortText | None = Field(None, max_length=1024, pattern=r"^https?://")
    public: Literal["true", "false"] = Field(
        "false", alias="attribute[public]", description="The citizen's choice of visibility."
    )

    @model_validator(mode="after")
    def _only_attributes_extra(self) -> NewServiceRequest:
        unknown = sorted(
            name for name in (self.model_extra or {}) if not ATTRIBUTE_FIELD.match(name)
        )
        if unknown:
            raise ValueError(f"unknown form fields: {', '.join(unknown)[:200]}")
        return self

    def place(self) -> PlaceIn | None:
        """Where the problem is, as the ticket stores it."""
        place = PlaceIn(
            lat=self.lat,
            long=self.long,
            address=self.address_string,
            address_id=self.address_id,
            media_url=self.media_url,
        )
        return place if place.stored() else None


def field_slug(field: str) -> str:
    """The part of a service code that names a field: "Giao thông" → "giao-thong"."""
    return re.sub(r"[^a-z0-9]+", "-", fold_accents(field).lower()).strip("-")[:80]


def known_fields(service: TicketService) -> list[str]:
    """The fields (lĩnh vực) offered as services, sorted: the configured ones and those of
    public tickets. A private ticket's field is never published (it is free text an operator
    typed about a citizen's case)."""
    with service.sessions() as session:
        rows = session.scalars(
            select(Ticket.field)
            .where(Ticket.field.is_not(None), Ticket.public.is_(True))
            .distinct()
        )
        found = {*rows, *service.settings.open311_fields}
    return sorted({field for field in found if field and field_slug(field)})


def services_of(fields: list[str]) -> list[Service]:
    """Every service: each offered kind alone, then crossed with each field."""
    offered: list[Service] = []
    for kind, (name, description) in OFFERED_KINDS.items():
        offered.append(
            Service(
                service_code=kind.value,
                service_name=name,
                description=description,
                keywords=kind.value,
                group=name,
            )
        )
        offered.extend(
            Service(
                service_code=f"{kind.value}.{field_slug(field)}",
                service_name=f"{name}: {field}",
                description=f"{description} (lĩnh vực {field})",
                keywords=f"{kind.value}, {field}",
                group=name,
            )
            for field in fields
        )
    return offered


def resolve_service_code(code: str, fields: list[str]) -> tuple[TicketKind, str | None]:
    """The kind and field a service code stands for.

    Raises:
        TicketNotFound: no such service.
    """
    kind_part, _, slug = code.partition(".")
    kinds = {kind.value: kind for kind in OFFERED_KINDS}
    kind = kinds.get(kind_part)
    if kind is not None and not slug:
        return kind, None
    by_slug = {field_slug(field): field for field in fields}
    if kind is None or slug not in by_slug:
        raise TicketNotFound(f"no Open311 service with code {code[:120]!r}; see services.json")
    return kind, by_slug[slug]


def to_request(
    public: TicketPublic, merged_into: str | None, sla_days: int | None
) -> ServiceRequest:
    """The GeoReport view of a public ticket."""
    kind_name = OFFERED_KINDS.get(public.kind, (public.kind.value, ""))[0]
    place = public.place or {}
    code = public.kind.value + (f".{field_slug(public.field)}" if public.field else "")
    if merged_into:
        notes = f"Đã gộp vào yêu cầu {merged_into}."
    elif public.answer and public.status in CLOSED_STATUSES:
        notes = public.answer
    else:
        notes = STATUS_NOTES[public.status]
    return ServiceRequest(
        service_request_id=public.number,
        status="closed" if merged_into or public.status in CLOSED_STATUSES else "open",
        status_notes=notes,
        service_name=f"{kind_name}: {public.field}" if public.field else kind_name,
        service_code=code,
        description=public.content,
        agency_responsible=public.agency_name or public.agency_code or HOTLINE_NAME,
        service_notice=_notice(sla_days),
        requested_datetime=public.created_at,
        updated_datetime=public.updated_at,
        expected_datetime=public.due_at,
        address=place.get("address"),
        address_id=place.get("address_id"),
        lat=place.get("lat"),
        long=place.get("long"),
        media_url=place.get("media_url"),
    )


def _notice(sla_days: int | None) -> str | None:
    if not sla_days:
        return None
    return f"Thời hạn trả lời: {sla_days} ngày làm việc."


def _sla_days(service: TicketService, kind: TicketKind) -> int | None:
    days = service.settings.sla_working_days.get(kind.value)
    return int(days) if days is not None else None


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TicketError(f"{name} must be a W3C date-time, got {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise TicketError(f"{name} needs a time-zone offset, e.g. 2026-05-01T08:00:00+07:00")
    try:
        return bounded_moment(moment)
    except ValueError as exc:
        raise TicketError(f"{name}: {exc}") from None


ServiceDep = Annotated[TicketService, Depends(get_ticket_service)]


@router.get("/services.json")
def list_services(service: ServiceDep) -> list[Service]:
    """The ticket categories a request can be filed under."""
    return services_of(known_fields(service))


@router.get("/services/{service_code}.json")
def service_definition(
    service: ServiceDep,
    service_code: Annotated[str, Path(min_length=1, max_length=120)],
) -> ServiceDefinition:
    """The attributes of one service: the citizen's choice of public visibility."""
    resolve_service_code(service_code, known_fields(service))
    public = ServiceAttribute(
        code="public",
        datatype="singlevaluelist",
        required=False,
        datatype_description="true: the request and its answer may be shown publicly",
        order=1,
        description="Công khai nội dung và câu trả lời? (mặc định: không)",
        values=[AttributeValue(key="true", name="Có"), AttributeValue(key="false", name="Không")],
    )
    return ServiceDefinition(service_code=service_code, attributes=[public])


@router.post("/requests.json", status_code=201)
def create_request(
    form: Annotated[NewServiceRequest, Form()], service: ServiceDep, request: Request
) -> list[RequestCreated]:
    """File a request; needs an ``api_key``. Answers the new request's id (the ticket number)."""
    user = _submitter(form.api_key, request)
    kind, field = resolve_service_code(form.service_code, known_fields(service))
    name = " ".join(part for part in (form.first_name, form.last_name) if part) or None
    ticket = service.create(
        TicketCreate(
            channel=Channel.APP,
            content=_content(form),
            kind=kind,
            field=field,
            public=form.public == "true",
            contact=ContactIn(name=name, phone=form.phone, email=form.email),
            thread_key=f"open311:{uuid.uuid4().hex}",
            place=form.place(),
        ),
        actor=user.actor(),
    )
    logger.info("Open311 request %s filed by %s", ticket.number, user.username)
    notice = _notice(_sla_days(service, kind)) or "Đã tiếp nhận."
    return [
        RequestCreated(
            service_request_id=ticket.number, service_notice=notice, account_id=form.account_id
        )
    ]


def _submitter(api_key: str, request: Request) -> UserOut:
    try:
        user = get_auth_store(request).authenticate(api_key)
    except AuthenticationFailed:
        raise AuthenticationFailed("api_key is unknown, expired or revoked") from None
    if user.role not in SUBMIT_ROLES:
        raise PermissionDenied(
            f"the api_key's account (role {user.role.value}) cannot file requests"
        )
    return user


def _content(form: NewServiceRequest) -> str:
    parts = [form.description.strip()]
    place = ", ".join(p for p in (form.address_string, form.address_id) if p)
    if form.lat is not None and form.long is not None:
        place = (
            f"{place} ({form.lat:.6f}, {form.long:.6f})" if place else f"{form.lat}, {form.long}"
        )
    if place:
        parts.append(f"Địa điểm: {place}")
    if form.media_url:
        parts.append(f"Ảnh/tệp: {form.media_url}")
    content = "\n\n".join(part for part in parts if part)
    if not content:
        raise TicketError("description must not be blank")
    return content


@router.get("/requests.json")
def list_requests(
    service: ServiceDep,
    service_request_id: Annotated[str | None, Query(max_length=2200)] = None,
    service_code: Annotated[str | None, Query(max_length=120)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[
        str | None, Query(max_length=20, pattern=r"^(open|closed)(,(open|closed))?$")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ServiceRequest]:
    """Public requests, newest first: by ids, or by service, dates (default: the last 90 days)
    and status."""
    query = select(Ticket).where(Ticket.public.is_(True))
    if service_request_id:
        numbers = [n.strip() for n in service_request_id.split(",") if n.strip()]
        if len(numbers) > MAX_REQUEST_IDS:
            raise TicketError(f"at most {MAX_REQUEST_IDS} service_request_id values")
        query = query.where(Ticket.number.in_(numbers))
    else:
        query = _where_service_and_dates(query, service, service_code, start_date, end_date)
        query = _where_status(query, status)
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    query = query.offset((page - 1) * page_size).limit(page_size)
    return _requests(service, query)


def _where_service_and_dates(
    query: Select[tuple[Ticket]],
    service: TicketService,
    code: str | None,
    start: str | None,
    end: str | None,
) -> Select[tuple[Ticket]]:
    if code:
        kind, field = resolve_service_code(code, known_fields(service))
        query = query.where(Ticket.kind == kind.value)
        if field is not None:
            query = query.where(Ticket.field == field)
    start_at, end_at = _parse_time(start, "start_date"), _parse_time(end, "end_date")
    if start_at and end_at and start_at > end_at:
        raise TicketError("start_date is after end_date", error_code=ErrorCode.BAD_REQUEST)
    if start_at is None:
        start_at = (end_at or service.now()) - DEFAULT_WINDOW
    query = query.where(Ticket.created_at >= start_at)
    if end_at is not None:
        query = query.where(Ticket.created_at <= end_at)
    return query


def _where_status(query: Select[tuple[Ticket]], status: str | None) -> Select[tuple[Ticket]]:
    wanted = set(status.split(",")) if status else {"open", "closed"}
    done = [s.value for s in CLOSED_STATUSES]
    if wanted == {"open"}:
        return query.where(Ticket.status.not_in(done), Ticket.merged_into_id.is_(None))
    if wanted == {"closed"}:
        return query.where(Ticket.status.in_(done) | Ticket.merged_into_id.is_not(None))
    return query


def _requests(service: TicketService, query: Select[tuple[Ticket]]) -> list[ServiceRequest]:
    with service.sessions() as session:
        rows = list(session.scalars(query))
        merged_ids = {t.merged_into_id for t in rows if t.merged_into_id is not None}
        numbers: dict[int, str] = {}
        if merged_ids:
            found = session.execute(
                select(Ticket.id, Ticket.number).where(Ticket.id.in_(merged_ids))
            )
            numbers = {row.id: row.number for row in found}
        tickets = [(TicketOut.model_validate(t), numbers.get(t.merged_into_id or 0)) for t in rows]
    names = {a.code: a.name for a in service.list_agencies(include_inactive=True)}
    return [
        to_request(
            service.to_public(ticket, names.get(ticket.agency_code or "")),
            merged_into,
            _sla_days(service, ticket.kind),
        )
        for ticket, merged_into in tickets
    ]


@router.get("/requests/{service_request_id}.json")
def get_request(
    service: ServiceDep,
    service_request_id: Annotated[str, Path(max_length=24, pattern=NUMBER_PATTERN)],
) -> list[ServiceRequest]:
    """One public request by its id (the ticket number); private tickets answer 404."""
    query = select(Ticket).where(Ticket.public.is_(True), Ticket.number == service_request_id)
    found = _requests(service, query)
    if not found:
        raise TicketNotFound(f"no public request {service_request_id!r}")
    return found
