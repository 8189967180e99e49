"""Supervision: statistics and the overdue list (supervisors and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tickets.api.deps import SupervisorUser, TicketServiceDep
from tickets.api.routing import TicketsRoute
from tickets.schemas import Moment, TicketOut
from tickets.stats import Period, StatsReport

router = APIRouter(prefix="/v1/stats", tags=["stats"], route_class=TicketsRoute)


@router.get("/tickets")
def ticket_stats(
    user: SupervisorUser,
    service: TicketServiceDep,
    created_from: Annotated[Moment | None, Query()] = None,
    created_to: Annotated[Moment | None, Query()] = None,
    period: Annotated[Period, Query()] = Period.MONTH,
) -> StatsReport:
    """Counts and SLA compliance by field, channel, agency, status and period; per-operator
    workload and handling time."""
    return service.stats(
        actor=user.actor(), created_from=created_from, created_to=created_to, period=period
    )


@router.get("/overdue")
def overdue_tickets(
    user: SupervisorUser,
    service: TicketServiceDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[TicketOut]:
    """Tickets past their deadline and still waiting for an answer, the most late first."""
    return service.overdue(actor=user.actor(), limit=limit)
