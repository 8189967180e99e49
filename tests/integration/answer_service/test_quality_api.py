"""Feedback and quality review over HTTP, on the answers the service really gave."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_feedback_refers_to_a_suggestion(client: TestClient) -> None:
    suggested = client.post("/v1/suggest", json={"transcript": "đổi GPLX hết bao nhiêu tiền"})
    interaction_id = suggested.json()["interaction_id"]
    assert len(interaction_id) == 32

    response = client.post(
        "/v1/feedback",
        json={"interaction_id": interaction_id, "verdict": "useful", "by": "operator1"},
    )

    assert response.status_code == 201
    assert response.json()["verdict"] == "useful"
    stored = client.get(f"/v1/quality/interactions/{interaction_id}").json()
    assert stored["kind"] == "suggest"
    assert stored["procedure_codes"] == [
        p["facts"]["code"] for p in suggested.json()["procedures"]
    ]


def test_answer_is_recorded_with_its_channel_and_citations(client: TestClient) -> None:
    answered = client.post(
        "/v1/answer", json={"question": "lệ phí đổi giấy phép lái xe", "channel": "sms"}
    ).json()
    stored = client.get(f"/v1/quality/interactions/{answered['interaction_id']}").json()
    assert stored["channel"] == "sms"
    assert stored["answered"] == answered["answered"]
    assert set(stored["procedure_codes"]) == {c["code"] for c in answered["citations"]}


def test_a_handed_over_question_shows_as_a_gap(client: TestClient) -> None:
    question = "xin thủ tục nuôi rồng lửa trong nhà"
    answered = client.post("/v1/answer", json={"question": question}).json()
    assert answered["handover"] is True

    gaps = client.get("/v1/quality/gaps", params={"days": 1}).json()

    assert question in [g["question"] for g in gaps]


def test_summary_counts_feedback(client: TestClient) -> None:
    before = client.get("/v1/quality/summary").json()
    asked = client.post("/v1/answer", json={"question": "đăng ký khai sinh"}).json()
    client.post(
        "/v1/feedback", json={"interaction_id": asked["interaction_id"], "verdict": "wrong"}
    )

    after = client.get("/v1/quality/summary").json()

    assert after["interactions"] == before["interactions"] + 1
    assert after["feedback"]["wrong"] == before["feedback"]["wrong"] + 1


def test_rating_a_sampled_answer_removes_it_from_the_sample(client: TestClient) -> None:
    client.post("/v1/answer", json={"question": "lệ phí đổi giấy phép lái xe"})
    sample = client.get("/v1/quality/sample", params={"n": 200}).json()
    assert sample
    chosen = sample[0]["id"]

    rated = client.post("/v1/quality/ratings", json={"interaction_id": chosen, "score": 5})

    assert rated.status_code == 204
    again = client.get("/v1/quality/sample", params={"n": 200}).json()
    assert chosen not in {s["id"] for s in again}


def test_bad_feedback_is_a_clear_4xx(client: TestClient) -> None:
    unknown = client.post("/v1/feedback", json={"interaction_id": "f" * 32, "verdict": "useful"})
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "not_found"
    for body in (
        {"interaction_id": "not-an-id", "verdict": "useful"},
        {"interaction_id": "a" * 32, "verdict": "great"},
        {"interaction_id": "a" * 32, "verdict": "useful", "extra": 1},
    ):
        response = client.post("/v1/feedback", json=body)
        assert response.status_code == 422, body
    rating = client.post("/v1/quality/ratings", json={"interaction_id": "a" * 32, "score": 9})
    assert rating.status_code == 422
