"""Errors that say what is wrong, and lists of allowed steps that agree with the checks."""

from __future__ import annotations

import logging

import pytest

from tests.utils.tickets import make_actor, make_agency, make_ticket
from tests.utils.tickets_api import api_client, signed_in_user
from tickets.errors import UnknownAgency
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration


def test_listed_transitions_are_the_ones_that_work(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        ticket = make_ticket(ticket_service, operator.user.actor())
        path = f"/v1/tickets/{ticket.id}/transitions"
        allowed = client.get(path, headers=operator.headers).json()["allowed"]
        assert "closed" not in allowed and "classified" in allowed
        refused = client.post(path, headers=operator.headers, json={"to": "closed", "version": 1})
        assert refused.status_code == 409
        detail = refused.json()["detail"]
        assert "allowed next statuses: classified, transferred" in detail, detail

        no_reason = client.post(
            path,
            headers=operator.headers,
            json={
                "to": "transferred",
                "agency_code": make_agency(ticket_service).code,
                "version": 1,
            },
        )
        assert no_reason.status_code == 422
        assert "needs a reason" in no_reason.json()["detail"], no_reason.text


def test_reviewing_a_reviewed_proposal_says_so(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    ticket_service.classify(ticket.id, field="Cư trú", actor=operator)
    ticket_service.answer(ticket.id, text="Nộp tại công an xã.", actor=operator)
    proposal = ticket_service.propose_answer(ticket.id, actor=operator)
    with api_client(ticket_service) as client:
        editor = signed_in_user(client, ticket_service, Role.EDITOR)
        path = f"/v1/knowledge/proposals/{proposal.id}/review"
        first = client.post(
            path, headers=editor.headers, json={"decision": "approve", "version": 1}
        )
        assert first.status_code == 200, first.text
        again = client.post(path, headers=editor.headers, json={"decision": "reject", "version": 2})
        assert again.status_code == 409
        detail = again.json()["detail"]
        assert "already approved" in detail and "cannot move a ticket" not in detail, detail


def test_unknown_agency_lists_a_few_agencies(ticket_service: TicketService) -> None:
    for number in range(15):
        make_agency(ticket_service, code=f"AG-{number:02d}")
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    with pytest.raises(UnknownAgency) as raised:
        ticket_service.transfer(ticket.id, agency_code="KHONG-CO", reason="Thử", actor=operator)
    detail = raised.value.detail
    assert "AG-09" in detail and "AG-10" not in detail
    assert "and 5 more" in detail, detail


def test_log_lines_name_enum_values(
    ticket_service: TicketService, caplog: pytest.LogCaptureFixture
) -> None:
    operator = make_actor(ticket_service)
    agency = make_agency(ticket_service).code
    with caplog.at_level(logging.INFO, logger="tickets.service"):
        ticket = make_ticket(ticket_service, operator)
        ticket_service.transfer(ticket.id, agency_code=f" {agency} ", reason="Thử", actor=operator)
    messages = [r.getMessage() for r in caplog.records if r.name == "tickets.service"]
    assert f"Ticket {ticket.number} created (channel phone, kind question)" in messages
    assert f"Ticket {ticket.number} transferred to {agency}" in messages
    assert not any("Channel." in m or "TicketKind." in m for m in messages), messages
