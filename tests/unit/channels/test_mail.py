"""E-mail: RFC 2047 subjects, multipart bodies in several charsets, threading of replies."""

from __future__ import annotations

import email
import email.policy
import unicodedata
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest

from answer_service.channels.errors import MalformedWebhook
from answer_service.channels.inbox import Inbox, InlineDispatcher
from answer_service.channels.mail import build_reply, fetch_new_mail, parse_email, watch_mailbox
from answer_service.channels.store import ConversationStore
from answer_service.channels.text import cut_text, cut_utf8

SUBJECT = "Hỏi thủ tục đăng ký khai sinh cho con"


def mail(
    body: str,
    *,
    charset: str = "utf-8",
    subject: str = SUBJECT,
    html: str | None = None,
    message_id: str = "<q1@citizen.example>",
    references: str = "",
) -> bytes:
    outer = MIMEMultipart("alternative")
    outer["From"] = formataddr(("Nguyễn Văn Thử", "nguoi.thu@citizen.example"))
    outer["To"] = "1022@hotline.example"
    outer["Subject"] = Header(subject, "utf-8").encode()
    outer["Message-ID"] = message_id
    if references:
        outer["References"] = references
        outer["In-Reply-To"] = references.split()[-1]
    outer.attach(MIMEText(body, "plain", charset))
    if html is not None:
        outer.attach(MIMEText(html, "html", "utf-8"))
    return outer.as_bytes()


class TestParseEmail:
    def test_run_rfc2047_subject_and_utf8_body(self) -> None:
        raw = mail("Xin hỏi lệ phí khai sinh?")
        assert b"=?utf-8?" in raw.lower()  # the subject really is encoded on the wire

        parsed = parse_email(raw)

        assert parsed.subject == SUBJECT
        assert parsed.body == "Xin hỏi lệ phí khai sinh?"
        assert (parsed.from_name, parsed.from_address) == (
            "Nguyễn Văn Thử",
            "nguoi.thu@citizen.example",
        )
        assert parsed.thread_root == "<q1@citizen.example>"

    @pytest.mark.parametrize("charset", ["windows-1258", "utf-16", "iso-8859-1"])
    def test_run_other_charsets(self, charset: str) -> None:
        text = "Chào anh" if charset == "iso-8859-1" else "Xin hỏi thủ tục cấp đổi giấy phép"
        if charset == "windows-1258":
            # cp1258 spells tones with combining marks; the parser hands back NFC-comparable text.
            text = "Xin hoi thu tuc cap doi giay phep lai xe"

        parsed = parse_email(mail(text, charset=charset))

        assert unicodedata.normalize("NFC", parsed.body) == text

    def test_run_html_only_body_becomes_text(self) -> None:
        message = MIMEText("<p>Cho hỏi <b>khai sinh</b></p><script>x()</script>", "html", "utf-8")
        message["From"] = "a@citizen.example"
        message["Subject"] = "x"

        parsed = parse_email(message.as_bytes())

        assert "Cho hỏi" in parsed.body and "khai sinh" in parsed.body and "x()" not in parsed.body

    def test_run_quoted_reply_is_dropped_and_thread_root_kept(self) -> None:
        body = "Cảm ơn, cho hỏi thêm phí?\n\nOn Mon, 1 Dec 2026 Tổng đài wrote:\n> Trả lời cũ"
        references = "<q1@citizen.example> <r1@hotline.example>"

        parsed = parse_email(mail(body, message_id="<q2@citizen.example>", references=references))

        assert parsed.body == "Cảm ơn, cho hỏi thêm phí?"
        assert parsed.thread_root == "<q1@citizen.example>"
        assert parsed.in_reply_to == "<r1@hotline.example>"

    def test_unknown_charset_is_read_with_replacement_not_refused(self) -> None:
        raw = mail("Xin chao").replace(b'charset="utf-8"', b'charset="x-unknown-vn"')

        assert parse_email(raw).body == "Xin chao"

    def test_without_sender_raises(self) -> None:
        with pytest.raises(MalformedWebhook):
            parse_email(b"Subject: x\r\n\r\nbody")


class TestBuildReply:
    def test_run_threads_under_the_citizen_message(self) -> None:
        reply = build_reply(
            from_address="1022@hotline.example",
            to_address="nguoi.thu@citizen.example",
            subject=SUBJECT,
            text="Tổng đài 1022 đã nhận được thông tin của Quý khách, xin cảm ơn.",
            in_reply_to="<q2@citizen.example>",
            references=["<q1@citizen.example>", "<r1@hotline.example>"],
        )

        wire = reply.as_bytes()
        parsed = email.message_from_bytes(wire, policy=email.policy.default)
        assert b"=?utf-8?" in wire.lower()  # RFC 2047 on the wire
        assert str(parsed["Subject"]) == f"Re: {SUBJECT}"
        assert parsed["In-Reply-To"] == "<q2@citizen.example>"
        assert parsed["References"].split() == [
            "<q1@citizen.example>",
            "<r1@hotline.example>",
            "<q2@citizen.example>",
        ]
        assert parsed["Message-ID"].endswith("@hotline.example>")
        assert parsed.get_content_charset() == "utf-8"
        assert "xin cảm ơn" in parsed.get_content()

    def test_re_is_not_doubled(self) -> None:
        reply = build_reply(
            from_address="a@h.example",
            to_address="b@c.example",
            subject="Re: Hỏi",
            text="x",
            in_reply_to="",
            references=[],
        )

        assert reply["Subject"] == "Re: Hỏi"


