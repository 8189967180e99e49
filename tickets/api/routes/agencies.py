"""Agencies tickets are transferred to: everyone signed in reads them, admins change them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import ConfigDict, Field

from tickets.api.deps import AdminUser, CurrentUser, TicketServiceDep
from tickets.api.routing import TicketsRoute
from tickets.schemas import AgencyOut, InputModel, ShortText

router = APIRouter(prefix="/v1/agencies", tags=["agencies"], route_class=TicketsRoute)

AgencyCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class AgencyCreate(InputModel):
    """A new agency."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: ShortText = Field(min_length=1, max_length=255)
    phone: ShortText | None = Field(None, max_length=64)
    email: ShortText | None = Field(None, max_length=255)


class AgencyUpdate(InputModel):
    """What may change on an agency; unset fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = Field(None, min_length=1, max_length=255)
    phone: ShortText | None = Field(None, max_length=64)
    email: ShortText | None = Field(None, max_length=255)
    active: bool | None = None


@router.get("")
def list_agencies(
    _user: CurrentUser,
    service: TicketServiceDep,
    include_inactive: Annotated[bool, Query()] = False,
) -> list[AgencyOut]:
    """Agencies by code (active ones unless ``include_inactive``)."""
    return service.list_agencies(include_inactive=include_inactive)


@router.post("", status_code=201)
def create_agency(body: AgencyCreate, user: AdminUser, service: TicketServiceDep) -> AgencyOut:
    """Add an agency (admin)."""
    return service.create_agency(**body.model_dump(), actor=user.actor())


@router.get("/{code}")
def get_agency(code: AgencyCode, _user: CurrentUser, service: TicketServiceDep) -> AgencyOut:
    """One agency."""
    return service.get_agency(code)


@router.patch("/{code}")
def update_agency(
    code: AgencyCode, body: AgencyUpdate, user: AdminUser, service: TicketServiceDep
) -> AgencyOut:
    """Change an agency's name, phone, e-mail or active flag (admin)."""
    return service.update_agency(code, actor=user.actor(), **body.model_dump(exclude_none=True))
