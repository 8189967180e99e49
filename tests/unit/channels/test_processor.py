"""The processor: acknowledgement, automatic answer or hand-over, SMS keywords, idempotency."""

from __future__ import annotations

import pytest

from answer_service.channels.errors import ProviderError
from answer_service.channels.processor import Acknowledger, sms_options
from answer_service.channels.sms.encoding import fit_sms
from answer_service.channels.store import Conversation, ConversationStore, StoredMessage
from tests.unit.channels.conftest import ACK, LINK_BASE, Harness
from tickets.intake import Channel, EntryKind, TicketKind, Urgency


def receive(store: ConversationStore, channel: Channel, thread: str, text: str, key: str) -> int:
    message_id = store.record_inbound(
        channel=channel.value, thread_key=thread, text=text, dedupe_key=key
    )
    assert message_id is not None
    return message_id


class BrokenSender:
    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, str]:
        raise ProviderError("provider down")


class TestMessageProcessor:
    def test_run_confident_question_acknowledged_then_answered_with_link(
        self, harness: Harness
    ) -> None:
        message = receive(
            harness.store, Channel.ZALO, "4368496045530239786", "Lệ phí khai sinh?", "m1"
        )

        outcome = harness.processor.process(message)

        assert outcome == "answered"
        (_, ack, _), (_, answer, _) = harness.sender.sent
        assert ack == ACK
        assert "miễn phí" in answer
        assert f"{LINK_BASE}1.900100" in answer and "mã 1.900100" in answer
        assert harness.intake.tickets == {}
        conversation = harness.store.find_conversation("zalo", "4368496045530239786")
        assert conversation is not None and conversation.mode == "bot"
        kinds = [m.kind for m in harness.store.messages(conversation.id)]
        assert kinds == ["text", "ack", "answer"]

    def test_run_unanswerable_question_opens_ticket_and_hands_over(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.FACEBOOK, "psid-1", "Xin hỏi về con đường", "m1")

        outcome = harness.processor.process(message)

        assert outcome == "handover"
        [ticket] = harness.intake.tickets.values()
        request = ticket["request"]
        assert (request.channel, request.thread_key, request.kind) == (
            Channel.FACEBOOK,
            "psid-1",
            TicketKind.QUESTION,
        )
        assert request.contact.social_id == "psid-1"
        assert "1022-2026-000001" in harness.sender.sent[-1][1]
        assert harness.intake.entries[-1][1] is EntryKind.MESSAGE_OUT
        conversation = harness.store.find_conversation("facebook", "psid-1")
        assert conversation is not None
        assert (conversation.mode, conversation.ticket_number) == ("operator", "1022-2026-000001")

    def test_run_next_message_appends_to_open_ticket_without_auto_answer(
        self, harness: Harness
    ) -> None:
        first = receive(harness.store, Channel.EMAIL, "<a@x>", "Câu hỏi khó", "k1")
        harness.processor.process(first)
        second = receive(harness.store, Channel.EMAIL, "<a@x>", "Còn khai sinh thì sao?", "k2")

        outcome = harness.processor.process(second)

        assert outcome == "appended"
        assert len(harness.intake.tickets) == 1
        assert (1, EntryKind.MESSAGE_IN, "Còn khai sinh thì sao?") in harness.intake.entries
        assert harness.answerer.questions == ["Câu hỏi khó"]  # no auto-answer once handed over

    def test_run_twice_processes_once(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.WEB_CHAT, "session-abc", "khai sinh", "c1")

        assert harness.processor.process(message) == "answered"
        assert harness.processor.process(message) == "answered"

        assert len(harness.sender.sent) == 2  # one ack, one answer
        assert len(harness.answerer.questions) == 1

    def test_run_acknowledgement_is_not_repeated_after_a_failed_answer(
        self, harness: Harness
    ) -> None:
        message = receive(harness.store, Channel.ZALO, "1", "khai sinh", "m1")
        assert harness.store.claim_acknowledgement(message)

        harness.processor.process(message)

        assert [text for _, text, _ in harness.sender.sent].count(ACK) == 0

    def test_run_acknowledger_sends_once_and_releases_a_failed_claim(
        self, harness: Harness
    ) -> None:
        message = receive(harness.store, Channel.ZALO, "5", "khai sinh", "m1")
        failing = Acknowledger(harness.store, {"zalo": BrokenSender()}, ACK)
        acknowledger = Acknowledger(harness.store, harness.processor.senders, ACK)

        with pytest.raises(ProviderError):
            failing.acknowledge(message)
        first, second = acknowledger.acknowledge(message), acknowledger.acknowledge(message)
        harness.processor.process(message)

        assert (first, second) == (True, False)
        assert [text for _, text, _ in harness.sender.sent].count(ACK) == 1

    def test_run_emergency_gets_number_and_urgent_ticket(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.ZALO, "2", "Nhà bên cạnh đang cháy", "m1")

        assert harness.processor.process(message) == "emergency"

        [ticket] = harness.intake.tickets.values()
        assert ticket["request"].kind is TicketKind.EMERGENCY_FORWARDED
        assert ticket["request"].urgency is Urgency.URGENT
        assert "114" in harness.sender.sent[-1][1]

    def test_run_out_of_domain_is_explained_without_ticket(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.ZALO, "3", "Kết quả bóng đá hôm nay", "m1")

        assert harness.processor.process(message) == "out_of_domain"
        assert harness.intake.tickets == {}

    def test_run_question_fitting_two_procedures_asks_which_without_ticket(
        self, harness: Harness
    ) -> None:
        message = receive(harness.store, Channel.ZALO, "5", "Làm hộ chiếu ở đâu?", "m1")

        assert harness.processor.process(message) == "clarified"

        assert harness.intake.tickets == {}
        (_, ack, _), (_, asked, _) = harness.sender.sent
        assert ack == ACK and "1.900201" in asked and "1.900202" in asked
        conversation = harness.store.find_conversation("zalo", "5")
        assert conversation is not None and conversation.mode == "bot"
        assert [m.kind for m in harness.store.messages(conversation.id)][-1] == "clarification"

    def test_run_a_number_replying_to_the_list_picks_that_procedure(self, harness: Harness) -> None:
        asked = receive(harness.store, Channel.ZALO, "6", "Làm hộ chiếu ở đâu?", "m1")
        assert harness.processor.process(asked) == "clarified"

        picked = receive(harness.store, Channel.ZALO, "6", "số 2 ạ", "m2")
        harness.processor.process(picked)

        assert harness.answerer.questions[-1] == "1.900202"

    def test_run_a_number_without_a_list_before_it_is_a_question(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.ZALO, "7", "2", "m1")

        assert harness.processor.process(message) == "handover"
        assert harness.answerer.questions == ["2"]

    @pytest.mark.parametrize("text", ["???", "👍", "..."])
    def test_run_a_message_without_words_is_asked_for_its_question(
        self, harness: Harness, text: str
    ) -> None:
        message = receive(harness.store, Channel.FACEBOOK, "8", text, "m1")

        assert harness.processor.process(message) == "no_question"
        assert "chưa nhận được câu hỏi" in harness.sender.sent[-1][1]
        assert harness.intake.tickets == {}

    def test_run_follow_event_is_greeted(self, harness: Harness) -> None:
        message_id = harness.store.record_inbound(
            channel="zalo", thread_key="4", text="", dedupe_key="follow:4:1", kind="follow"
        )
        assert message_id is not None

        assert harness.processor.process(message_id) == "greeted"
        assert "Cảm ơn Quý khách đã quan tâm" in harness.sender.sent[0][1]


