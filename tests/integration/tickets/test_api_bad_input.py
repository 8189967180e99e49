"""Concurrency and bad input over HTTP: stale versions, invalid steps, malformed payloads.

Two operators saving the same ticket never lose an update (the second gets 409 and the current
version); a step the flow does not allow answers 409 naming the current status and the allowed
ones; malformed, unknown or oversized input answers 4xx and leaves the ticket and its log as they
were.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.utils.tickets_api import SignedIn, api_client, signed_in_user
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration


def new_ticket(client: TestClient, who: SignedIn, **extra: Any) -> dict[str, Any]:
    body = {"channel": "phone", "content": "Hỏi thủ tục cấp giấy khai sinh", **extra}
    response = client.post("/v1/tickets", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def log_length(client: TestClient, who: SignedIn, ticket_id: int) -> int:
    return len(client.get(f"/v1/tickets/{ticket_id}/events", headers=who.headers).json())


def test_two_operators_saving_the_same_ticket(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        first = signed_in_user(client, ticket_service, Role.OPERATOR)
        second = signed_in_user(client, ticket_service, Role.OPERATOR)
        ticket = new_ticket(client, first)
        path = f"/v1/tickets/{ticket['id']}"

        # Both read version 1; the first save wins, the second is refused with the news.
        saved = client.patch(path, headers=first.headers, json={"field": "Hộ tịch", "version": 1})
        assert saved.status_code == 200 and saved.json()["version"] == 2
        assert saved.headers["ETag"] == '"2"'
        stale = client.patch(path, headers=second.headers, json={"urgency": "high", "version": 1})
        assert stale.status_code == 409
        assert stale.json()["error_code"] == "conflict"
        assert "current version is 2" in stale.json()["detail"]

        # After reloading, the second operator's change goes through; nothing was lost.
        again = client.patch(
            path, headers={**second.headers, "If-Match": '"2"'}, json={"urgency": "high"}
        )
        assert again.status_code == 200, again.text
        current = client.get(path, headers=first.headers).json()
        assert (current["field"], current["urgency"], current["version"]) == ("Hộ tịch", "high", 3)


def test_edits_must_name_a_version(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        ticket = new_ticket(client, operator)
        path = f"/v1/tickets/{ticket['id']}"
        missing = client.patch(path, headers=operator.headers, json={"field": "Hộ tịch"})
        assert missing.status_code == 400 and "version" in missing.json()["detail"]
        for if_match in ("abc", '"0"', "-1", '"99999999999"'):
            bad = client.patch(
                path, headers={**operator.headers, "If-Match": if_match}, json={"field": "X"}
            )
            assert bad.status_code == 400, (if_match, bad.text)
        disagree = client.patch(
            path, headers={**operator.headers, "If-Match": '"2"'}, json={"version": 1}
        )
        assert disagree.status_code == 400
        assert client.get(path, headers=operator.headers).json()["version"] == 1


def test_invalid_transition_answers_409_with_the_reason(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        ticket = new_ticket(client, operator)
        before = log_length(client, operator, ticket["id"])
        response = client.post(
            f"/v1/tickets/{ticket['id']}/transitions",
            headers=operator.headers,
            json={"to": "closed", "version": 1},
        )
        assert response.status_code == 409
        detail = response.json()["detail"]
        assert "'new'" in detail and "'closed'" in detail and "classified" in detail
        allowed = client.get(f"/v1/tickets/{ticket['id']}/transitions", headers=operator.headers)
        assert allowed.json() == {
            "status": "new",
            "version": 1,
            # Closing from "new" is only by merging (POST …/merge), so it is not listed here.
            "allowed": ["classified", "transferred"],
        }
        # An answer without text, a transfer without agency: 422, nothing moved.
        for body in ({"to": "transferred"}, {"to": "transferred", "agency_code": "KHONG-CO"}):
            bad = client.post(
                f"/v1/tickets/{ticket['id']}/transitions",
                headers=operator.headers,
                json={**body, "version": 1},
            )
            assert bad.status_code == 422, bad.text
        assert log_length(client, operator, ticket["id"]) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"channel": "fax", "content": "x"}, 422),
        ({"channel": "phone", "content": ""}, 422),
        ({"channel": "phone", "content": "   "}, 422),
        ({"channel": "phone", "content": "x", "status": "closed"}, 422),
        ({"channel": "phone", "content": "x", "kind": "question", "extra": 1}, 422),
        ({"channel": "phone", "content": "x" * 20_001}, 422),
        ({"channel": "phone", "content": "x", "contact": {"phone": "0" * 65}}, 422),
        ({"channel": "phone", "content": "x", "procedure_codes": ["a"] * 51}, 422),
        ({"channel": "phone", "content": "x", "operator_id": 987654}, 422),
        ({"channel": "phone", "content": "x" * 70_000}, 413),
        ([1, 2, 3], 422),
    ],
)
def test_malformed_ticket_payloads(ticket_service: TicketService, body: Any, status: int) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        response = client.post("/v1/tickets", headers=operator.headers, json=body)
        assert response.status_code == status, response.text
        assert "error_code" in response.json()
        assert client.get("/v1/tickets", headers=operator.headers).json()["total"] == 0


def test_not_json_and_bad_parameters(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        headers = {**operator.headers, "Content-Type": "application/json"}
        assert client.post("/v1/tickets", headers=headers, content=b"{not json").status_code == 422
        for url in (
            "/v1/tickets?limit=0",
            "/v1/tickets?limit=501",
            "/v1/tickets?status=lost",
            "/v1/tickets?created_from=yesterday",
            "/v1/tickets/0",
            "/v1/tickets/abc",
            "/v1/tickets/99999999999",
            "/v1/tickets/export?format=pdf",
            "/v1/tickets/export?ids=0",
        ):
            response = client.get(url, headers=operator.headers)
            assert response.status_code == 422, (url, response.text)
        assert client.get("/v1/tickets/123", headers=operator.headers).status_code == 404


def test_control_characters_survive_every_export_format(ticket_service: TicketService) -> None:
    # Found by schemathesis: a citizen's text with control characters broke the XLSX export.
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        ticket = new_ticket(client, operator, content="Hỏi\x01 thủ tục\x0b khai\x1f sinh")
        for fmt in ("json", "csv", "xlsx"):
            one = client.get(
                f"/v1/tickets/{ticket['id']}/export?format={fmt}", headers=operator.headers
            )
            assert one.status_code == 200, (fmt, one.text)
            many = client.get(f"/v1/tickets/export?format={fmt}", headers=operator.headers)
            assert many.status_code == 200, (fmt, many.text)


def test_nul_characters_are_refused_on_both_backends(ticket_service: TicketService) -> None:
    # PostgreSQL cannot store U+0000 in text; both backends refuse it the same way.
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        body = {"channel": "phone", "content": "Hỏi\u0000 thủ tục"}
        assert client.post("/v1/tickets", headers=operator.headers, json=body).status_code == 422
        assert client.get("/v1/tickets?text=a%00b", headers=operator.headers).status_code == 422
        form = {"api_key": operator.token, "service_code": "incident", "description": "a\u0000"}
        assert client.post("/open311/v2/requests.json", data=form).status_code == 422
        assert client.get("/v1/tickets", headers=operator.headers).json()["total"] == 0


def test_a_thread_with_an_open_ticket_answers_409(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        first = new_ticket(client, operator, channel="zalo", thread_key="zalo-nguoi-thu-1")
        again = client.post(
            "/v1/tickets",
            headers=operator.headers,
            json={"channel": "zalo", "content": "Nhắn thêm", "thread_key": "zalo-nguoi-thu-1"},
        )
        assert again.status_code == 409, again.text
        detail = again.json()["detail"]
        assert first["number"] in detail and f"/v1/tickets/{first['id']}/entries" in detail
        # The same key on another channel is another conversation.
        new_ticket(client, operator, channel="sms", thread_key="zalo-nguoi-thu-1")

        # Once the ticket is closed, the thread may start a new one.
        path = f"/v1/tickets/{first['id']}/transitions"
        version = first["version"]
        for step in (
            {"to": "classified"},
            {"to": "answered", "text": "Đã trả lời"},
            {"to": "closed"},
        ):
            moved = client.post(path, headers=operator.headers, json={**step, "version": version})
            assert moved.status_code == 200, moved.text
            version = moved.json()["version"]
        new_ticket(client, operator, channel="zalo", thread_key="zalo-nguoi-thu-1")
        listed = client.get("/v1/tickets", headers=operator.headers).json()
        assert listed["total"] == 3
