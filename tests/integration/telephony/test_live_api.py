"""Operator-facing live-call API: the answer service, the bridge and Redis between them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from answer_service.main import create_app
from telephony_bridge.settings import BridgeSettings
from tests.integration.answer_service.invented_kb import SWIFTLET
from tests.integration.telephony.harness import AGENCY, BridgeThread, wait_for
from tests.utils.ari_server import FakeAriServer
from tests.utils.tickets_api import SignedIn, fast_password_hashing, signed_in_user
from tickets.workflow import Role

pytestmark = pytest.mark.integration

QUESTION = "Cho tôi hỏi thủ tục cấp giấy phép nuôi chim yến trong khu dân cư."


@pytest.fixture
def client(
    answer_service: Any,
    tickets: Any,
    bridge_settings: BridgeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The answer service with the ticket API on the test's ticket database."""
    monkeypatch.setenv("HOTLINE_TELEPHONY_REDIS_URL", bridge_settings.redis_url)
    monkeypatch.setenv("HOTLINE_TELEPHONY_REDIS_PREFIX", bridge_settings.redis_prefix)
    monkeypatch.setenv(
        "HOTLINE_TELEPHONY_AGENCY_ENDPOINTS", json.dumps(bridge_settings.agency_endpoints)
    )
    monkeypatch.setenv("HOTLINE_TELEPHONY_DEBOUNCE_MS", "100")
    app = create_app(service=answer_service)
    app.state.tickets = tickets
    with fast_password_hashing(), TestClient(app, raise_server_exceptions=False) as test:
        yield test


@pytest.fixture
def operator(client: TestClient, tickets: Any) -> SignedIn:
    return signed_in_user(client, tickets, Role.OPERATOR)


def sse_events(body: str) -> list[dict[str, Any]]:
    events = []
    for block in body.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def listeners(client: TestClient, call_id: str) -> int:
    live = client.app.state.live_calls  # type: ignore[attr-defined]
    return len(live._listeners.get(call_id, ()))


def test_live_call_from_screen_pop_to_transfer(
    client: TestClient,
    operator: SignedIn,
    ari: FakeAriServer,
    tickets: Any,
    bridge_settings: BridgeSettings,
) -> None:
    auth = operator.headers
    with BridgeThread(bridge_settings, tickets, ari):
        call_id = ari.start_call("0900000301", "Người Gọi Thử")
        wait_for(
            lambda: any(
                c["call_id"] == call_id for c in client.get("/v1/calls", headers=auth).json()
            )
        )
        call = client.get(f"/v1/calls/{call_id}", headers=auth).json()
        assert call["caller"]["number"] == "0900000301" and call["ticket"]["number"]
        ticket_id = call["ticket"]["id"]

        body: list[str] = []
        reader = threading.Thread(
            target=lambda: body.append(client.get(f"/v1/calls/{call_id}/events", headers=auth).text)
        )
        reader.start()
        wait_for(lambda: listeners(client, call_id) == 1)

        accepted = client.post(
            f"/v1/calls/{call_id}/transcript",
            json={"segments": [{"text": QUESTION, "final": True}]},
            headers=auth,
        )
        assert accepted.status_code == 202 and accepted.json()["revision"] == 1

        with client.websocket_connect(f"/v1/calls/{call_id}/ws?token={operator.token}") as socket:
            assert socket.receive_json()["type"] == "snapshot"
            socket.send_text("not json")
            seen = [socket.receive_json()]
            while seen[-1]["type"] != "error":  # call events may come first
                seen.append(socket.receive_json())
            assert seen[-1]["error_code"] == "invalid_input"
            socket.send_text(json.dumps({"text": "Lệ phí bao nhiêu", "final": False}))
            while not any(m.get("type") == "suggestion" and m["revision"] == 2 for m in seen):
                seen.append(socket.receive_json())
            assert {"type": "accepted", "call_id": call_id, "revision": 2} in seen

        unknown = client.post(
            f"/v1/calls/{call_id}/transfer", json={"agency_code": "XX"}, headers=auth
        )
        assert unknown.status_code == 422 and "XX" in unknown.json()["detail"]
        transfer = client.post(
            f"/v1/calls/{call_id}/transfer", json={"agency_code": AGENCY}, headers=auth
        )
        assert transfer.status_code == 202
        reader.join(15)

        ended = client.post(
            f"/v1/calls/{call_id}/transcript", json={"segments": [{"text": "Alo?"}]}, headers=auth
        )
        assert ended.status_code == 409 and ended.json()["error_code"] == "conflict"

    events = sse_events(body[0])
    kinds = [e["type"] for e in events]
    assert kinds[0] == "snapshot" and kinds[-1] == "call_ended"
    suggestions = [e for e in events if e["type"] == "suggestion"]
    first = suggestions[0]
    assert first["revision"] == 1
    assert first["suggestion"]["procedures"][0]["facts"]["code"] == SWIFTLET
    assert [s["revision"] for s in suggestions] == sorted(s["revision"] for s in suggestions)
    # Live suggestions are recorded for quality review, so the operator can rate them.
    quality = client.app.state.quality  # type: ignore[attr-defined]
    recorded = quality.interaction(first["suggestion"]["interaction_id"])
    assert recorded["kind"] == "suggest" and recorded["channel"] == "phone"
    assert recorded["procedure_codes"][0] == SWIFTLET
    transferred = [e for e in events if e["type"] == "call_transferred"][0]
    assert transferred["actor"] == f"operator:{operator.user.username}"
    ticket = tickets.get(ticket_id)
    assert ticket.status == "transferred" and ticket.agency_code == AGENCY
    assert ticket.call_outcome == "transferred" and ticket.recording_uri
    # The final segment is kept in the ticket's log (the interim one is not).
    texts = [e.text or "" for e in tickets.events(ticket_id)]
    assert any(QUESTION in text for text in texts)
    assert not any("Lệ phí bao nhiêu" in text for text in texts)


