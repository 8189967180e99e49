"""A ticket sent to the wrong agency is re-routed by the desk or handed back by the agency.

Both moves are logged with who, when, the old and new agency and the reason.
"""

from __future__ import annotations

import pytest

from tests.utils.tickets import make_actor, make_agency, make_ticket
from tests.utils.tickets_api import api_client, signed_in_user
from tickets.errors import InvalidTransition, TicketNotFound
from tickets.service import TicketService
from tickets.workflow import Role, Status

pytestmark = pytest.mark.integration


def test_desk_reroutes_from_transferred_and_agency_processing(
    ticket_service: TicketService,
) -> None:
    wrong, right, third = (make_agency(ticket_service).code for _ in range(3))
    operator = make_actor(ticket_service, Role.OPERATOR)
    liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=wrong)
    ticket = make_ticket(ticket_service, operator)
    ticket_service.transfer(ticket.id, agency_code=wrong, reason="Hộ tịch", actor=operator)

    assert "transferred" in ticket_service.allowed_transitions(ticket.id, actor=operator)
    ticket_service.transfer(ticket.id, agency_code=right, reason="Nhầm cơ quan", actor=operator)
    moved = ticket_service.get(ticket.id)
    assert (moved.status, moved.agency_code) == (Status.TRANSFERRED, right)
    with pytest.raises(InvalidTransition, match="already with agency"):
        ticket_service.transfer(ticket.id, agency_code=right, reason="Lần nữa", actor=operator)
    # The first agency no longer sees it.
    with pytest.raises(TicketNotFound):
        ticket_service.get(ticket.id, actor=liaison)

    right_liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=right)
    ticket_service.agency_accept(ticket.id, actor=right_liaison)
    ticket_service.transfer(ticket.id, agency_code=third, reason="Thuộc quận", actor=operator)
    assert ticket_service.get(ticket.id).agency_code == third

    changes = [
        (e.action, e.old_value, e.new_value)
        for e in ticket_service.events(ticket.id)
        if e.field == "agency_code"
    ]
    assert changes == [
        ("transfer", None, wrong),
        ("transfer", wrong, right),
        ("transfer", right, third),
    ]
    reasons = [e.text for e in ticket_service.events(ticket.id) if e.action == "transfer_reason"]
    assert reasons == ["Hộ tịch", "Nhầm cơ quan", "Thuộc quận"]


def test_liaison_returns_a_ticket_to_the_hotline(ticket_service: TicketService) -> None:
    agency = make_agency(ticket_service).code
    other = make_agency(ticket_service).code
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        liaison = signed_in_user(client, ticket_service, Role.AGENCY_LIAISON, agency_code=agency)
        ticket = make_ticket(ticket_service, operator.user.actor())
        path = f"/v1/tickets/{ticket.id}/transitions"
        sent = client.post(
            path,
            headers=operator.headers,
            json={"to": "transferred", "agency_code": agency, "reason": "Đất đai", "version": 1},
        )
        assert sent.status_code == 200, sent.text

        allowed = client.get(path, headers=liaison.headers).json()["allowed"]
        assert "classified" in allowed and "agency_processing" in allowed
        version = sent.json()["version"]
        blank = client.post(
            path, headers=liaison.headers, json={"to": "classified", "version": version}
        )
        assert blank.status_code == 422 and "reason" in blank.json()["detail"], blank.text
        back = client.post(
            path,
            headers=liaison.headers,
            json={"to": "classified", "reason": "Không thuộc thẩm quyền", "version": version},
        )
        assert back.status_code == 200, back.text
        assert (back.json()["status"], back.json()["agency_code"]) == ("classified", None)
        # Out of the agency's sight; the desk can send it on to the right one.
        assert client.get(f"/v1/tickets/{ticket.id}", headers=liaison.headers).status_code == 404
        again = client.post(
            path,
            headers=operator.headers,
            json={
                "to": "transferred",
                "agency_code": other,
                "reason": "Đúng cơ quan",
                "version": back.json()["version"],
            },
        )
        assert again.status_code == 200, again.text

    events = ticket_service.events(ticket.id)
    returned = [e for e in events if e.action == "return_to_hotline"]
    assert {(e.field, e.old_value, e.new_value) for e in returned} == {
        ("status", "transferred", "classified"),
        ("agency_code", agency, None),
    }
    assert [e.text for e in events if e.action == "return_reason"] == ["Không thuộc thẩm quyền"]
    assert all(e.actor == liaison.user.username for e in returned)