class TestSmsKeywords:
    def test_run_opt_out_then_opt_in(self, harness: Harness) -> None:
        phone = "0900000001"
        assert harness.processor.process(receive(harness.store, Channel.SMS, phone, "DK", "1"))
        assert harness.store.is_opted_in(phone)

        outcome = harness.processor.process(
            receive(harness.store, Channel.SMS, phone, "từ chối", "2")
        )

        assert outcome == "sms_opt_out"
        assert not harness.store.is_opted_in(phone)
        assert "ngung nhan tin" in harness.sender.sent[-1][1]

    def test_run_lookup_lists_codes_with_link(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.SMS, "0900000002", "tthc  KHAI SINH", "1")

        assert harness.processor.process(message) == "sms_lookup"

        [(_, text, link)] = harness.sender.sent  # the reply itself is the acknowledgement
        assert "1.900100" in text and "MA <ma>" in text
        assert link == f"{LINK_BASE}1.900100"

    def test_run_unknown_code_says_so(self, harness: Harness) -> None:
        message = receive(harness.store, Channel.SMS, "0900000003", "MA 9.999999", "1")

        assert harness.processor.process(message) == "sms_code"
        assert "Khong co thu tuc ma 9.999999" in harness.sender.sent[0][1]

    def test_run_dossier_status(self, harness: Harness) -> None:
        phone = "0900000004"
        found = receive(harness.store, Channel.SMS, phone, "hs 000.00.12.H99-260101-0001", "1")
        missing = receive(harness.store, Channel.SMS, phone, "HS 000.00.12.H99-999999-9999", "2")

        harness.processor.process(found)
        harness.processor.process(missing)

        assert "Đang xử lý" in harness.sender.sent[0][1]
        assert "2026-12-20" in harness.sender.sent[0][1]
        assert "Khong tim thay ho so" in harness.sender.sent[1][1]

    def test_run_sms_fitting_two_procedures_lists_codes_to_text_back(
        self, harness: Harness
    ) -> None:
        message = receive(harness.store, Channel.SMS, "0900000006", "làm hộ chiếu", "1")

        assert harness.processor.process(message) == "clarified"

        text = harness.sender.sent[-1][1]
        assert "1.900201 Cấp hộ chiếu thử nghiệm; 1.900202 Cấp lại hộ chiếu thử nghiệm" in text
        assert "Nhan MA <ma>" in text

    def test_run_free_text_sms_is_acknowledged_and_answered(self, harness: Harness) -> None:
        message = receive(
            harness.store, Channel.SMS, "0900000005", "lam khai sinh mat bao lau", "1"
        )

        assert harness.processor.process(message) == "answered"

        assert harness.sender.sent[0][1] == ACK
        _, _, link = harness.sender.sent[1]
        assert link == f"{LINK_BASE}1.900100"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            [
                ("1.012753", "Đăng ký đất đai lần đầu đối với tổ chức đang sử dụng đất"),
                ("1.013978", "Đăng ký đất đai lần đầu đối với hộ gia đình, cá nhân"),
            ],
            "Đăng ký đất đai lần đầu đối với: 1.012753 ...tổ chức đang sử dụng đất; "
            "1.013978 ...hộ gia đình, cá nhân",
        ),
        # Too little in common to be worth saying once.
        ([("1", "Cấp hộ chiếu"), ("2", "Cấp lại hộ chiếu")], "1 Cấp hộ chiếu; 2 Cấp lại hộ chiếu"),
        # One name is all head: listed in full rather than cut inside a word.
        (
            [("1", "Thủ tục đăng ký kết hôn"), ("2", "Thủ tục đăng ký kết hôn lưu động")],
            "1 Thủ tục đăng ký kết hôn; 2 Thủ tục đăng ký kết hôn lưu động",
        ),
        ([("1", "Cấp hộ chiếu")], "1 Cấp hộ chiếu"),
    ],
)
def test_sms_options_say_the_shared_words_once(
    options: list[tuple[str, str]], expected: str
) -> None:
    assert sms_options(options) == expected


def test_two_long_siblings_fit_an_sms_with_what_sets_them_apart() -> None:
    head = (
        "Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận quyền sử dụng đất, "
        "quyền sở hữu tài sản gắn liền với đất lần đầu đối với"
    )
    listed = sms_options(
        [("1.012753", f"{head} tổ chức đang sử dụng đất"), ("1.013978", f"{head} hộ gia đình")]
    )
    sms = fit_sms(
        f"{listed}. Nhan MA <ma> de xem thu tuc dung voi truong hop cua ban.",
        link="",
        max_segments=2,
        unicode=False,
    )
    assert "to chuc dang su dung dat" in sms.text and "ho gia dinh" in sms.text
