"""Feedback and quality review over HTTP, on the answers the service really gave.

Operators give feedback and supervisors review, each with a bearer token from the ticket system.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.tickets import make_agency
from tests.utils.tickets_api import bootstrap_user, sign_in
from tickets.workflow import Role


def _headers(client: TestClient, role: Role) -> dict[str, str]:
    tickets = client.app.state.tickets  # type: ignore[attr-defined]
    agency = make_agency(tickets).code if role is Role.AGENCY_LIAISON else None
    user = bootstrap_user(tickets, role, agency_code=agency)
    return {"Authorization": f"Bearer {sign_in(client, user.username)}"}


@pytest.fixture(scope="module")
def operator(client: TestClient) -> dict[str, str]:
    return _headers(client, Role.OPERATOR)


@pytest.fixture(scope="module")
def supervisor(client: TestClient) -> dict[str, str]:
    return _headers(client, Role.SUPERVISOR)


def test_feedback_refers_to_a_suggestion(
    client: TestClient, operator: dict[str, str], supervisor: dict[str, str]
) -> None:
    suggested = client.post("/v1/suggest", json={"transcript": "đổi GPLX hết bao nhiêu tiền"})
    interaction_id = suggested.json()["interaction_id"]
    assert len(interaction_id) == 32

    response = client.post(
        "/v1/feedback",
        json={"interaction_id": interaction_id, "verdict": "useful"},
        headers=operator,
    )

    assert response.status_code == 201
    assert response.json()["verdict"] == "useful"
    assert response.json()["by"].startswith("operator-")
    stored = client.get(f"/v1/quality/interactions/{interaction_id}", headers=supervisor).json()
    assert stored["kind"] == "suggest"
    assert stored["procedure_codes"] == [p["facts"]["code"] for p in suggested.json()["procedures"]]


def test_answer_is_recorded_with_its_channel_and_citations(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    answered = client.post(
        "/v1/answer", json={"question": "lệ phí đổi giấy phép lái xe", "channel": "sms"}
    ).json()
    stored = client.get(
        f"/v1/quality/interactions/{answered['interaction_id']}", headers=supervisor
    ).json()
    assert stored["channel"] == "sms"
    assert stored["answered"] == answered["answered"]
    assert set(stored["procedure_codes"]) == {c["code"] for c in answered["citations"]}


def test_a_question_left_unanswered_shows_as_a_gap(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    # Handed over, or answered with a list of procedures to choose from: either is a gap.
    question = "xin thủ tục nuôi rồng lửa trong nhà"
    answered = client.post("/v1/answer", json={"question": question}).json()
    assert answered["route"] == "procedure" and answered["answered"] is False

    gaps = client.get("/v1/quality/gaps", params={"days": 1}, headers=supervisor).json()

    assert question in [g["question"] for g in gaps]


def test_summary_counts_feedback(
    client: TestClient, operator: dict[str, str], supervisor: dict[str, str]
) -> None:
    before = client.get("/v1/quality/summary", headers=supervisor).json()
    asked = client.post("/v1/answer", json={"question": "đăng ký khai sinh"}).json()
    client.post(
        "/v1/feedback",
        json={"interaction_id": asked["interaction_id"], "verdict": "wrong"},
        headers=operator,
    )

    after = client.get("/v1/quality/summary", headers=supervisor).json()

    assert after["interactions"] == before["interactions"] + 1
    assert after["feedback"]["wrong"] == before["feedback"]["wrong"] + 1


def test_rating_a_sampled_answer_removes_it_from_the_sample(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    client.post("/v1/answer", json={"question": "lệ phí đổi giấy phép lái xe"})
    sample = client.get("/v1/quality/sample", params={"n": 200}, headers=supervisor).json()
    assert sample
    chosen = sample[0]["id"]

    rated = client.post(
        "/v1/quality/ratings", json={"interaction_id": chosen, "score": 5}, headers=supervisor
    )

    assert rated.status_code == 204
    again = client.get("/v1/quality/sample", params={"n": 200}, headers=supervisor).json()
    assert chosen not in {s["id"] for s in again}


def test_review_needs_a_supervisor_and_feedback_needs_staff(
    client: TestClient, operator: dict[str, str]
) -> None:
    asked = client.post("/v1/answer", json={"question": "đăng ký khai sinh"}).json()
    body = {"interaction_id": asked["interaction_id"], "verdict": "useful"}
    assert client.post("/v1/feedback", json=body).status_code == 401
    for path in ("/v1/quality/summary", "/v1/quality/gaps", "/v1/quality/sample"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=operator).status_code == 403, path
    liaison = _headers(client, Role.AGENCY_LIAISON)
    assert client.post("/v1/feedback", json=body, headers=liaison).status_code == 403


def test_bad_feedback_is_a_clear_4xx(
    client: TestClient, operator: dict[str, str], supervisor: dict[str, str]
) -> None:
    unknown = client.post(
        "/v1/feedback", json={"interaction_id": "f" * 32, "verdict": "useful"}, headers=operator
    )
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "not_found"
    for body in (
        {"interaction_id": "not-an-id", "verdict": "useful"},
        {"interaction_id": "a" * 32, "verdict": "great"},
        {"interaction_id": "a" * 32, "verdict": "useful", "extra": 1},
    ):
        response = client.post("/v1/feedback", json=body, headers=operator)
        assert response.status_code == 422, body
    rating = client.post(
        "/v1/quality/ratings", json={"interaction_id": "a" * 32, "score": 9}, headers=supervisor
    )
    assert rating.status_code == 422
