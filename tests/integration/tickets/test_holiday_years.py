"""Deadlines in a year without holiday data say so, and the log warns once per year."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from tests.utils.tickets import FixedClock, make_ticket
from tickets.schemas import Actor, HolidayIn
from tickets.service import TicketService
from tickets.sla import VIETNAM_TIME
from tickets.workflow import Role

pytestmark = pytest.mark.integration

SETUP = Actor(username="setup", role=Role.ADMIN)


def test_a_year_without_holidays_is_flagged(
    ticket_service: TicketService, ticket_clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    known = make_ticket(ticket_service, SETUP)
    assert known.holidays_known

    ticket_clock.set(datetime(2029, 3, 5, 9, 0, tzinfo=VIETNAM_TIME))
    with caplog.at_level(logging.WARNING, logger="tickets.service_base"):
        first = make_ticket(ticket_service, SETUP)
        second = make_ticket(ticket_service, SETUP)
    assert not first.holidays_known and not second.holidays_known
    assert not ticket_service.get(first.id).holidays_known
    warnings = [r.getMessage() for r in caplog.records if "No public holidays" in r.getMessage()]
    assert len(warnings) == 1 and "2029" in warnings[0]

    # Once an admin sets the year's holidays, its deadlines are trusted again.
    holiday = HolidayIn(day=date(2029, 4, 30), name="Ngày Chiến thắng (30/4)")
    ticket_service.set_holidays(2029, [holiday], actor=SETUP)
    assert make_ticket(ticket_service, SETUP).holidays_known


def test_2025_and_2028_holidays_are_bundled(
    ticket_service: TicketService, ticket_clock: FixedClock
) -> None:
    # Wednesday 26 January 2028 is mùng 1 Tết: a question due in two working days skips the
    # whole Tết week and the weekend.
    ticket_clock.set(datetime(2028, 1, 21, 9, 0, tzinfo=VIETNAM_TIME))
    ticket = make_ticket(ticket_service, SETUP)
    assert ticket.holidays_known
    assert ticket.due_at is not None
    assert ticket.due_at.astimezone(VIETNAM_TIME).date().isoformat() == "2028-02-01"
