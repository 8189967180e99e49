"""Cases found by using the channels as a deployer would: odd but signed deliveries, web-chat
frames and reconnects, timestamps that are not numbers, the default data folder, a campaign
task running twice, and SQLite under a burst of webhooks.

Each test here failed before its fix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from answer_service.channels.inbox import Inbox, InlineDispatcher
from answer_service.channels.mail import parse_email
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.sms.campaigns import run_campaign
from answer_service.channels.store import ConversationStore, utcnow
from tests.unit.channels.conftest import (
    APP_ID,
    FB_SECRET,
    OA_SECRET,
    SMS_SECRET,
    USER_ID,
    Harness,
)
from tickets.intake import Channel


def messenger_post(client: TestClient, delivery: dict[str, Any]) -> Any:
    body = json.dumps(delivery, ensure_ascii=False).encode()
    signature = "sha256=" + hmac.new(FB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/v1/channels/messenger/webhook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )


def page(*events: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": list(events)}]}


def stored_texts(harness: Harness) -> list[str]:
    with sqlite3.connect(harness.store.engine.url.database) as db:
        rows = db.execute("SELECT text FROM channel_messages WHERE direction = 'in'").fetchall()
    return [r[0] for r in rows]


class TestMessengerOddEvents:
    def test_sender_that_is_not_an_object_is_ignored_not_500(self, client: TestClient) -> None:
        response = messenger_post(
            client, page({"sender": "7000000000000001", "message": {"mid": "m.1", "text": "hi"}})
        )

        assert response.status_code == 200
        assert response.json()["ignored"] == 1

    def test_timestamp_that_is_not_a_number_is_taken_not_500(
        self, client: TestClient, harness: Harness
    ) -> None:
        event = {
            "sender": {"id": "7000000000000001"},
            "timestamp": "yesterday",
            "message": {"mid": "m.2", "text": "Thủ tục khai sinh?"},
        }

        response = messenger_post(client, page(event))

        assert response.status_code == 200 and response.json()["taken"] == 1
        assert stored_texts(harness) == ["Thủ tục khai sinh?"]

    def test_blank_text_in_a_batch_is_skipped_and_the_rest_taken(
        self, client: TestClient, harness: Harness
    ) -> None:
        good = {
            "sender": {"id": "7000000000000002"},
            "message": {"mid": "m.3", "text": "khai sinh"},
        }
        blank = {"sender": {"id": "7000000000000002"}, "message": {"mid": "m.4", "text": "  "}}

        response = messenger_post(client, page(good, blank))

        # A 400 here made Meta redeliver the whole batch after its first message was stored.
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "taken": 1, "ignored": 1}
        assert stored_texts(harness) == ["khai sinh"]


class TestWebChatFrames:
    def test_binary_frame_gets_error_and_socket_stays_open(self, client: TestClient) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            ws.receive_json()
            ws.send_bytes(b"\x00\x01 not text")
            error = ws.receive_json()
            ws.send_json({"text": "khai sinh", "id": "c1"})
            ack = ws.receive_json()

        assert error["type"] == "error" and error["error_code"] == "bad_request"
        assert ack["kind"] == "ack"

    def test_reconnect_with_after_gets_replies_written_while_closed(
        self, client: TestClient, harness: Harness
    ) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            session = ws.receive_json()["session"]
            ws.send_json({"text": "Câu hỏi không rõ", "id": "c1"})
            last = max(ws.receive_json()["id"], ws.receive_json()["id"])
        # While the citizen's tab is closed, an operator's reply is stored for the session.
        conversation = harness.store.find_conversation("web_chat", session)
        assert conversation is not None
        harness.store.record_outbound(conversation.id, kind="operator", text="Chào anh, ...")

        with client.websocket_connect(
            f"/v1/channels/webchat/ws?session={session}&after={last}"
        ) as ws:
            ws.receive_json()
            ws.send_json({"text": "Tôi vẫn chờ", "id": "c2"})
            first = ws.receive_json()

        assert first["kind"] == "operator" and first["text"] == "Chào anh, ..."


class TestTimestamps:
    def test_sms_nan_timestamp_is_refused_not_taken_as_fresh(
        self, client: TestClient, harness: Harness
    ) -> None:
        body = b'{"sender": "0900000001", "text": "TROGIUP", "message_id": "n-1", "timestamp": NaN}'
        signature = "sha256=" + hmac.new(SMS_SECRET.encode(), body, hashlib.sha256).hexdigest()

        response = client.post(
            "/v1/channels/sms/inbound", content=body, headers={"X-Hotline-Signature": signature}
        )

        assert response.status_code == 400
        assert stored_texts(harness) == []

    def test_zalo_timestamp_with_non_ascii_digits_raises_400_not_500(
        self, client: TestClient
    ) -> None:
        stamp = "1²"
        event = {
            "app_id": APP_ID,
            "event_name": "user_send_text",
            "timestamp": stamp,
            "sender": {"id": USER_ID},
            "message": {"text": "xin chao", "msg_id": "z-1"},
        }
        body = json.dumps(event).encode()
        mac = hashlib.sha256(APP_ID.encode() + body + stamp.encode() + OA_SECRET.encode())

        response = client.post(
            "/v1/channels/zalo/webhook",
            content=body,
            headers={"X-ZEvent-Signature": f"mac={mac.hexdigest()}"},
        )

        assert response.status_code == 400


class TestDefaultDataDir:
    def test_channels_follow_the_platform_data_dir(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # ``hotline --data-dir X`` exports HOTLINE_DATA_DIR; the store must not land in ./var.
        monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))

        settings = ChannelSettings(_env_file=None)  # type: ignore[call-arg]

        assert settings.data_dir == tmp_path
        assert settings.store_url == f"sqlite:///{tmp_path.resolve() / 'channels.sqlite'}"

    def test_explicit_channels_data_dir_wins(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "kb"))
        monkeypatch.setenv("HOTLINE_CHANNELS_DATA_DIR", str(tmp_path / "channels"))

        assert ChannelSettings(_env_file=None).data_dir == tmp_path / "channels"  # type: ignore[call-arg]


class TestSqliteStore:
    def test_sqlite_store_uses_write_ahead_logging(self, store: ConversationStore) -> None:
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()

        assert mode == "wal"

    def test_burst_of_one_event_from_many_threads_is_stored_once(
        self, store: ConversationStore
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        def receive(i: int) -> int | None:
            return store.record_inbound(
                channel="zalo",
                thread_key=f"84{i % 3:017d}",
                text="xin chào",
                dedupe_key="same-event" if i % 2 else f"event-{i}",
            )

        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(receive, range(60)))

        assert sum(1 for i, x in enumerate(ids) if i % 2 and x is not None) == 1
        assert all(x is not None for i, x in enumerate(ids) if not i % 2)


class _ReentrantGateway:
    """Plays a second copy of the campaign task starting while the first is sending."""

    def __init__(self, store: ConversationStore, campaign_id: int) -> None:
        self.store, self.campaign_id = store, campaign_id
        self.sent: list[str] = []
        self.nested = False

    def send(self, phone: str, text: str, *, unicode: bool) -> str:
        if not self.nested:
            self.nested = True
            run_campaign(self.store, self, self.campaign_id, per_second=1000, max_segments=1)
        self.sent.append(phone)
        return f"id-{len(self.sent)}"


class TestCampaignRunTwice:
    def test_two_runs_at_once_text_each_number_once(self, store: ConversationStore) -> None:
        numbers = ["0900000001", "0900000002", "0900000003"]
        for phone in numbers:
            store.set_opt_in(phone, True)
        campaign_id = store.create_campaign("Thông báo lịch nghỉ", utcnow())
        gateway = _ReentrantGateway(store, campaign_id)

        run_campaign(store, gateway, campaign_id, per_second=1000, max_segments=1)

        assert sorted(gateway.sent) == numbers
        assert set(store.deliveries(campaign_id).values()) == {"sent"}

    def test_failed_number_is_tried_again_on_the_next_run(self, store: ConversationStore) -> None:
        store.set_opt_in("0900000001", True)
        campaign_id = store.create_campaign("Thông báo", utcnow())
        store.record_delivery(campaign_id, "0900000001", "failed", "gateway down")

        assert store.claim_delivery(campaign_id, "0900000001") is True
        assert store.claim_delivery(campaign_id, "0900000001") is False


class TestProcessingClaim:
    def record(self, harness: Harness) -> int:
        message_id = harness.store.record_inbound(
            channel="zalo", thread_key=USER_ID, text="Thủ tục khai sinh thế nào?", dedupe_key="z1"
        )
        assert message_id is not None
        return message_id

    def test_second_copy_of_the_task_running_at_once_sends_nothing(self, harness: Harness) -> None:
        message_id = self.record(harness)
        answer = harness.answerer.answer
        nested: list[str] = []

        def answer_while_a_copy_runs(question: str) -> Any:
            # A re-queued copy of the task starts while the first one waits for the answer.
            nested.append(harness.processor.process(message_id))
            return answer(question)

        harness.answerer.answer = answer_while_a_copy_runs  # type: ignore[method-assign]

        outcome = harness.processor.process(message_id)

        kinds = [m.kind for m in harness.store.messages(1, direction="out")]
        assert (outcome, nested) == ("answered", ["in_progress"])
        assert kinds == ["ack", "answer"]

    def test_failed_run_releases_its_claim_for_the_retry(self, harness: Harness) -> None:
        message_id = self.record(harness)
        answer = harness.answerer.answer

        def fail_once(question: str) -> Any:
            harness.answerer.answer = answer  # type: ignore[method-assign]
            raise RuntimeError("answer service restarting")

        harness.answerer.answer = fail_once  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            harness.processor.process(message_id)

        assert harness.processor.process(message_id) == "answered"

    def test_claim_of_a_dead_worker_is_taken_over_after_the_lease(self, harness: Harness) -> None:
        message_id = self.record(harness)
        assert harness.store.claim_processing(message_id, lease_s=180)

        assert harness.store.claim_processing(message_id, lease_s=180) is False
        assert harness.store.claim_processing(message_id, lease_s=0) is True


class TestMailWithoutMessageId:
    RAW = (
        b"From: citizen@example.invalid\r\nTo: 1022@hotline.example\r\n"
        b"Subject: cap ho chieu\r\n\r\ncap ho chieu can gi\r\n"
    )

    def test_same_mail_fetched_twice_keeps_one_id(self) -> None:
        assert parse_email(self.RAW).message_id == parse_email(self.RAW).message_id

    def test_same_mail_fetched_twice_is_answered_once(self, harness: Harness) -> None:
        inbox = Inbox(store=harness.store, dispatcher=InlineDispatcher(harness.processor))

        first, again = inbox.receive_email(self.RAW), inbox.receive_email(self.RAW)

        assert first is not None and again is None
        assert [kind for _, kind in _out_kinds(harness)] == ["ack", "handover"]


def _out_kinds(harness: Harness) -> list[tuple[int, str]]:
    with sqlite3.connect(harness.store.engine.url.database) as db:
        return db.execute(
            "SELECT id, kind FROM channel_messages WHERE direction = 'out' ORDER BY id"
        ).fetchall()


class TestCutWarning:
    def test_decomposed_text_that_fits_is_not_reported_as_cut(
        self, harness: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        inbox = Inbox(store=harness.store, dispatcher=InlineDispatcher(harness.processor))
        decomposed = unicodedata.normalize("NFD", "Hỏi về hộ chiếu")

        with caplog.at_level(logging.WARNING):
            inbox.receive(
                channel=Channel.WEB_CHAT, thread_key="s" * 20, text=decomposed, dedupe_key="d1"
            )

        assert "cut" not in caplog.text


class TestAccessLog:
    def test_channel_query_strings_are_redacted_in_the_access_log(self) -> None:
        access = logging.getLogger("uvicorn.access")
        record = access.makeRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            (
                "127.0.0.1:5000",
                "GET",
                "/v1/channels/sms/esms?Phone=0900000001&Content=T%C3%B4i+h%E1%BB%8Fi",
                "1.1",
                200,
            ),
            None,
        )

        assert all(f.filter(record) for f in access.filters)
        line = record.getMessage()
        assert "0900000001" not in line and "Content" not in line
        assert "/v1/channels/sms/esms?[redacted]" in line

    def test_other_paths_keep_their_query_string(self) -> None:
        access = logging.getLogger("uvicorn.access")
        args = ("127.0.0.1:5000", "GET", "/v1/search?q=khai+sinh", "1.1", 200)
        record = access.makeRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
        )

        assert all(f.filter(record) for f in access.filters)
        assert "/v1/search?q=khai+sinh" in record.getMessage()


class TestWebChatFlood:
    def test_session_over_its_limit_gets_rate_limited_and_nothing_stored(
        self, client: TestClient, harness: Harness
    ) -> None:
        client.app.state.channels.inbox.webchat_rate_limit = 2  # type: ignore[attr-defined]
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            ws.receive_json()
            for i in range(3):
                ws.send_json({"text": f"khai sinh {i}", "id": f"c{i}"})
            frames = [ws.receive_json() for _ in range(5)]  # 2 x (ack, answer) + 1 error

        errors = [f for f in frames if f["type"] == "error"]
        assert [e["error_code"] for e in errors] == ["rate_limited"]
        assert stored_texts(harness) == ["khai sinh 0", "khai sinh 1"]
