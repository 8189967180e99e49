"""Every channel on loopback: the webhook answers at once, the real worker acknowledges, then
answers from the invented knowledge base (with a link) or opens a ticket in PostgreSQL.

The worker runs ``--pool=solo``: it takes messages one at a time in queue order, so once the
replies to a later message arrive, an earlier duplicate would already have produced its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from answer_service.channels.mail import ImapMailbox, fetch_new_mail
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.sms.encoding import is_gsm7, split_segments
from answer_service.channels.zalo import ZaloTokenStore
from tests.integration.answer_service.invented_kb import SWIFTLET
from tests.integration.channels.conftest import (
    APP_ID,
    CAMPAIGN_TOKEN,
    DOSSIER,
    FB_SECRET,
    FB_VERIFY,
    IMAP_PASSWORD,
    IMAP_USER,
    OA_SECRET,
    SMS_SECRET,
    Servers,
)
from tickets.intake import Channel

pytestmark = pytest.mark.integration

ACK = "Tổng đài 1022 đã nhận được thông tin của Quý khách, xin cảm ơn."
FEE_QUESTION = "Xin giấy phép nuôi chim yến hết bao nhiêu tiền, mất mấy ngày?"
NONSENSE = "xyzzy qwerty plugh zork"
TIMEOUT = 60.0


def zalo_post(client: TestClient, user_id: str, text: str, msg_id: str) -> Any:
    event = {
        "app_id": APP_ID, "user_id_by_app": "5520000000000000009", "event_name": "user_send_text",
        "timestamp": str(int(time.time() * 1000)), "sender": {"id": user_id},
        "recipient": {"id": "2010000000000000001"}, "message": {"text": text, "msg_id": msg_id},
    }  # fmt: skip
    body = json.dumps(event, ensure_ascii=False).encode()
    mac = hashlib.sha256(APP_ID.encode() + body + event["timestamp"].encode() + OA_SECRET.encode())
    return client.post(
        "/v1/channels/zalo/webhook",
        content=body,
        headers={"X-ZEvent-Signature": f"mac={mac.hexdigest()}"},
    )


def replies_to(recorder: Any, key: str, value: str, count: int) -> list[str]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = [i["text"] for i in recorder.items if i.get(key) == value]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} replies to {value} expected, got {recorder.items[-4:]}")


def new_user() -> str:
    return str(4_000_000_000_000_000_000 + uuid.uuid4().int % 10**18)


class TestZalo:
    def test_run_question_acknowledged_then_answered_with_citation(
        self, client: TestClient, servers: Servers, channel_settings: ChannelSettings
    ) -> None:
        user = new_user()
        response = zalo_post(client, user, FEE_QUESTION, msg_id=uuid.uuid4().hex)

        assert response.status_code == 200
        ack, answer = replies_to(servers.zalo.messages, "user_id", user, 2)
        assert ack == ACK
        assert "150.000 đồng" in answer and "7 ngày làm việc" in answer
        assert (
            f"mã {SWIFTLET}" in answer
            and f"https://dichvucong.example/thu-tuc/{SWIFTLET}" in answer
        )
        # The stored pair was expired: the worker spent the refresh token and kept the new pair.
        pair = ZaloTokenStore(channel_settings.zalo_token_path).load()
        assert pair is not None and pair.refresh_token in servers.zalo.refresh
        assert servers.zalo.spent_refresh and pair.expires_at > time.time()

    def test_run_redelivered_event_is_answered_once(
        self, client: TestClient, servers: Servers
    ) -> None:
        user, msg_id = new_user(), uuid.uuid4().hex
        first = zalo_post(client, user, FEE_QUESTION, msg_id=msg_id)
        again = zalo_post(client, user, FEE_QUESTION, msg_id=msg_id)
        later = zalo_post(
            client, user, "Hồ sơ nuôi chim yến gồm những gì?", msg_id=uuid.uuid4().hex
        )

        assert [r.json()["duplicate"] for r in (first, again, later)] == [False, True, False]
        replies = replies_to(servers.zalo.messages, "user_id", user, 4)
        time.sleep(0.5)
        assert len([i for i in servers.zalo.messages.items if i["user_id"] == user]) == 4
        assert replies[0] == ACK and replies[2] == ACK

    def test_run_unanswerable_question_opens_ticket_and_hands_over(
        self, client: TestClient, servers: Servers, tickets: Any
    ) -> None:
        user = new_user()

        zalo_post(client, user, NONSENSE, msg_id=uuid.uuid4().hex)

        ack, handover = replies_to(servers.zalo.messages, "user_id", user, 2)
        ref = tickets.find_open(Channel.ZALO, user)
        assert ref is not None and ref.number in handover
        ticket = tickets.get(ref.id)
        assert (ticket.content, ticket.contact_social_id, ticket.kind.value) == (
            NONSENSE,
            user,
            "question",
        )
        # The worker sends the hand-over, then logs it on the ticket: wait for the log entry.
        deadline = time.monotonic() + 30
        actions = [e.action for e in tickets.events(ref.id)]
        while "message_out" not in actions and time.monotonic() < deadline:
            time.sleep(0.1)
            actions = [e.action for e in tickets.events(ref.id)]
        assert "message_out" in actions

        zalo_post(client, user, "Tôi bổ sung: xin hướng dẫn thêm", msg_id=uuid.uuid4().hex)

        followup = replies_to(servers.zalo.messages, "user_id", user, 4)[3]
        assert ref.number in followup
        assert tickets.find_open(Channel.ZALO, user).id == ref.id  # one thread, one ticket

    def test_run_complaint_opens_complaint_ticket(
        self, client: TestClient, servers: Servers, tickets: Any
    ) -> None:
        user = new_user()

        zalo_post(
            client,
            user,
            "Tôi muốn khiếu nại cán bộ xã hách dịch, nhũng nhiễu khi nhận hồ sơ",
            msg_id=uuid.uuid4().hex,
        )

        replies_to(servers.zalo.messages, "user_id", user, 2)
        ref = tickets.find_open(Channel.ZALO, user)
        assert ref is not None and tickets.get(ref.id).kind.value == "complaint"


def fb_post(client: TestClient, psid: str, text: str, *, echo: bool = False) -> Any:
    message: dict[str, Any] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    if echo:
        message["is_echo"] = True
    event = {
        "sender": {"id": psid},
        "recipient": {"id": "1000000000000001"},
        "timestamp": int(time.time() * 1000),
        "message": message,
    }
    body = json.dumps({"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [event]}]})
    signature = hmac.new(FB_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/v1/channels/messenger/webhook",
        content=body,
        headers={"X-Hub-Signature-256": f"sha256={signature}"},
    )


class TestMessenger:
    def test_run_handshake(self, client: TestClient) -> None:
        params = {"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "987"}

        assert client.get("/v1/channels/messenger/webhook", params=params).text == "987"

    def test_run_message_answered_and_echo_ignored(
        self, client: TestClient, servers: Servers
    ) -> None:
        psid = f"7{uuid.uuid4().int % 10**15:015d}"

        echo = fb_post(client, psid, "Trang đã trả lời", echo=True)
        real = fb_post(client, psid, FEE_QUESTION)

        assert echo.json()["taken"] == 0 and real.json()["taken"] == 1
        ack, answer = replies_to(servers.graph.messages, "psid", psid, 2)
        assert ack == ACK and "150.000 đồng" in answer
        time.sleep(0.3)
        assert len([i for i in servers.graph.messages.items if i["psid"] == psid]) == 2


class TestEmail:
    def citizen_mail(self, subject: str, body: str, **headers: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = "Người Thử Nghiệm <nguoi.thu@citizen.example>"
        mail["To"] = IMAP_USER
        mail["Subject"] = subject
        mail["Message-ID"] = make_msgid(domain="citizen.example")
        for name, value in headers.items():
            mail[name.replace("_", "-")] = value
        mail.set_content(body, charset="utf-8")
        return mail

    def mailbox(self) -> ImapMailbox:
        return ImapMailbox(
            host="127.0.0.1", port=0, user=IMAP_USER, password=IMAP_PASSWORD, use_ssl=False
        )

    def test_run_mail_fetched_over_imap_answered_over_smtp_in_thread(
        self, client: TestClient, servers: Servers, runtime: ChannelRuntime, celery_app: Any
    ) -> None:
        from answer_service.channels.tasks import CeleryDispatcher

        mailbox = self.mailbox()
        mailbox.port = servers.imap.port
        subject = "Hỏi về giấy phép nuôi chim yến"
        question = self.citizen_mail(subject, FEE_QUESTION)
        uid = servers.imap.deliver(question)
        inbox = runtime.inbox(CeleryDispatcher(celery_app))

        try:
            assert fetch_new_mail(mailbox, inbox.receive_email) == 1
            assert fetch_new_mail(mailbox, inbox.receive_email) == 0  # marked seen
        finally:
            mailbox.close()

        assert uid in servers.imap.seen_uids()
        mails = [
            i["message"]
            for i in servers.smtp.messages.wait_for(2, TIMEOUT)
            if i["message"]["In-Reply-To"] == question["Message-ID"]
        ]
        ack, answer = mails[:2]
        assert str(ack["Subject"]) == f"Re: {subject}"
        assert ack.get_content().strip() == ACK
        assert "150.000 đồng" in answer.get_content()
        assert answer["References"].split()[-1] == question["Message-ID"]
        assert ack["To"] == "nguoi.thu@citizen.example"

    def test_run_idle_wakes_on_new_mail(self, servers: Servers) -> None:
        mailbox = self.mailbox()
        mailbox.port = servers.imap.port
        assert mailbox.supports_idle
        result: list[bool] = []
        waiter = threading.Thread(target=lambda: result.append(mailbox.idle(20)))

        idles_before = sum(c.endswith(" IDLE") for c in servers.imap.commands)
        waiter.start()
        deadline = time.monotonic() + 10
        while sum(c.endswith(" IDLE") for c in servers.imap.commands) == idles_before:
            assert time.monotonic() < deadline, "the client never sent IDLE"
            time.sleep(0.05)
        time.sleep(0.1)  # the server answers "+ idling" before it can report new mail
        servers.imap.deliver(self.citizen_mail("Thư mới", "Xin chào"))
        waiter.join(25)

        try:
            assert result == [True]  # woken by "* n EXISTS", not by the 20 s timeout
            assert any(c.endswith(" IDLE") for c in servers.imap.commands)
        finally:
            for uid, _ in list(mailbox.unseen()):
                mailbox.mark_seen(uid)
            mailbox.close()


class TestWebChat:
    def test_run_chat_session_gets_ack_and_answer(self, client: TestClient) -> None:
        with client.websocket_connect("/v1/channels/webchat/ws") as ws:
            session = ws.receive_json()["session"]
            ws.send_json({"text": FEE_QUESTION, "id": "w1"})
            ack, answer = ws.receive_json(), ws.receive_json()

        assert len(session) >= 16
        assert (ack["kind"], ack["text"]) == ("ack", ACK)
        assert answer["kind"] == "answer" and "150.000 đồng" in answer["text"]


def esms_get(client: TestClient, phone: str, text: str) -> Any:
    params = {
        "Phone": phone,
        "Content": text,
        "RequestId": uuid.uuid4().hex,
        "Time": str(int(time.time())),
    }
    canonical = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["Signature"] = hmac.new(
        SMS_SECRET.encode(), canonical.encode(), hashlib.sha256
    ).hexdigest()
    return client.get("/v1/channels/sms/esms?" + urlencode(params))


def phone_number() -> str:
    return f"0900{uuid.uuid4().int % 10**6:06d}"


class TestSms:
    def test_run_keyword_lookup_gsm7_with_link(self, client: TestClient, servers: Servers) -> None:
        phone = phone_number()

        assert esms_get(client, "84" + phone[1:], "tthc  NUOI CHIM YEN").status_code == 200

        [reply] = replies_to(servers.esms.messages, "phone", phone, 1)
        assert SWIFTLET in reply and is_gsm7(reply)
        assert len(split_segments(reply, unicode=False)) <= 2
        assert f"https://dichvucong.example/thu-tuc/{SWIFTLET}" in reply

    def test_run_code_and_dossier(self, client: TestClient, servers: Servers) -> None:
        phone = phone_number()

        esms_get(client, phone, f"Mã: {SWIFTLET}")
        esms_get(client, phone, f"HS {DOSSIER}")

        code_reply, dossier_reply = replies_to(servers.esms.messages, "phone", phone, 2)
        assert code_reply.startswith(f"{SWIFTLET} Cap giay phep nuoi chim yen")
        assert "Da co ket qua" in dossier_reply and "2026-12-10" in dossier_reply

    def test_run_free_text_question_hands_over_with_ticket(
        self, client: TestClient, servers: Servers, tickets: Any
    ) -> None:
        phone = phone_number()

        esms_get(client, phone, NONSENSE)

        ack, handover = replies_to(servers.esms.messages, "phone", phone, 2)
        ref = tickets.find_open(Channel.SMS, phone)
        assert ack == "Tong dai 1022 da nhan duoc thong tin cua Quy khach, xin cam on."
        assert ref is not None and ref.number in handover
        assert tickets.get(ref.id).contact_phone == phone

    def test_run_campaign_reaches_opted_in_numbers_only(
        self, client: TestClient, servers: Servers, runtime: ChannelRuntime
    ) -> None:
        joined, left = phone_number(), phone_number()
        esms_get(client, joined, "DANGKY")
        esms_get(client, left, "dang ky")
        esms_get(client, left, "TU CHOI")
        replies_to(servers.esms.messages, "phone", left, 2)

        response = client.post(
            "/v1/channels/sms/campaigns",
            json={"text": "Thông báo: Bộ phận Một cửa nghỉ ngày 02/01."},
            headers={"X-Hotline-Admin-Token": CAMPAIGN_TOKEN},
        )

        assert response.status_code == 202, response.text
        broadcast = "Thong bao: Bo phan Mot cua nghi ngay 02/01."
        assert replies_to(servers.esms.messages, "phone", joined, 2)[1] == broadcast
        deadline = time.monotonic() + TIMEOUT
        while runtime.store.campaign(response.json()["id"]).status != "finished":  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        texts_to_left = [i["text"] for i in servers.esms.messages.items if i["phone"] == left]
        assert broadcast not in texts_to_left


class TestScheduledCampaign:
    def test_run_campaign_waits_for_its_time(
        self, client: TestClient, servers: Servers, runtime: ChannelRuntime
    ) -> None:
        phone = phone_number()
        esms_get(client, phone, "DK")
        replies_to(servers.esms.messages, "phone", phone, 1)
        when = datetime.now(UTC) + timedelta(seconds=4)

        response = client.post(
            "/v1/channels/sms/campaigns",
            json={"text": "Lich tiep dan thang 1", "scheduled_at": when.isoformat()},
            headers={"X-Hotline-Admin-Token": CAMPAIGN_TOKEN},
        )

        assert response.status_code == 202, response.text
        broadcast = replies_to(servers.esms.messages, "phone", phone, 2)[1]
        delivered_at = next(
            i["at"] for i in servers.esms.messages.items
            if i["phone"] == phone and i["text"] == broadcast
        )  # fmt: skip
        assert broadcast == "Lich tiep dan thang 1"
        assert delivered_at >= time.monotonic() - (datetime.now(UTC) - when).total_seconds() - 0.5


class TestBadInputOnTheRealApp:
    def stored_rows(self, runtime: ChannelRuntime) -> int:
        from sqlalchemy import func, select

        from answer_service.channels.store import MessageRow

        with runtime.store.engine.connect() as connection:
            return int(connection.scalar(select(func.count(MessageRow.id))) or 0)

    def test_routes_are_mounted_by_create_app(self, client: TestClient) -> None:
        paths = set(client.get("/openapi.json").json()["paths"])  # the web chat is tested above

        assert {
            "/v1/channels/zalo/webhook",
            "/v1/channels/messenger/webhook",
            "/v1/channels/sms/inbound",
            "/v1/channels/sms/esms",
            "/v1/channels/sms/speedsms",
            "/v1/channels/sms/campaigns",
        } <= paths

    def test_forged_unsigned_and_malformed_store_nothing_in_postgres(
        self, client: TestClient, runtime: ChannelRuntime, servers: Servers
    ) -> None:
        before, sent_before = self.stored_rows(runtime), len(servers.zalo.messages.items)
        body = json.dumps(
            {
                "app_id": APP_ID,
                "event_name": "user_send_text",
                "timestamp": str(int(time.time() * 1000)),
                "sender": {"id": "1"},
                "message": {"text": "Giả mạo", "msg_id": "forged"},
            }
        ).encode()
        forged = hashlib.sha256(APP_ID.encode() + body + b"0" + OA_SECRET.encode()).hexdigest()

        answers = [
            client.post(
                "/v1/channels/zalo/webhook",
                content=body,
                headers={"X-ZEvent-Signature": f"mac={forged}"},
            ).status_code,
            client.post("/v1/channels/zalo/webhook", content=body).status_code,
            client.post(
                "/v1/channels/zalo/webhook",
                content=b"{oops",
                headers={"X-ZEvent-Signature": "mac=00"},
            ).status_code,
            client.post(
                "/v1/channels/messenger/webhook",
                content=body,
                headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
            ).status_code,
            client.post(
                "/v1/channels/zalo/webhook",
                content=b"x" * 70_000,
                headers={"X-ZEvent-Signature": "mac=00"},
            ).status_code,
        ]

        assert answers == [403, 401, 400, 403, 413]
        time.sleep(0.5)
        assert self.stored_rows(runtime) == before
        assert len(servers.zalo.messages.items) == sent_before
