"""A contact from creation to the agency's answer, on SQLite and PostgreSQL, with its log."""

from __future__ import annotations

import pytest

from tests.utils.tickets import make_actor, make_agency, make_ticket
from tickets.errors import InvalidTransition, PermissionDenied, TicketNotFound, VersionConflict
from tickets.intake import TicketKind, Urgency
from tickets.schemas import TicketFilters, TicketUpdate
from tickets.service import TicketService
from tickets.workflow import Role, Status

pytestmark = pytest.mark.integration


def test_operator_takes_a_contact_to_the_agency_answer(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service, Role.OPERATOR)
    agency = make_agency(ticket_service)
    liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=agency.code)

    ticket = make_ticket(ticket_service, operator)
    assert ticket.status is Status.NEW
    assert ticket.number.startswith("1022-2026-")
    assert ticket.version == 1

    ticket = ticket_service.classify(
        ticket.id,
        field="Tư pháp",
        kind=TicketKind.PROCEDURE_FEEDBACK,
        urgency=Urgency.HIGH,
        actor=operator,
        expected_version=1,
    )
    assert (ticket.status, ticket.field, ticket.kind) == (
        Status.CLASSIFIED,
        "Tư pháp",
        TicketKind.PROCEDURE_FEEDBACK,
    )
    ref = ticket_service.transfer(
        ticket.id,
        agency_code=agency.code,
        reason="Thuộc thẩm quyền cơ quan",
        actor=operator,
        expected_version=ticket.version,
    )
    assert ref.status == Status.TRANSFERRED.value

    accepted = ticket_service.agency_accept(ticket.id, actor=liaison, expected_version=ref.version)
    assert accepted.status is Status.AGENCY_PROCESSING
    answered = ticket_service.agency_answer(
        ticket.id, text="Công dân nộp hồ sơ tại bộ phận một cửa.", actor=liaison
    )
    assert answered.status is Status.ANSWERED
    assert answered.answered_at is not None

    # The answer returns to the operator's view of the ticket.
    seen = ticket_service.get(ticket.id, actor=operator)
    assert seen.answer == "Công dân nộp hồ sơ tại bộ phận một cửa."
    closed = ticket_service.close(ticket.id, actor=operator, expected_version=seen.version)
    assert closed.status is Status.CLOSED and closed.closed_at is not None

    events = ticket_service.events(ticket.id)
    status_changes = [(e.old_value, e.new_value) for e in events if e.field == "status"]
    assert status_changes == [
        (None, "new"),
        ("new", "classified"),
        ("classified", "transferred"),
        ("transferred", "agency_processing"),
        ("agency_processing", "answered"),
        ("answered", "closed"),
    ]
    kinds = {(e.field, e.old_value, e.new_value) for e in events}
    assert ("kind", "question", "procedure_feedback") in kinds
    assert ("agency_code", None, agency.code) in kinds
    assert ("answer", None, "Công dân nộp hồ sơ tại bộ phận một cửa.") in kinds
    actors = {e.actor for e in events if e.field == "status"}
    assert actors == {operator.username, liaison.username}


def test_invalid_transition_names_current_and_allowed(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    with pytest.raises(InvalidTransition) as raised:
        ticket_service.close(ticket.id, actor=operator)
    assert raised.value.current == "new"
    # Merging also closes a new ticket, but only as a merge; the list names plain steps.
    assert raised.value.allowed == ["classified", "transferred"]
    assert "'new'" in raised.value.detail and "classified" in raised.value.detail
    assert raised.value.error_code.http_status == 409
    # Nothing was written by the refused step.
    assert [e.action for e in ticket_service.events(ticket.id)] == ["create"]


def test_stale_version_is_refused_and_nothing_written(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    ticket_service.update(
        ticket.id, TicketUpdate(field="Hộ tịch"), actor=operator, expected_version=1
    )
    with pytest.raises(VersionConflict) as raised:
        ticket_service.update(
            ticket.id, TicketUpdate(field="Đất đai"), actor=operator, expected_version=1
        )
    assert raised.value.current_version == 2
    assert ticket_service.get(ticket.id).field == "Hộ tịch"


def test_liaison_sees_only_tickets_of_its_agency(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    mine, other = make_agency(ticket_service), make_agency(ticket_service)
    liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=mine.code)
    to_mine = make_ticket(ticket_service, operator)
    to_other = make_ticket(ticket_service, operator)
    untouched = make_ticket(ticket_service, operator)
    for ticket, agency in ((to_mine, mine), (to_other, other)):
        ticket_service.classify(ticket.id, actor=operator)
        ticket_service.transfer(ticket.id, agency_code=agency.code, reason="x", actor=operator)

    page = ticket_service.list(TicketFilters(), actor=liaison)
    assert [t.id for t in page.items] == [to_mine.id]
    assert page.total == 1
    for hidden in (to_other.id, untouched.id):
        with pytest.raises(TicketNotFound):
            ticket_service.get(hidden, actor=liaison)
        with pytest.raises(TicketNotFound):
            ticket_service.agency_accept(hidden, actor=liaison)
    with pytest.raises(PermissionDenied):
        ticket_service.answer(to_mine.id, text="x", actor=liaison)
