"""Holidays per year over HTTP: the bundled calendar, an admin's override, and the deadlines."""

from __future__ import annotations

import pytest

from tests.utils.tickets_api import api_client, signed_in_user
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration


def test_admin_overrides_a_year_and_new_deadlines_follow(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        admin = signed_in_user(client, ticket_service, Role.ADMIN)
        operator = signed_in_user(client, ticket_service, Role.OPERATOR)
        bundled = client.get("/v1/holidays/2026", headers=operator.headers)
        assert bundled.status_code == 200
        days = {h["day"] for h in bundled.json()}
        assert {"2026-04-30", "2026-05-01", "2026-09-02"} <= days
        assert {h["source"] for h in bundled.json()} == {"bundled"}

        # The tests' clock stands on Monday 2 March 2026; a question is due in 2 working days.
        before = client.post(
            "/v1/tickets", headers=operator.headers, json={"channel": "sms", "content": "Hỏi"}
        ).json()["due_at"]
        override = [{"day": "2026-03-03", "name": "Ngày nghỉ thử nghiệm"}]
        refused = client.put("/v1/holidays/2026", headers=operator.headers, json=override)
        assert refused.status_code == 403
        saved = client.put("/v1/holidays/2026", headers=admin.headers, json=override)
        assert saved.status_code == 200, saved.text
        assert [(h["day"], h["source"]) for h in saved.json()] == [("2026-03-03", "override")]
        after = client.post(
            "/v1/tickets", headers=operator.headers, json={"channel": "sms", "content": "Hỏi"}
        ).json()["due_at"]
        assert after > before

        wrong_year = [{"day": "2027-01-01", "name": "Tết Dương lịch"}]
        assert (
            client.put("/v1/holidays/2026", headers=admin.headers, json=wrong_year).status_code
            == 422
        )
        assert client.get("/v1/holidays/1800", headers=admin.headers).status_code == 422
        reset = client.put("/v1/holidays/2026", headers=admin.headers, json=[])
        assert {h["source"] for h in reset.json()} == {"bundled"}
