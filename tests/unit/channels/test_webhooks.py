"""The channel endpoints in process: signatures, bad input, redelivery, rate limits, web chat.

The app here holds only the channel router, the error handlers and the body-size limit of the
real app; messages are processed inline by the processor with the unit fakes, so each test sees
the replies at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import unicodedata
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from answer_service.channels.api import router
from answer_service.errors import install_error_handlers
from tests.unit.channels.conftest import (
    ACK,
    APP_ID,
    FB_SECRET,
    OA_SECRET,
    SMS_SECRET,
    USER_ID,
    Harness,
)


def zalo_event(text: str, *, msg_id: str = "msg-1", ts_ms: int | None = None) -> bytes:
    event = {
        "app_id": APP_ID,
        "user_id_by_app": "5520000000000000001",
        "event_name": "user_send_text",
        "timestamp": str(ts_ms or int(time.time() * 1000)),
        "sender": {"id": USER_ID},
        "recipient": {"id": "2010000000000000001"},
        "message": {"text": text, "msg_id": msg_id},
    }
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def zalo_headers(body: bytes, *, secret: str = OA_SECRET) -> dict[str, str]:
    timestamp = json.loads(body)["timestamp"]
    mac = hashlib.sha256(APP_ID.encode() + body + timestamp.encode() + secret.encode())
    return {"X-ZEvent-Signature": f"mac={mac.hexdigest()}", "Content-Type": "application/json"}


def count_messages(harness: Harness) -> int:
    conversation = harness.store.find_conversation("zalo", USER_ID)
    return 0 if conversation is None else len(harness.store.messages(conversation.id))


class TestZaloWebhook:
    URL = "/v1/channels/zalo/webhook"

    def test_run_vietnamese_text_is_acknowledged_and_answered(
        self, client: TestClient, harness: Harness
    ) -> None:
        body = zalo_event("Cho hỏi lệ phí đăng ký khai sinh là bao nhiêu ạ?")

        response = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "duplicate": False}
        assert [t for _, t, _ in harness.sender.sent][0] == ACK
        assert "miễn phí" in harness.sender.sent[1][1]

    def test_forged_signature_with_wrong_secret_raises_403_and_stores_nothing(
        self, client: TestClient, harness: Harness
    ) -> None:
        body = zalo_event("Xin chào")

        response = client.post(self.URL, content=body, headers=zalo_headers(body, secret="nope"))

        assert response.status_code == 403
        assert response.json()["error_code"] == "forbidden"
        assert count_messages(harness) == 0 and harness.sender.sent == []

    def test_tampered_body_raises_403(self, client: TestClient, harness: Harness) -> None:
        body = zalo_event("Tôi muốn hỏi về khai sinh")
        headers = zalo_headers(body)
        tampered = body.replace(b"khai sinh", "kết hôn".encode())

        response = client.post(self.URL, content=tampered, headers=headers)

        assert response.status_code == 403
        assert count_messages(harness) == 0

    def test_unsigned_raises_401(self, client: TestClient, harness: Harness) -> None:
        response = client.post(self.URL, content=zalo_event("Xin chào"))

        assert response.status_code == 401
        assert count_messages(harness) == 0

    def test_hmac_instead_of_plain_hash_raises_403(self, client: TestClient) -> None:
        body = zalo_event("Xin chào")
        timestamp = json.loads(body)["timestamp"]
        wrong = hmac.new(
            OA_SECRET.encode(), APP_ID.encode() + body + timestamp.encode(), hashlib.sha256
        ).hexdigest()

        response = client.post(
            self.URL, content=body, headers={"X-ZEvent-Signature": f"mac={wrong}"}
        )

        assert response.status_code == 403

    def test_malformed_json_raises_400(self, client: TestClient) -> None:
        response = client.post(
            self.URL,
            content=b'{"event_name": "user_send_text",',
            headers={"X-ZEvent-Signature": "mac=00"},
        )

        assert response.status_code == 400
        assert response.json()["error_code"] == "bad_request"

    def test_replayed_old_event_raises_403(self, client: TestClient, harness: Harness) -> None:
        body = zalo_event("khai sinh", ts_ms=int((time.time() - 2 * 86400) * 1000))

        response = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert response.status_code == 403
        assert "too old" in response.json()["detail"]
        assert count_messages(harness) == 0

    def test_redelivered_event_is_processed_once(
        self, client: TestClient, harness: Harness
    ) -> None:
        body = zalo_event("khai sinh", msg_id="same-msg")

        first = client.post(self.URL, content=body, headers=zalo_headers(body))
        second = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert first.json()["duplicate"] is False
        assert (second.status_code, second.json()["duplicate"]) == (200, True)
        assert len(harness.sender.sent) == 2
        assert harness.answerer.questions == ["khai sinh"]

    def test_unknown_event_is_logged_and_ignored(
        self, client: TestClient, harness: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level("INFO", logger="answer_service.channels.api")
        event = json.loads(zalo_event("x"))
        event["event_name"] = "user_send_sticker"
        body = json.dumps(event).encode()

        response = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert response.status_code == 200
        assert response.json()["ignored"] == "user_send_sticker"
        assert count_messages(harness) == 0
        assert "user_send_sticker" in caplog.text

    def test_follow_event_is_greeted(self, client: TestClient, harness: Harness) -> None:
        event = {
            "app_id": APP_ID,
            "event_name": "follow",
            "timestamp": str(int(time.time() * 1000)),
            "follower": {"id": USER_ID},
            "oa_id": "2010000000000000001",
        }
        body = json.dumps(event).encode()

        response = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert response.status_code == 200
        assert "Cảm ơn Quý khách" in harness.sender.sent[0][1]

    def test_oversized_message_is_cut_on_a_character_boundary(
        self, client: TestClient, harness: Harness
    ) -> None:
        # Decomposed Vietnamese: a cut by code point could strand a combining tone mark.
        text = unicodedata.normalize("NFD", "Hỏi về thủ tục khai sinh, " * 200)
        body = zalo_event(text)

        response = client.post(self.URL, content=body, headers=zalo_headers(body))

        assert response.status_code == 200
        conversation = harness.store.find_conversation("zalo", USER_ID)
        assert conversation is not None
        stored = harness.store.messages(conversation.id)[0].text
        assert len(stored) <= 500 and stored.endswith("…")
        assert stored == unicodedata.normalize("NFC", stored)
        assert not unicodedata.combining(stored[-2])


def fb_body(text: str, *, echo: bool = False, mid: str = "m_1") -> bytes:
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    event = {
        "sender": {"id": "7000000000000001"},
        "recipient": {"id": "1000000000000001"},
        "timestamp": int(time.time() * 1000),
        "message": message,
    }
    data = {
        "object": "page",
        "entry": [{"id": "1000000000000001", "time": 1, "messaging": [event]}],
    }
    return json.dumps(data).encode()  # ASCII escapes, as Meta sends Vietnamese


def fb_headers(body: bytes, secret: str = FB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


class TestMessengerWebhook:
    URL = "/v1/channels/messenger/webhook"

    def test_run_handshake_echoes_challenge(self, client: TestClient) -> None:
        params = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "4242"}

        response = client.get(self.URL, params=params)

        assert (response.status_code, response.text) == (200, "4242")

    def test_handshake_with_wrong_token_raises_403(self, client: TestClient) -> None:
        params = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}

        assert client.get(self.URL, params=params).status_code == 403

    def test_handshake_without_parameters_raises_400(self, client: TestClient) -> None:
        assert client.get(self.URL).status_code == 400

    def test_run_message_is_answered(self, client: TestClient, harness: Harness) -> None:
        body = fb_body("Đăng ký khai sinh cần gì?")

        response = client.post(self.URL, content=body, headers=fb_headers(body))

        assert response.json() == {"status": "ok", "taken": 1, "ignored": 0}
        assert harness.sender.sent[0] == ("7000000000000001", ACK, "")

    def test_echo_is_ignored(self, client: TestClient, harness: Harness) -> None:
        body = fb_body("Tin nhắn của trang", echo=True)

        response = client.post(self.URL, content=body, headers=fb_headers(body))

        assert response.json() == {"status": "ok", "taken": 0, "ignored": 1}
        assert harness.sender.sent == []

    @pytest.mark.parametrize("case", ["wrong_secret", "tampered", "missing"])
    def test_bad_signature_raises_and_stores_nothing(
        self, client: TestClient, harness: Harness, case: str
    ) -> None:
        body = fb_body("Câu hỏi có dấu tiếng Việt")
        headers = fb_headers(body, secret="other" if case == "wrong_secret" else FB_SECRET)
        if case == "tampered":
            body = body.replace(b"C\\u00e2u", b"Cau")
        if case == "missing":
            headers = {}

        response = client.post(self.URL, content=body, headers=headers)

        assert response.status_code == (401 if case == "missing" else 403)
        assert harness.store.find_conversation("facebook", "7000000000000001") is None

    def test_signed_malformed_json_raises_400(self, client: TestClient) -> None:
        body = b"{not json"

        assert client.post(self.URL, content=body, headers=fb_headers(body)).status_code == 400


def esms_query(
    text: str, *, request_id: str, phone: str = "84900000009", secret: str = SMS_SECRET
) -> str:
    params = {
        "Phone": phone,
        "Content": text,
        "RequestId": request_id,
        "Time": str(int(time.time())),
    }
    canonical = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["Signature"] = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


class TestSmsEndpoints:
    def test_run_esms_keyword_is_answered(self, client: TestClient, harness: Harness) -> None:
        response = client.get(
            "/v1/channels/sms/esms?" + esms_query("TTHC khai sinh", request_id="r1")
        )

        assert response.status_code == 200
        assert response.json()["CodeResult"] == "100"
        [(phone, text, _)] = harness.sender.sent
        assert phone == "0900000009" and "1.900100" in text

    def test_esms_tampered_query_raises_403(self, client: TestClient, harness: Harness) -> None:
        query = esms_query("TTHC khai sinh", request_id="r1").replace("khai", "ket")

        assert client.get("/v1/channels/sms/esms?" + query).status_code == 403
        assert harness.sender.sent == []

    def test_sms_flood_from_one_number_raises_429(
        self, client: TestClient, harness: Harness
    ) -> None:
        codes = [
            client.get(
                "/v1/channels/sms/esms?" + esms_query("HELP", request_id=f"f{i}")
            ).status_code
            for i in range(5)
        ]

        assert codes == [200, 200, 200, 429, 429]
        assert len(harness.sender.sent) == 3

    def test_run_speedsms_style(self, client: TestClient, harness: Harness) -> None:
        body = json.dumps(
            {
                "type": "sms",
                "phone": "0900000010",
                "content": "tro giup",
                "id": "s1",
                "timestamp": int(time.time()),
            }
        ).encode()
        signature = hmac.new(SMS_SECRET.encode(), body, hashlib.sha256).hexdigest()

        response = client.post(
            "/v1/channels/sms/speedsms", content=body, headers={"X-Speedsms-Signature": signature}
        )

        assert response.status_code == 200
        assert "TTHC" in harness.sender.sent[0][1]

    def test_run_neutral_endpoint_and_bad_json(self, client: TestClient) -> None:
        body = json.dumps(
            {
                "sender": "+84900000011",
                "text": "DK",
                "message_id": "n1",
                "timestamp": int(time.time()),
            }
        ).encode()
        good = "sha256=" + hmac.new(SMS_SECRET.encode(), body, hashlib.sha256).hexdigest()
        bad_body = b"[1, 2"
        bad_sig = "sha256=" + hmac.new(SMS_SECRET.encode(), bad_body, hashlib.sha256).hexdigest()

        ok = client.post(
            "/v1/channels/sms/inbound", content=body, headers={"X-Hotline-Signature": good}
        )
        bad = client.post(
            "/v1/channels/sms/inbound", content=bad_body, headers={"X-Hotline-Signature": bad_sig}
        )

        assert ok.status_code == 200 and bad.status_code == 400


class TestCampaignEndpoint:
    def test_run_schedules_campaign_task(self, client: TestClient) -> None:
        response = client.post(
            "/v1/channels/sms/campaigns",
            json={"text": "Thong bao lich nghi Tet", "scheduled_at": "2030-01-20T08:00:00+07:00"},
            headers={"X-Hotline-Admin-Token": "campaign-token-for-tests"},
        )

        assert response.status_code == 202, response.text
        celery = client.app.state.channels.campaigns  # type: ignore[attr-defined]
        [(name, options)] = celery.sent
        assert name == "channels.run_campaign"
        assert options["kwargs"] == {"campaign_id": response.json()["id"]}
        assert options["eta"].isoformat() == "2030-01-20T08:00:00+07:00"
        assert options["expires"] > 0

    @pytest.mark.parametrize(("token", "status"), [(None, 401), ("guess", 403)])
    def test_without_admin_token_raises(
        self, client: TestClient, token: str | None, status: int
    ) -> None:
        headers = {"X-Hotline-Admin-Token": token} if token else {}

        response = client.post("/v1/channels/sms/campaigns", json={"text": "x"}, headers=headers)

        assert response.status_code == status


class TestWebChat:
    def test_run_session_message_ack_and_answer(self, client: TestClient) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            hello = ws.receive_json()
            assert hello["type"] == "session" and len(hello["session"]) >= 16
            ws.send_json({"text": "Thủ tục khai sinh thế nào?", "id": "c1"})
            replies = [ws.receive_json(), ws.receive_json()]

        assert [r["kind"] for r in replies] == ["ack", "answer"]
        assert replies[0]["text"] == ACK
        assert "1.900100" in replies[1]["text"]

    def test_run_reconnect_continues_the_same_conversation(
        self, client: TestClient, harness: Harness
    ) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            session = ws.receive_json()["session"]
            ws.send_json({"text": "Câu hỏi không rõ", "id": "c1"})
            ws.receive_json(), ws.receive_json()
        with client.websocket_connect(f"/v1/channels/webchat/ws?session={session}") as ws:
            assert ws.receive_json()["session"] == session
            ws.send_json({"text": "Bổ sung thông tin", "id": "c2"})
            ack, followup = ws.receive_json(), ws.receive_json()

        assert ack["kind"] == "ack"
        assert followup["kind"] == "handover" and "1022-2026-000001" in followup["text"]
        assert len(harness.intake.tickets) == 1

    def test_bad_frame_gets_error_and_socket_stays_open(self, client: TestClient) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            ws.receive_json()
            ws.send_text("not json")
            error = ws.receive_json()
            ws.send_json({"text": "khai sinh"})
            ack = ws.receive_json()

        assert error["type"] == "error" and error["error_code"] == "bad_request"
        assert ack["kind"] == "ack"


class TestLazyState:
    def test_init_state_is_built_from_the_environment_on_first_use(
        self, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from answer_service.channels import api
        from answer_service.channels.settings import get_channel_settings
        from answer_service.channels.tasks import CeleryDispatcher

        monkeypatch.setenv("HOTLINE_CHANNELS_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("HOTLINE_CHANNELS_MESSENGER_VERIFY_TOKEN", "from-env")
        get_channel_settings.cache_clear()
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(router)
        try:
            with TestClient(app) as test_client:
                response = test_client.get(
                    "/v1/channels/messenger/webhook",
                    params={
                        "hub.mode": "subscribe",
                        "hub.verify_token": "from-env",
                        "hub.challenge": "ok",
                    },
                )
            state: api.ChannelsState = app.state.channels
            assert response.text == "ok"
            assert isinstance(state.inbox.dispatcher, CeleryDispatcher)
            assert state.settings.store_url.endswith("channels.sqlite")
            assert (tmp_path / "channels.sqlite").exists()
        finally:
            get_channel_settings.cache_clear()
            app.state.channels.runtime.close()
