"""Public holidays per year, which deadlines skip: everyone signed in reads, admins set them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from tickets.api.deps import AdminUser, CurrentUser, TicketServiceDep
from tickets.api.routing import TicketsRoute
from tickets.schemas import HolidayIn, HolidayOut

router = APIRouter(prefix="/v1/holidays", tags=["holidays"], route_class=TicketsRoute)

Year = Annotated[int, Path(ge=1900, le=2200)]


@router.get("/{year}")
def list_holidays(year: Year, _user: CurrentUser, service: TicketServiceDep) -> list[HolidayOut]:
    """The holidays of ``year``: the bundled calendar, or the admin's list where one is set."""
    return service.holidays(year)


@router.put("/{year}")
def set_holidays(
    year: Year,
    days: Annotated[list[HolidayIn], Body(max_length=60)],
    user: AdminUser,
    service: TicketServiceDep,
) -> list[HolidayOut]:
    """Replace the holidays of ``year`` (admin); an empty list returns to the bundled calendar.
    Deadlines already set keep their value."""
    return service.set_holidays(year, days, actor=user.actor())
