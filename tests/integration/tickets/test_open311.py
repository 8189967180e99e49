"""Open311 GeoReport v2: services are ticket categories, requests are public tickets.

A civic tool files a request with an api_key and follows it; reads show public tickets only and
never a name, phone number or e-mail address.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.utils.tickets import make_agency, make_ticket
from tests.utils.tickets_api import SignedIn, api_client, signed_in_user
from tickets.schemas import Actor
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration

BASE = "/open311/v2"
SETUP = Actor(username="setup", role=Role.ADMIN)
PHONE, EMAIL, NAME = "0900000777", "nguoi.thu@example.invalid", "Lê Văn Thử"


def file_request(client: TestClient, who: SignedIn, **form: str) -> dict[str, str]:
    data = {"api_key": who.token, "service_code": "incident", "description": "Đèn đường hỏng"}
    response = client.post(f"{BASE}/requests.json", data={**data, **form})
    assert response.status_code == 201, response.text
    [created] = response.json()
    return dict(created)


def test_services_are_kinds_crossed_with_fields(ticket_service: TicketService) -> None:
    make_ticket(ticket_service, SETUP, field="Giao thông vận tải", public=True)
    with api_client(ticket_service) as client:
        services = client.get(f"{BASE}/services.json").json()
        codes = [s["service_code"] for s in services]
        assert "incident" in codes and "incident.giao-thong-van-tai" in codes
        assert "question.giao-thong-van-tai" in codes
        assert not any(code.startswith("emergency") for code in codes)
        assert all(s["type"] == "batch" and s["metadata"] for s in services)

        definition = client.get(f"{BASE}/services/incident.giao-thong-van-tai.json").json()
        assert definition["attributes"][0]["code"] == "public"
        assert client.get(f"{BASE}/services/khong-co.json").status_code == 404


def test_file_and_follow_a_request(ticket_service: TicketService) -> None:
    agency = make_agency(ticket_service, code="TN-GT", name="Sở Giao thông Thử").code
    with api_client(ticket_service) as client:
        tool = signed_in_user(client, ticket_service, Role.OPERATOR, username="cong-cu-311")
        created = file_request(
            client,
            tool,
            **{"attribute[public]": "true"},
            first_name="Lê",
            last_name="Văn Thử",
            phone=PHONE,
            email=EMAIL,
            address_string="Ngõ 5 phố Thử Nghiệm",
            lat="21.0285",
            long="105.8542",
        )
        number = created["service_request_id"]
        assert number.startswith("1022-") and "ngày làm việc" in created["service_notice"]

        ticket = ticket_service.get_by_number(number)
        assert (ticket.channel.value, ticket.kind.value, ticket.public) == ("app", "incident", True)
        assert (ticket.contact_phone, ticket.contact_email, ticket.contact_name) == (
            PHONE,
            EMAIL,
            NAME,
        )
        assert "Ngõ 5 phố Thử Nghiệm" in ticket.content and "21.028500" in ticket.content

        [shown] = client.get(f"{BASE}/requests/{number}.json").json()
        assert shown["status"] == "open"
        assert shown["agency_responsible"] == "Tổng đài 1022"
        assert shown["expected_datetime"] is not None
        assert shown["description"].startswith("Đèn đường hỏng")

        ticket_service.classify(ticket.id, field="Giao thông", actor=SETUP)
        ticket_service.transfer(ticket.id, agency_code=agency, reason="Thẩm quyền", actor=SETUP)
        ticket_service.agency_accept(ticket.id, actor=SETUP)
        ticket_service.agency_answer(ticket.id, text="Đã thay bóng đèn.", actor=SETUP)
        [done] = client.get(f"{BASE}/requests/{number}.json").json()
        assert done["status"] == "closed" and done["status_notes"] == "Đã thay bóng đèn."
        assert done["agency_responsible"] == "Sở Giao thông Thử"
        assert done["service_code"] == "incident.giao-thong"
        due = ticket_service.get(ticket.id).due_at
        assert due is not None and done["expected_datetime"].startswith(due.date().isoformat())

        listing = client.get(f"{BASE}/requests.json").text
        for personal in (PHONE, EMAIL, NAME, "Lê", "cong-cu-311"):
            assert personal not in listing


def test_reads_show_public_tickets_only(ticket_service: TicketService) -> None:
    public = make_ticket(ticket_service, SETUP, public=True, kind="incident", field="Môi trường")
    private = make_ticket(ticket_service, SETUP, public=False)
    with api_client(ticket_service) as client:
        numbers = [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()]
        assert numbers == [public.number]
        assert client.get(f"{BASE}/requests/{private.number}.json").status_code == 404
        both = f"{public.number},{private.number}"
        by_id = client.get(f"{BASE}/requests.json", params={"service_request_id": both}).json()
        assert [r["service_request_id"] for r in by_id] == [public.number]

        def count(**params: str) -> int:
            response = client.get(f"{BASE}/requests.json", params=params)
            assert response.status_code == 200, response.text
            return len(response.json())

        assert count(status="open") == 1 and count(status="closed") == 0
        assert count(service_code="incident.moi-truong") == 1
        assert count(service_code="question") == 0
        later = (public.created_at + timedelta(days=1)).isoformat()
        assert count(start_date=later) == 0
        assert count(end_date=later) == 1


def test_filing_needs_a_valid_api_key_and_a_known_service(ticket_service: TicketService) -> None:
    agency = make_agency(ticket_service).code
    with api_client(ticket_service) as client:
        liaison = signed_in_user(client, ticket_service, Role.AGENCY_LIAISON, agency_code=agency)
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        form = {"service_code": "incident", "description": "Đèn hỏng"}
        cases = (
            ({**form}, 422),
            ({**form, "api_key": "htk_khong-hop-le"}, 401),
            ({**form, "api_key": liaison.token}, 403),
            ({**form, "api_key": operator.token, "service_code": "khong-co"}, 404),
            ({**form, "api_key": operator.token, "service_code": "emergency_forwarded"}, 404),
            ({**form, "api_key": operator.token, "lat": "200"}, 422),
            ({**form, "api_key": operator.token, "description": "x" * 4001}, 422),
            ({**form, "api_key": operator.token, "attribute[public]": "maybe"}, 422),
            ({**form, "api_key": operator.token, "unknown_field": "1"}, 422),
        )
        for data, status in cases:
            response = client.post(f"{BASE}/requests.json", data=data)
            assert response.status_code == status, (data, response.text)
        assert client.get("/v1/tickets", headers=operator.headers).json()["total"] == 0
        for params in ({"start_date": "hôm qua"}, {"status": "pending"}, {"page_size": "0"}):
            response = client.get(f"{BASE}/requests.json", params=params)
            assert response.status_code in (400, 422), (params, response.text)


def test_standard_fields_and_the_place_of_a_request(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        tool = signed_in_user(client, ticket_service, Role.OPERATOR)
        created = file_request(
            client,
            tool,
            jurisdiction_id="tongdai1022.example.invalid",
            **{"attribute[public]": "true", "attribute[muc-do]": "cao"},
            lat="21.0285",
            long="105.8542",
            address_string="Số 1 Phố Thử Nghiệm, Hà Nội",
            media_url="https://example.invalid/anh/den-duong.jpg",
        )
        number = created["service_request_id"]
        [read] = client.get(f"{BASE}/requests/{number}.json").json()
        assert (read["lat"], read["long"]) == (21.0285, 105.8542)
        assert read["address"] == "Số 1 Phố Thử Nghiệm, Hà Nội"
        assert read["media_url"] == "https://example.invalid/anh/den-duong.jpg"
        listed = client.get(f"{BASE}/requests.json").json()
        assert [r["address"] for r in listed] == ["Số 1 Phố Thử Nghiệm, Hà Nội"]
        staff = client.get("/v1/tickets", headers=tool.headers).json()["items"][0]
        assert staff["place"]["lat"] == 21.0285


def test_errors_come_in_the_georeport_shape(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        tool = signed_in_user(client, ticket_service, Role.OPERATOR)
        data = {"api_key": tool.token, "service_code": "incident", "description": "Hỏng"}
        cases = [
            (client.post(f"{BASE}/requests.json", data={**data, "tinh": "x"}), 422, "tinh"),
            (client.post(f"{BASE}/requests.json", data={**data, "lat": "91"}), 422, "lat"),
            (
                client.post(f"{BASE}/requests.json", data={**data, "api_key": "sai"}),
                401,
                "api_key",
            ),
            (client.get(f"{BASE}/requests/1022-2026-999999.json"), 404, "1022-2026-999999"),
            (client.get(f"{BASE}/requests.json", params={"start_date": "hôm qua"}), 422, "W3C"),
            (client.get(f"{BASE}/services/khong-co.json"), 404, "khong-co"),
        ]
        for response, status, mention in cases:
            assert response.status_code == status, response.text
            [error] = response.json()
            assert error["code"] == status and mention in error["description"], error
        assert client.get(f"{BASE}/requests.json").json() == []