class TestEmailInbox:
    def test_run_reply_to_our_answer_joins_the_same_conversation(
        self, store: ConversationStore
    ) -> None:
        processed: list[int] = []

        class Collect:
            def process(self, message_id: int) -> str:
                processed.append(message_id)
                return "ok"

        inbox = Inbox(store=store, dispatcher=InlineDispatcher(Collect()))
        first = inbox.receive_email(mail("Câu hỏi đầu"))
        assert first is not None
        conversation = store.find_conversation("email", "<q1@citizen.example>")
        assert conversation is not None
        store.record_outbound(
            conversation.id, kind="ack", text="x", lookup_key="email-out:<r9@hotline.example>"
        )

        # A client that sends only In-Reply-To (no References) still lands in the thread.
        raw = mail("Câu hỏi tiếp", message_id="<q3@citizen.example>")
        raw = raw.replace(b"Message-ID:", b"In-Reply-To: <r9@hotline.example>\nMessage-ID:", 1)
        second = inbox.receive_email(raw)
        again = inbox.receive_email(raw)

        assert second is not None and again is None  # the same Message-ID is stored once
        assert store.get_message(second).conversation.id == conversation.id  # type: ignore[union-attr]
        assert processed == [first, second]

    def test_auto_reply_is_not_answered(self, store: ConversationStore) -> None:
        inbox = Inbox(store=store, dispatcher=InlineDispatcher(None))  # type: ignore[arg-type]
        raw = mail("Tôi đang đi vắng").replace(
            b"Message-ID:", b"Auto-Submitted: auto-replied\nMessage-ID:", 1
        )

        assert inbox.receive_email(raw) is None


class FakeMailbox:
    def __init__(self, mails: list[bytes]) -> None:
        self.mails = {str(i).encode(): raw for i, raw in enumerate(mails, start=1)}
        self.seen: list[bytes] = []

    def unseen(self) -> list[tuple[bytes, bytes]]:
        return [(uid, raw) for uid, raw in self.mails.items() if uid not in self.seen]

    def mark_seen(self, uid: bytes) -> None:
        self.seen.append(uid)


class TestFetchNewMail:
    def test_unreadable_mail_is_logged_and_does_not_block_the_next(
        self, store: ConversationStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        taken: list[bytes] = []
        mailbox = FakeMailbox([b"Subject: no sender\r\n\r\nx", mail("Câu hỏi")])

        def handle(raw: bytes) -> None:
            parse_email(raw)
            taken.append(raw)

        count = fetch_new_mail(mailbox, handle)  # type: ignore[arg-type]

        assert count == 1 and len(taken) == 1
        assert mailbox.seen == [b"1", b"2"]
        assert "left in the mailbox unanswered" in caplog.text


class TestCutText:
    def test_cut_never_leaves_a_combining_mark_or_breaks_nfc(self) -> None:
        text = unicodedata.normalize("NFD", "Thủ tục hành chính " * 50)

        cut = cut_text(text, 101)

        assert len(cut) <= 101 and cut.endswith("…")
        assert cut == unicodedata.normalize("NFC", cut)
        assert not unicodedata.combining(cut[-2])

    def test_short_text_is_unchanged(self) -> None:
        assert cut_text("Xin chào", 10) == "Xin chào"

    def test_cut_utf8_keeps_whole_characters(self) -> None:
        assert cut_utf8("ệệệ", 7) == "ệệ"  # each is 3 bytes: 7 bytes hold two


class TestWatchMailbox:
    @pytest.mark.parametrize("offers_idle", [True, False])
    def test_run_waits_in_idle_when_offered_else_polls(self, offers_idle: bool) -> None:
        class Box(FakeMailbox):
            supports_idle = offers_idle
            idled: list[float] = []

            def idle(self, timeout_s: float) -> bool:
                self.idled.append(timeout_s)
                self.mails[b"9"] = mail("Thư mới", message_id="<new@citizen.example>")
                return True

        box = Box([mail("Thư đầu")])
        waits: list[float] = []
        handled: list[bytes] = []
        rounds = iter([False, False, False, True])

        def wait(seconds: float) -> None:
            waits.append(seconds)
            box.mails[b"9"] = mail("Thư mới", message_id="<new@citizen.example>")

        count = watch_mailbox(
            box,  # type: ignore[arg-type]
            handled.append,
            idle_s=300,
            poll_s=60,
            should_stop=lambda: next(rounds),
            wait=wait,
        )

        assert count == 2 and len(handled) == 2
        assert (box.idled, waits) == (([300], []) if offers_idle else ([], [60]))
