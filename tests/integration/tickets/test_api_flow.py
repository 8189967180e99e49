"""End to end through HTTP: a contact from creation to the agency's answer and closed.

An admin sets up the agency and the people; an operator records a phone contact, asks for
suggestions, classifies it and transfers it; the agency's liaison sees it, accepts and answers it;
the answer is back with the operator, who closes it. Every step is checked in ``/events`` and in
the JSON, CSV and XLSX exports, and ``/v1/stats`` is checked against the tickets themselves. The
same test runs on SQLite and on PostgreSQL (the ``ticket_db_url`` fixture).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.utils.tickets_api import SignedIn, api_client, bootstrap_user, sign_in
from tickets.schemas import UserOut
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration

CONTENT = "Cống thoát nước ở ngõ 99 phố Thử Nghiệm bị tắc, nước tràn lên đường."
ANSWER = "Đội thoát nước đã khơi thông cống ngõ 99 trong ngày."


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def setup_people(client: TestClient, service: TicketService) -> dict[str, SignedIn]:
    """The first admin (as the CLI makes it), then everyone else through the API."""
    admin_user = bootstrap_user(service, Role.ADMIN, username="admin-e2e")
    admin = SignedIn(admin_user, sign_in(client, admin_user.username))
    ok(
        client.post(
            "/v1/agencies",
            headers=admin.headers,
            json={"code": "TN-XD", "name": "Sở Xây dựng Thử Nghiệm", "phone": "0900000301"},
        ),
        201,
    )
    people = {"admin": admin}
    for key, role, agency in (
        ("operator", "operator", None),
        ("liaison", "agency_liaison", "TN-XD"),
        ("supervisor", "supervisor", None),
    ):
        body = {"username": f"{key}-e2e", "role": role, "password": "mat-khau-thu-nghiem-1"}
        if agency:
            body["agency_code"] = agency
        user = ok(client.post("/v1/users", headers=admin.headers, json=body), 201)
        people[key] = SignedIn(UserOut.model_validate(user), sign_in(client, f"{key}-e2e"))
    return people


def move(client: TestClient, who: SignedIn, ticket: dict[str, Any], **body: Any) -> dict[str, Any]:
    return ok(
        client.post(
            f"/v1/tickets/{ticket['id']}/transitions",
            headers=who.headers,
            json={"version": ticket["version"], **body},
        )
    )


def test_contact_from_creation_to_agency_answer_and_closed(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        people = setup_people(client, ticket_service)
        operator, liaison = people["operator"], people["liaison"]

        created = ok(
            client.post(
                "/v1/tickets",
                headers=operator.headers,
                json={
                    "channel": "phone",
                    "content": CONTENT,
                    "kind": "incident",
                    "urgency": "high",
                    "public": True,
                    "contact": {"name": "Trần Thị Thử", "phone": "0900000302"},
                },
            ),
            201,
        )
        assert created["status"] == "new" and created["version"] == 1
        assert created["number"].startswith("1022-")
        assert created["due_at"] is not None

        suggestions = ok(
            client.post(
                "/v1/tickets/suggestions", headers=operator.headers, json={"content": CONTENT}
            )
        )
        assert set(suggestions) == {"field", "procedures", "similar_open", "past_answered"}
        assert [m["id"] for m in suggestions["similar_open"]] == [created["id"]]

        # The liaison sees nothing before the transfer.
        assert ok(client.get("/v1/tickets", headers=liaison.headers))["total"] == 0
        assert (
            client.get(f"/v1/tickets/{created['id']}", headers=liaison.headers).status_code == 404
        )

        classified = move(client, operator, created, to="classified", field="Xây dựng")
        assert (classified["status"], classified["field"]) == ("classified", "Xây dựng")
        transferred = move(
            client,
            operator,
            classified,
            to="transferred",
            agency_code="TN-XD",
            reason="Thuộc thẩm quyền Sở Xây dựng",
        )
        assert (transferred["status"], transferred["agency_code"]) == ("transferred", "TN-XD")

        page = ok(client.get("/v1/tickets", headers=liaison.headers))
        assert [t["id"] for t in page["items"]] == [created["id"]]
        seen = ok(client.get(f"/v1/tickets/{created['id']}", headers=liaison.headers))
        accepted = move(client, liaison, seen, to="agency_processing")
        answered = move(client, liaison, accepted, to="answered", text=ANSWER)
        assert answered["status"] == "answered" and answered["answer"] == ANSWER

        # The answer is back with the operator, who closes the ticket.
        back = ok(client.get(f"/v1/tickets/{created['id']}", headers=operator.headers))
        assert back["answer"] == ANSWER and back["answered_at"] is not None
        closed = move(client, operator, back, to="closed", text="Đã báo lại cho người dân")
        assert closed["status"] == "closed" and closed["closed_at"] is not None

        events = ok(client.get(f"/v1/tickets/{created['id']}/events", headers=operator.headers))
        check_log(events, people)
        check_exports(client, operator, created["id"], events)
        check_stats(client, people)


def status_path(events: list[dict[str, Any]]) -> list[str]:
    return [e["new_value"] for e in events if e["field"] == "status"]


def check_log(events: list[dict[str, Any]], people: dict[str, SignedIn]) -> None:
    assert status_path(events) == [
        "new",
        "classified",
        "transferred",
        "agency_processing",
        "answered",
        "closed",
    ]
    by_field = {(e["action"], e["field"]): e for e in events}
    operator, liaison = people["operator"].user.username, people["liaison"].user.username
    # Classifying logs the status step and each field it sets.
    assert by_field[("update", "field")]["new_value"] == "Xây dựng"
    assert by_field[("update", "field")]["actor"] == operator
    assert by_field[("classify", "status")]["actor"] == operator
    transfer = by_field[("transfer", "agency_code")]
    assert (transfer["old_value"], transfer["new_value"], transfer["actor"]) == (
        None,
        "TN-XD",
        operator,
    )
    assert any(e["text"] == "Thuộc thẩm quyền Sở Xây dựng" for e in events)
    answer = by_field[("agency_answer", "answer")]
    assert (answer["new_value"], answer["actor"]) == (ANSWER, liaison)
    assert by_field[("agency_accept", "status")]["old_value"] == "transferred"
    assert by_field[("close", "status")]["actor"] == operator
    # Personal data never reaches the log in clear.
    assert not any("0900000302" in json.dumps(e) for e in events)


def check_exports(
    client: TestClient, who: SignedIn, ticket_id: int, events: list[dict[str, Any]]
) -> None:
    expected = [(e["action"], e["field"], e["new_value"]) for e in events]

    body = client.get(f"/v1/tickets/{ticket_id}/export?format=json", headers=who.headers)
    assert body.status_code == 200 and body.headers["content-type"].startswith("application/json")
    exported = body.json()["tickets"]
    assert len(exported) == 1 and exported[0]["status"] == "closed"
    assert [(e["action"], e["field"], e["new_value"]) for e in exported[0]["events"]] == expected

    body = client.get(f"/v1/tickets/{ticket_id}/export?format=csv", headers=who.headers)
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.content.decode("utf-8-sig"))))
    found = [
        (r["event_action"], r["event_field"] or None, r["event_new_value"] or None) for r in rows
    ]
    assert found == expected
    assert {r["status"] for r in rows} == {"closed"}

    body = client.get(f"/v1/tickets/{ticket_id}/export?format=xlsx", headers=who.headers)
    assert body.status_code == 200
    workbook = load_workbook(io.BytesIO(body.content), read_only=True)
    log = list(workbook["Log"].iter_rows(values_only=True))
    header = list(log[0])
    at = {name: header.index(name) for name in ("action", "field", "new_value")}
    found = [(r[at["action"]], r[at["field"]] or None, r[at["new_value"]] or None) for r in log[1:]]
    assert found == expected

    # The same ticket as part of a filtered set.
    body = client.get("/v1/tickets/export?format=json&status=closed", headers=who.headers)
    assert [t["id"] for t in body.json()["tickets"]] == [ticket_id]


def check_stats(client: TestClient, people: dict[str, SignedIn]) -> None:
    """Add tickets in other states, then compare the report with the ticket list."""
    operator = people["operator"]
    for channel, content in (
        ("zalo", "Hỏi thủ tục cấp đổi giấy phép lái xe"),
        ("email", "Hỏi về hộ tịch"),
    ):
        created = ok(
            client.post(
                "/v1/tickets",
                headers=operator.headers,
                json={"channel": channel, "content": content, "kind": "question"},
            ),
            201,
        )
        if channel == "zalo":
            done = move(client, operator, created, to="classified", field="Giao thông")
            move(client, operator, done, to="answered", text="Làm tại Sở Giao thông vận tải.")

    supervisor = people["supervisor"]
    report = ok(client.get("/v1/stats/tickets", headers=supervisor.headers))
    tickets = ok(client.get("/v1/tickets?limit=500", headers=supervisor.headers))["items"]
    assert report["overall"]["total"] == len(tickets) == 3

    def counts(key: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for ticket in tickets:
            value = "" if ticket[key] is None else str(ticket[key])
            found[value] = found.get(value, 0) + 1
        return found

    def reported(group: str) -> dict[str, int]:
        return {g["key"] or "": g["total"] for g in report[group] if g["total"]}

    assert reported("by_status") == counts("status")
    assert reported("by_channel") == counts("channel")
    assert report["overall"]["answered"] == sum(
        t["status"] in ("answered", "closed") for t in tickets
    )
    agency_groups = {g["key"]: g["total"] for g in report["by_agency"]}
    assert agency_groups.get("TN-XD") == 1
    workload = {o["username"]: o for o in report["operators"]}
    assert operator.user.username in workload

    # Operators do not see statistics.
    assert client.get("/v1/stats/tickets", headers=operator.headers).status_code == 403
