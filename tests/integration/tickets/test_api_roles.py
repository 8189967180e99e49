"""Who may do what: each role against each family of endpoints, agency scope, no token at all.

The matrix below is the access policy written out once; the test runs every call for every role
on fresh data and reports every cell that differs, so a changed rule shows as a named cell.
A liaison asking for a ticket of another agency gets 404, like a missing ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.utils.tickets import make_agency, make_ticket
from tests.utils.tickets_api import SignedIn, api_client, signed_in_user
from tickets.schemas import Actor
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration

OPERATOR, EDITOR, SUPERVISOR, LIAISON, ADMIN = (
    Role.OPERATOR,
    Role.EDITOR,
    Role.SUPERVISOR,
    Role.AGENCY_LIAISON,
    Role.ADMIN,
)
EVERYONE = frozenset({OPERATOR, EDITOR, SUPERVISOR, LIAISON, ADMIN})
STAFF = EVERYONE - {LIAISON}
DESK = frozenset({OPERATOR, SUPERVISOR, ADMIN})


@dataclass
class World:
    """The data every call of the matrix works on."""

    client: TestClient
    service: TicketService
    admin: SignedIn
    agency: str
    new_ticket: int
    transferred_ticket: int
    answered_ticket: int
    proposal: int

    def version(self, ticket_id: int) -> int:
        return self.service.get(ticket_id).version


@dataclass(frozen=True)
class Call:
    """One endpoint call, the roles allowed to make it and the status they get."""

    name: str
    method: str
    path: Callable[[World], str]
    allowed: frozenset[Role]
    ok: int = 200
    body: Callable[[World], Any] | None = None
    out_of_scope: bool = False  # a ticket not transferred to the liaison's agency: 404 for them


def _classify(world: World) -> dict[str, Any]:
    return {"to": "classified", "version": world.version(world.new_ticket), "field": "Tư pháp"}


def _accept(world: World) -> dict[str, Any]:
    return {"to": "agency_processing", "version": world.version(world.transferred_ticket)}


CALLS = (
    Call("me", "GET", lambda w: "/v1/me", EVERYONE),
    Call("users.list", "GET", lambda w: "/v1/users", frozenset({ADMIN})),
    Call(
        "users.create",
        "POST",
        lambda w: "/v1/users",
        frozenset({ADMIN}),
        201,
        lambda w: {"username": "nguoi-moi", "role": "editor", "password": "mat-khau-rat-dai-1"},
    ),
    Call("agencies.list", "GET", lambda w: "/v1/agencies", EVERYONE),
    Call(
        "agencies.create",
        "POST",
        lambda w: "/v1/agencies",
        frozenset({ADMIN}),
        201,
        lambda w: {"code": "TN-MOI", "name": "Cơ quan mới thử nghiệm"},
    ),
    Call(
        "tickets.create",
        "POST",
        lambda w: "/v1/tickets",
        DESK,
        201,
        lambda w: {"channel": "web_chat", "content": "Hỏi thủ tục đăng ký kết hôn"},
    ),
    Call("tickets.list", "GET", lambda w: "/v1/tickets", EVERYONE),
    Call("tickets.get", "GET", lambda w: f"/v1/tickets/{w.transferred_ticket}", EVERYONE),
    Call(
        "tickets.patch",
        "PATCH",
        lambda w: f"/v1/tickets/{w.new_ticket}",
        DESK,
        200,
        lambda w: {"urgency": "high", "version": w.version(w.new_ticket)},
    ),
    Call(
        "tickets.classify",
        "POST",
        lambda w: f"/v1/tickets/{w.new_ticket}/transitions",
        DESK,
        200,
        _classify,
        out_of_scope=True,
    ),
    Call(
        "tickets.agency_accept",
        "POST",
        lambda w: f"/v1/tickets/{w.transferred_ticket}/transitions",
        frozenset({LIAISON, SUPERVISOR, ADMIN}),
        200,
        _accept,
    ),
    Call(
        "tickets.entries",
        "POST",
        lambda w: f"/v1/tickets/{w.transferred_ticket}/entries",
        EVERYONE - {EDITOR},
        201,
        lambda w: {"kind": "note", "text": "Ghi chú thử"},
    ),
    Call("tickets.events", "GET", lambda w: f"/v1/tickets/{w.transferred_ticket}/events", EVERYONE),
    Call(
        "tickets.export_one",
        "GET",
        lambda w: f"/v1/tickets/{w.transferred_ticket}/export?format=csv",
        EVERYONE,
    ),
    Call("tickets.export_set", "GET", lambda w: "/v1/tickets/export?format=json", EVERYONE),
    Call(
        "tickets.suggestions",
        "POST",
        lambda w: "/v1/tickets/suggestions",
        DESK,
        200,
        lambda w: {"content": "Hỏi thủ tục đăng ký kết hôn"},
    ),
    Call("stats.tickets", "GET", lambda w: "/v1/stats/tickets", frozenset({SUPERVISOR, ADMIN})),
    Call("stats.overdue", "GET", lambda w: "/v1/stats/overdue", frozenset({SUPERVISOR, ADMIN})),
    Call(
        "knowledge.propose",
        "POST",
        lambda w: f"/v1/tickets/{w.answered_ticket}/proposals",
        STAFF,
        201,
        lambda w: {},
    ),
    Call("knowledge.list", "GET", lambda w: "/v1/knowledge/proposals", STAFF),
    Call(
        "knowledge.review",
        "POST",
        lambda w: f"/v1/knowledge/proposals/{w.proposal}/review",
        frozenset({EDITOR, ADMIN}),
        200,
        lambda w: {"decision": "approve", "version": 1},
    ),
    Call("holidays.get", "GET", lambda w: "/v1/holidays/2026", EVERYONE),
    Call(
        "holidays.set",
        "PUT",
        lambda w: "/v1/holidays/2027",
        frozenset({ADMIN}),
        200,
        lambda w: [{"day": "2027-01-01", "name": "Tết Dương lịch"}],
    ),
    Call("open311.services", "GET", lambda w: "/open311/v2/services.json", EVERYONE),
)


def build_world(client: TestClient, service: TicketService) -> World:
    admin = signed_in_user(client, service, ADMIN)
    setup = Actor(username="setup", role=Role.ADMIN)
    agency = make_agency(service, code="TN-A").code
    new_ticket = make_ticket(service, setup).id
    transferred = make_ticket(service, setup, content="Đèn đường hỏng ở ngõ 7").id
    service.transfer(transferred, agency_code=agency, reason="Thẩm quyền cơ quan", actor=setup)
    answered = make_ticket(service, setup, content="Hỏi thủ tục cấp hộ chiếu").id
    service.classify(answered, field="Xuất nhập cảnh", actor=setup)
    service.answer(answered, text="Nộp hồ sơ tại phòng xuất nhập cảnh.", actor=setup)
    # A second answered ticket carries the proposal under review (a ticket has one live one).
    reviewed = make_ticket(service, setup, content="Hỏi thủ tục đổi bằng lái").id
    service.classify(reviewed, field="Giao thông", actor=setup)
    service.answer(reviewed, text="Làm tại Sở Giao thông vận tải.", actor=setup)
    proposal = service.propose_answer(reviewed, actor=setup).id
    return World(client, service, admin, agency, new_ticket, transferred, answered, proposal)


@pytest.mark.parametrize("role", sorted(EVERYONE, key=lambda r: r.value), ids=lambda r: r.value)
def test_role_matrix(ticket_service: TicketService, role: Role) -> None:
    with api_client(ticket_service) as client:
        world = build_world(client, ticket_service)
        agency = world.agency if role is LIAISON else None
        user = signed_in_user(client, ticket_service, role, agency_code=agency)
        wrong: list[str] = []
        for call in CALLS:
            body = call.body(world) if call.body else None
            response = client.request(
                call.method, call.path(world), headers=user.headers, json=body
            )
            expected = call.ok if role in call.allowed else 403
            if role is LIAISON and call.out_of_scope:
                expected = 404
            if response.status_code != expected:
                wrong.append(f"{call.name}: {response.status_code} (expected {expected})")
        assert not wrong, f"role {role.value}: " + "; ".join(wrong)


def test_liaison_sees_only_its_agency(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        world = build_world(client, ticket_service)
        other = make_agency(ticket_service, code="TN-B").code
        stranger = signed_in_user(client, ticket_service, LIAISON, agency_code=other)
        ticket = world.transferred_ticket
        version = world.version(ticket)
        for method, path, body in (
            ("GET", f"/v1/tickets/{ticket}", None),
            ("GET", f"/v1/tickets/{ticket}/events", None),
            ("GET", f"/v1/tickets/{ticket}/export?format=json", None),
            ("GET", f"/v1/tickets/{ticket}/transitions", None),
            ("POST", f"/v1/tickets/{ticket}/entries", {"text": "thử"}),
            (
                "POST",
                f"/v1/tickets/{ticket}/transitions",
                {"to": "agency_processing", "version": version},
            ),
            ("GET", f"/v1/tickets/export?format=json&ids={ticket}", None),
        ):
            response = client.request(method, path, headers=stranger.headers, json=body)
            assert response.status_code == 404, (method, path, response.text)
        assert client.get("/v1/tickets", headers=stranger.headers).json()["total"] == 0
        exported = client.get("/v1/tickets/export?format=json", headers=stranger.headers)
        assert exported.json()["tickets"] == []
        # Nothing changed on the ticket.
        assert ticket_service.get(ticket).version == version
        assert ticket_service.get(ticket).status == "transferred"

        own = signed_in_user(client, ticket_service, LIAISON, agency_code=world.agency)
        page = client.get("/v1/tickets", headers=own.headers).json()
        assert [t["id"] for t in page["items"]] == [ticket]


def test_every_route_needs_a_token(ticket_service: TicketService) -> None:
    public = {("POST", "/v1/auth/token")}
    with api_client(ticket_service) as client:
        checked = 0
        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
        for path, operations in paths.items():
            if not path.startswith("/v1/"):
                continue
            for method in (m.upper() for m in operations):
                if (method, path) in public:
                    continue
                url = path.replace("{ticket_id}", "1").replace("{user_id}", "1")
                url = url.replace("{proposal_id}", "1").replace("{code}", "TN-A")
                for headers in ({}, {"Authorization": "Bearer htk_not-a-real-token"}):
                    response = client.request(method, url, headers=headers, json={})
                    assert response.status_code == 401, (method, url, response.text)
                    assert response.headers["WWW-Authenticate"] == "Bearer"
                    assert response.json()["error_code"] == "unauthorized"
                checked += 1
        assert checked >= 25
