"""Input at the edges of what the ticket system accepts: times, text forms, flags, names.

Each case once answered a 500 or was stored as sent; now it answers a clear 422 (or is
normalized) on both database backends, and nothing is written.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.utils.tickets import make_ticket
from tests.utils.tickets_api import SignedIn, api_client, signed_in_user
from tickets.errors import TicketError
from tickets.intake import Channel, ContactRequest
from tickets.schemas import Actor
from tickets.service import TicketService
from tickets.sla import VIETNAM_TIME
from tickets.workflow import Role

pytestmark = pytest.mark.integration

SETUP = Actor(username="setup", role=Role.ADMIN)
FAR_PAST = "0001-01-01T00:00:00+07:00"
FAR_FUTURE = "9999-12-31T23:59:59-05:00"


def _assert_422(response: object, name: str) -> None:
    status, body = response.status_code, response.json()  # type: ignore[attr-defined]
    assert status == 422, (name, status, body)
    text = str(body)
    assert "out of range" in text and "1900-01-01" in text, text


def _ticket_count(client: TestClient, who: SignedIn) -> int:
    return int(client.get("/v1/tickets", headers=who.headers).json()["total"])


def test_out_of_range_times_answer_422(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        boss = signed_in_user(client, ticket_service, Role.SUPERVISOR)
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        reads = [
            ("/open311/v2/requests.json", {"start_date": FAR_PAST}, {}),
            ("/open311/v2/requests.json", {"end_date": FAR_FUTURE}, {}),
            ("/v1/tickets", {"created_from": "0001-01-01T00:00:00"}, boss.headers),
            ("/v1/tickets", {"created_to": FAR_FUTURE}, boss.headers),
            ("/v1/tickets/export", {"created_from": "0001-01-01T00:00:00"}, boss.headers),
            ("/v1/stats/tickets", {"created_from": "0001-01-01T00:00:00"}, boss.headers),
            ("/v1/stats/tickets", {"created_to": FAR_FUTURE}, boss.headers),
        ]
        for path, params, headers in reads:
            _assert_422(client.get(path, params=params, headers=headers), f"{path} {params}")
        for received in (FAR_PAST, "9999-12-31T23:00:00-05:00"):
            body = {"channel": "phone", "content": "Hỏi về hộ tịch", "received_at": received}
            _assert_422(client.post("/v1/tickets", headers=operator.headers, json=body), received)
        assert _ticket_count(client, boss) == 0


def test_received_at_must_be_near_now(ticket_service: TicketService) -> None:
    now = ticket_service.now()
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        refused = {
            "2099-01-01T00:00:00+07:00": "in the future",
            (now + timedelta(minutes=6)).isoformat(): "in the future",
            "1970-01-01T00:00:00+00:00": "days ago",
            (now - timedelta(days=400)).isoformat(): "days ago",
        }
        for received, reason in refused.items():
            body = {"channel": "phone", "content": "Hỏi về hộ tịch", "received_at": received}
            response = client.post("/v1/tickets", headers=operator.headers, json=body)
            assert response.status_code == 422, (received, response.text)
            assert reason in response.json()["detail"], response.text
        # Milliseconds since 1970 that land in year 5138 are out of range altogether.
        body = {"channel": "phone", "content": "Hỏi", "received_at": 99999999999999}
        response = client.post("/v1/tickets", headers=operator.headers, json=body)
        assert response.status_code == 422, response.text
        assert _ticket_count(client, operator) == 0

        # A small clock skew and a late entry of last month's call are fine.
        for received in (now + timedelta(minutes=4), now - timedelta(days=30)):
            body = {"channel": "phone", "content": "Hỏi", "received_at": received.isoformat()}
            response = client.post("/v1/tickets", headers=operator.headers, json=body)
            assert response.status_code == 201, response.text
            assert response.json()["number"].startswith(f"1022-{received.year}-")


def test_channels_cannot_date_contacts_far_away(ticket_service: TicketService) -> None:
    ahead = datetime(2099, 1, 1, tzinfo=VIETNAM_TIME)
    request = ContactRequest(
        channel=Channel.ZALO, thread_key="zalo-thu-1", content="Xin chào", received_at=ahead
    )
    with pytest.raises(TicketError, match="in the future"):
        ticket_service.open_or_append(request)
    ticket = make_ticket(ticket_service, SETUP, channel=Channel.ZALO, thread_key="zalo-thu-2")
    request = ContactRequest(
        channel=Channel.ZALO, thread_key="zalo-thu-2", content="Nhắn thêm", received_at=ahead
    )
    with pytest.raises(TicketError, match="in the future"):
        ticket_service.open_or_append(request)
    assert len(ticket_service.events(ticket.id)) == 1


NFD_FIELD = unicodedata.normalize("NFD", "Hộ tịch")


def test_decomposed_vietnamese_is_stored_composed(ticket_service: TicketService) -> None:
    assert NFD_FIELD != "Hộ tịch"
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        boss = signed_in_user(client, ticket_service, Role.SUPERVISOR)
        for field in (NFD_FIELD, " Hộ tịch "):
            body = {
                "channel": "web_chat",
                "content": "Hỏi khai sinh",
                "field": field,
                "public": True,
            }
            created = client.post("/v1/tickets", headers=operator.headers, json=body)
            assert created.status_code == 201, created.text
            assert created.json()["field"] == "Hộ tịch"
        stats = client.get("/v1/stats/tickets", headers=boss.headers).json()
        assert [(g["key"], g["total"]) for g in stats["by_field"]] == [("Hộ tịch", 2)]
        codes = [s["service_code"] for s in client.get("/open311/v2/services.json").json()]
        assert codes.count("question.ho-tich") == 1
        listed = client.get(
            "/v1/tickets", headers=operator.headers, params={"field": NFD_FIELD}
        ).json()
        assert listed["total"] == 2


def test_control_characters(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        body = {"channel": "web_chat", "content": "Hỏi", "field": "\u001b[31mred\u0007"}
        refused = client.post("/v1/tickets", headers=operator.headers, json=body)
        assert refused.status_code == 422 and "U+001B" in refused.text, refused.text

        body = {
            "channel": "web_chat",
            "content": "Dòng 1\u001b[31m\r\nDòng\t2\u0007",
            "field": "Đất đai",
        }
        created = client.post("/v1/tickets", headers=operator.headers, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["content"] == "Dòng 1[31m\nDòng\t2"
        # A private ticket's field stays off the public service list.
        codes = [s["service_code"] for s in client.get("/open311/v2/services.json").json()]
        assert not any("dat-dai" in code for code in codes)
        assert not any("red" in code for code in codes)


def test_small_validation(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        admin = signed_in_user(client, ticket_service, Role.ADMIN)
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        blank_holiday = [{"day": "2026-03-03", "name": "   "}]
        response = client.put("/v1/holidays/2026", headers=admin.headers, json=blank_holiday)
        assert response.status_code == 422, response.text

        for body in (
            {"channel": "sms", "content": "Hỏi", "public": "yes"},
            {"channel": "sms", "content": "\u200b\u200b \u200b"},
        ):
            response = client.post("/v1/tickets", headers=operator.headers, json=body)
            assert response.status_code == 422, (body, response.text)
        assert _ticket_count(client, operator) == 0

        body = {
            "username": "Thu.Nghiem",
            "full_name": unicodedata.normalize("NFD", " Người Thử "),
            "role": "operator",
            "password": "mat-khau-thu-nghiem-1",
        }
        created = client.post("/v1/users", headers=admin.headers, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["username"] == "thu.nghiem"
        assert created.json()["full_name"] == "Người Thử"
        twin = client.post(
            "/v1/users", headers=admin.headers, json={**body, "username": "THU.nghiem"}
        )
        assert twin.status_code == 409, twin.text
        token = client.post(
            "/v1/auth/token", json={"username": "THU.NGHIEM", "password": body["password"]}
        )
        assert token.status_code == 200, token.text


def test_channel_messages_are_cleaned_like_typed_input(ticket_service: TicketService) -> None:
    decomposed = unicodedata.normalize("NFD", "Hộ tịch")
    first = ticket_service.open_or_append(
        ContactRequest(channel=Channel.SMS, thread_key="0900000321", content=f"{decomposed}\x07")
    )
    ticket_service.open_or_append(
        ContactRequest(channel=Channel.SMS, thread_key="0900000321", content="Thêm\x1b[0m ý")
    )
    assert ticket_service.get(first.id).content == "Hộ tịch"
    appended = [e.text for e in ticket_service.events(first.id) if e.action == "message_in"]
    assert appended == ["Thêm[0m ý"]
    with pytest.raises(TicketError, match="blank"):
        ticket_service.open_or_append(
            ContactRequest(channel=Channel.SMS, thread_key="0900000321", content="\u200b\x07")
        )