def test_bad_requests_get_clear_errors(client: TestClient, operator: SignedIn) -> None:
    auth = operator.headers
    missing = client.post(
        "/v1/calls/none/transcript", json={"segments": [{"text": "a"}]}, headers=auth
    )
    assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"
    assert client.get("/v1/calls/none", headers=auth).status_code == 404
    assert client.get("/v1/calls/none/events", headers=auth).status_code == 404
    for body in (
        {"segments": []},
        {"segments": [{"text": ""}]},
        {"segments": [{"text": "a", "speaker": "robot"}]},
        {"segments": [{"text": "a", "confidence": 1}]},
        {"text": "a"},
    ):
        response = client.post("/v1/calls/none/transcript", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.json()["error_code"] == "invalid_input"
    assert client.post("/v1/calls/none/transfer", json={}, headers=auth).status_code == 422
    with client.websocket_connect(f"/v1/calls/none/ws?token={operator.token}") as socket:
        assert socket.receive_json()["error_code"] == "not_found"


def test_live_calls_need_a_desk_users_token(
    client: TestClient, tickets: Any, operator: SignedIn
) -> None:
    assert client.get("/v1/calls").status_code == 401
    assert client.get("/v1/calls", headers={"Authorization": "Bearer wrong"}).status_code == 401
    editor = signed_in_user(client, tickets, Role.EDITOR)
    refused = client.post(
        "/v1/calls/c1/transfer", json={"agency_code": AGENCY}, headers=editor.headers
    )
    assert refused.status_code == 403 and refused.json()["error_code"] == "forbidden"
    assert client.get("/v1/calls", headers=operator.headers).json() == []
    for url in (
        "/v1/calls/c1/ws",
        "/v1/calls/c1/ws?token=wrong",
        f"/v1/calls/c1/ws?token={editor.token}",
    ):
        with client.websocket_connect(url) as socket:
            assert socket.receive_json()["error_code"] in {"unauthorized", "forbidden"}


def test_a_restarted_answer_service_shows_the_calls_in_progress(
    client: TestClient,
    operator: SignedIn,
    ari: FakeAriServer,
    tickets: Any,
    answer_service: Any,
    bridge_settings: BridgeSettings,
) -> None:
    with BridgeThread(bridge_settings, tickets, ari):
        call_id = ari.start_call("0900000302", "Người Gọi Thử")
        wait_for(
            lambda: (
                client.get(f"/v1/calls/{call_id}", headers=operator.headers).json().get("state")
                == "Up"
            )
        )
        time.sleep(1.0)  # the call's setup events are over: nothing else is published for it
        # A second service process, started while the call goes on: Redis kept nothing for it.
        app = create_app(service=answer_service)
        app.state.tickets = tickets
        with TestClient(app, raise_server_exceptions=False) as restarted:
            wait_for(
                lambda: (
                    [
                        c["call_id"]
                        for c in restarted.get("/v1/calls", headers=operator.headers).json()
                    ]
                    == [call_id]
                )
            )
            call = restarted.get(f"/v1/calls/{call_id}", headers=operator.headers).json()
            assert call["caller"]["number"] == "0900000302" and call["ticket"]["number"]
            accepted = restarted.post(
                f"/v1/calls/{call_id}/transcript",
                json={"segments": [{"text": QUESTION, "final": True}]},
                headers=operator.headers,
            )
            assert accepted.status_code == 202
        ari.hang_up(call_id)
