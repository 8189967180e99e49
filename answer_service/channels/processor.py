"""What happens to every incoming message, whatever the channel.

1. Acknowledge at once ("Tổng đài 1022 đã nhận được thông tin …"), once per message even when
   the task runs again.
2. If the conversation already has an open ticket, an operator is on it: append the message to
   that ticket and say so.
3. Otherwise ask the answer service. A confident answer goes back with its sources (a link per
   cited procedure). Emergencies get the number to call, and a ticket; complaints, incident
   reports and questions the service cannot answer open (or extend) a ticket and hand the
   conversation to an operator. Out-of-domain questions get the service's explanation. A
   question that fits a few procedures about equally gets them listed by code; a reply with a
   code, or with a number from that list ("2"), is answered. A message with no words to search
   ("???", an emoji) is asked for its question.

SMS first goes through the keyword grammar (``sms.grammar``); only free text takes the path
above. The processor is plain synchronous code: the Celery task calls it, unit tests call it
with fakes, and it never touches HTTP or a provider directly (the senders do).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from answer_service.channels.errors import ChannelError
from answer_service.channels.sms.encoding import strip_diacritics
from answer_service.channels.sms.grammar import HELP_TEXT, SmsCommand, parse_sms
from answer_service.channels.sms.onestop import DossierLookup
from answer_service.channels.store import Conversation, ConversationStore, StoredMessage
from answer_service.channels.text import (
    FOLLOW_TEXT,
    HANDOVER_TEXT,
    NO_QUESTION_TEXT,
    OPERATOR_FOLLOWUP_TEXT,
    answer_with_citations,
    procedure_link,
)
from answer_service.compose import compose_answer
from answer_service.routing import Route
from answer_service.schemas import AnswerOut, FiltersIn, SearchOut
from ingestion.models import Procedure
from search.errors import ErrorCode, SearchError
from tickets.intake import (
    Channel,
    Contact,
    ContactRequest,
    EntryKind,
    TicketIntake,
    TicketKind,
    Urgency,
)

logger = logging.getLogger(__name__)


class Answerer(Protocol):
    """The part of ``answer_service.service.AnswerService`` the channels use."""

    def answer(self, question: str) -> AnswerOut: ...

    def search(self, query: str, *, top_k: int, filters: FiltersIn | None) -> SearchOut: ...

    def procedure(self, code: str) -> Procedure: ...


class ChannelSender(Protocol):
    """Sends a text into one conversation through its provider."""

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        """Send; returns what to keep about the sent message (provider ids, Message-ID …)."""


# A reply that picks from a list the service sent: "2", "số 2", "so 2 ạ".
_CHOICE = re.compile(r"^\s*(?:s[oố]\s*)?([1-9])\s*[.)]?\s*(?:[aạ]\s*)?$", re.IGNORECASE)

_ROUTE_KINDS = {
    Route.COMPLAINT.value: TicketKind.COMPLAINT,
    Route.INCIDENT_REPORT.value: TicketKind.INCIDENT,
    Route.EMERGENCY_113.value: TicketKind.EMERGENCY_FORWARDED,
    Route.EMERGENCY_114.value: TicketKind.EMERGENCY_FORWARDED,
    Route.EMERGENCY_115.value: TicketKind.EMERGENCY_FORWARDED,
}


def contact_of(conversation: Conversation) -> Contact:
    channel = conversation.channel
    if channel == Channel.EMAIL.value:
        return Contact(name=conversation.contact_name, email=conversation.contact_address)
    if channel == Channel.SMS.value:
        return Contact(phone=conversation.thread_key)
    if channel in (Channel.ZALO.value, Channel.FACEBOOK.value):
        return Contact(name=conversation.contact_name, social_id=conversation.thread_key)
    return Contact(name=conversation.contact_name)


def needs_acknowledgement(message: StoredMessage) -> bool:
    """Whether a message gets the acknowledgement: not a follow, not an SMS keyword.

    An SMS keyword's reply comes at once and is itself the acknowledgement; a second SMS would
    only cost the citizen's attention and the hotline's money.
    """
    if message.kind != "text":
        return False
    if message.conversation.channel == Channel.SMS.value:
        return parse_sms(message.text).command is SmsCommand.QUESTION
    return True


@dataclass
class Acknowledger:
    """Sends the acknowledgement of a message exactly once, even from two tasks at once.

    The claim (``ack_sent_at`` set where it was empty) comes before the send, so two workers
    never both send it; a failed send releases the claim for the retry.
    """

    store: ConversationStore
    senders: dict[str, ChannelSender]
    ack_text: str

    def acknowledge(self, message_id: int, *, message: StoredMessage | None = None) -> bool:
        """Acknowledge a stored incoming message; False when not needed or already done.

        Args:
            message_id: The stored message.
            message: The message when the caller has already read it.
        """
        message = message or self.store.get_message(message_id)
        if message is None or message.direction != "in" or not needs_acknowledgement(message):
            return False
        if not self.store.claim_acknowledgement(message_id):
            return False
        conversation = message.conversation
        try:
            meta = self.senders[conversation.channel].send(
                conversation, self.ack_text, reply_to=message
            )
        except Exception:
            self.store.release_acknowledgement(message_id)
            raise
        lookup = meta.pop("lookup_key", None)
        self.store.record_outbound(
            conversation.id, kind="ack", text=self.ack_text, meta=meta, lookup_key=lookup
        )
        return True


@dataclass
class MessageProcessor:
    """Acknowledge, answer or hand over one stored incoming message.

    Args:
        store: The conversation store.
        answerer: The answer service.
        intake: The ticket system's intake.
        senders: One sender per channel value ("zalo", "facebook", "email", "web_chat", "sms").
        ack_text: The acknowledgement.
        link_base: Procedure links are ``link_base + code`` when a citation has no URL.
        dossiers: The one-stop adapter for ``HS`` SMS; None answers that it is not available.
        max_chars: Per-channel text limits for answers.
        claim_lease_s: How long a task's claim on a message holds against other copies; longer
            than the task's time limit.
    """

    store: ConversationStore
    answerer: Answerer
    intake: TicketIntake
    senders: dict[str, ChannelSender]
    ack_text: str
    link_base: str
    dossiers: DossierLookup | None = None
    max_chars: dict[str, int] = field(default_factory=dict)
    claim_lease_s: float = 180.0

    def process(self, message_id: int) -> str:
        """Process one incoming message once; the outcome ("answered", "handover", …)."""
        message = self.store.get_message(message_id)
        if message is None or message.direction != "in":
            raise ChannelError(
                f"no incoming message with id {message_id}", error_code=ErrorCode.NOT_FOUND
            )
        if message.processed_at is not None:
            logger.info("message %s already processed (%s)", message_id, message.outcome)
            return message.outcome or "processed"
        if not self.store.claim_processing(message_id, lease_s=self.claim_lease_s):
            logger.info("message %s is being processed by another task", message_id)
            return "in_progress"
        try:
            outcome = self._process(message)
        except BaseException:
            self.store.release_processing(message_id)
            raise
        self.store.mark_processed(message_id, outcome)
        logger.info("%s message %s: %s", message.conversation.channel, message_id, outcome)
        return outcome

    def _process(self, message: StoredMessage) -> str:
        if message.kind == "follow":
            self._send(message, FOLLOW_TEXT, kind="greeting")
            outcome = "greeted"
        elif message.conversation.channel == Channel.SMS.value:
            outcome = self._process_sms(message)
        else:
            self._acknowledge(message)
            outcome = self._answer_or_hand_over(message)
        return outcome

    def _send(
        self,
        message: StoredMessage,
        text: str,
        *,
        kind: str,
        link: str = "",
        keep: dict[str, Any] | None = None,
    ) -> None:
        conversation = message.conversation
        sender = self.senders[conversation.channel]
        meta: dict[str, Any] = dict(sender.send(conversation, text, link=link, reply_to=message))
        meta.update(keep or {})
        lookup = meta.pop("lookup_key", None)
        full = f"{text} {link}".strip() if link and link not in text else text
        self.store.record_outbound(
            conversation.id, kind=kind, text=full, meta=meta, lookup_key=lookup
        )

    def _acknowledge(self, message: StoredMessage) -> None:
        if message.ack_sent_at is None:
            acknowledger = Acknowledger(self.store, self.senders, self.ack_text)
            acknowledger.acknowledge(message.id, message=message)

    def _request(self, message: StoredMessage, answer: AnswerOut | None) -> ContactRequest:
        conversation = message.conversation
        route = answer.route if answer else ""
        emergency = route.startswith("emergency")
        return ContactRequest(
            channel=Channel(conversation.channel),
            thread_key=conversation.thread_key,
            content=message.text,
            contact=contact_of(conversation),
            kind=_ROUTE_KINDS.get(route, TicketKind.QUESTION),
            urgency=Urgency.URGENT if emergency else Urgency.NORMAL,
            actor=f"system:{conversation.channel}",
            received_at=message.created_at,
        )

    def _answer_or_hand_over(self, message: StoredMessage) -> str:
        conversation = message.conversation
        channel = Channel(conversation.channel)
        open_ticket = self.intake.find_open(channel, conversation.thread_key)
        if open_ticket is not None:
            ref = self.intake.open_or_append(self._request(message, None))
            text = OPERATOR_FOLLOWUP_TEXT.format(number=ref.number)
            self._send(message, text, kind="handover")
            return "appended"
        question = self._chosen_option(message) or message.text
        try:
            answer = self.answerer.answer(question)
        except SearchError as exc:
            if exc.error_code is not ErrorCode.INVALID_INPUT:
                raise
            # An emoji, "???", a sticker's text: nothing to search for, nothing to hand over.
            self._send(message, NO_QUESTION_TEXT, kind="guidance")
            return "no_question"
        limit = self.max_chars.get(conversation.channel, 2000)
        if answer.answered:
            if channel is Channel.SMS:
                link = self._first_link(answer)
                self._send(message, answer.text, kind="answer", link=link)
            else:
                text = answer_with_citations(answer, link_base=self.link_base, limit=limit)
                self._send(message, text, kind="answer")
            return "answered"
        if answer.options:
            # The question fits several procedures about equally: ask, rather than guess. A
            # reply with a code is answered directly (the code is looked up exactly).
            if channel is Channel.SMS:
                listed = sms_options([(o.code, o.name) for o in answer.options])
                text = f"{listed}. Nhan MA <ma> de xem thu tuc dung voi truong hop cua ban."
            else:
                text = answer.text
            codes = [o.code for o in answer.options]
            self._send(message, text, kind="clarification", keep={"options": codes})
            return "clarified"
        if answer.route == Route.OUT_OF_DOMAIN.value:
            self._send(message, answer.text, kind="guidance")
            return "out_of_domain"
        ref = self.intake.open_or_append(self._request(message, answer))
        self.store.hand_to_operator(conversation.id, ticket_id=ref.id, ticket_number=ref.number)
        handover = HANDOVER_TEXT.format(number=ref.number)
        text = handover if answer.route == Route.PROCEDURE.value else f"{answer.text}\n{handover}"
        self._send(message, text, kind="handover")
        self.intake.add_entry(
            ref.id, kind=EntryKind.MESSAGE_OUT, text=text, actor=f"system:{channel.value}"
        )
        return "emergency" if answer.route.startswith("emergency") else "handover"

    def _chosen_option(self, message: StoredMessage) -> str:
        """The code a reply such as "2" or "số 2" picks from the list sent just before it."""
        picked = _CHOICE.match(message.text)
        if picked is None:
            return ""
        earlier = [
            m
            for m in self.store.messages(message.conversation.id, direction="out")
            if m.id < message.id and m.kind != "ack"
        ]
        if not earlier or earlier[-1].kind != "clarification":
            return ""
        codes = earlier[-1].meta.get("options", [])
        number = int(picked.group(1))
        return str(codes[number - 1]) if 1 <= number <= len(codes) else ""

    def _first_link(self, answer: AnswerOut) -> str:
        for citation in answer.citations:
            return citation.source_url or procedure_link(self.link_base, citation.code)
        return ""

    # SMS ---------------------------------------------------------------------------------

    def _process_sms(self, message: StoredMessage) -> str:
        parsed = parse_sms(message.text)
        phone = message.conversation.thread_key
        if parsed.command is SmsCommand.QUESTION:
            self._acknowledge(message)
            return self._answer_or_hand_over(message)
        if parsed.command is SmsCommand.OPT_OUT:
            self.store.set_opt_in(phone, False)
            text = "Ban da ngung nhan tin tu Tong dai 1022. Nhan DANGKY de nhan tin lai."
        elif parsed.command is SmsCommand.OPT_IN:
            self.store.set_opt_in(phone, True)
            text = "Ban da dang ky nhan tin tu Tong dai 1022. Nhan TUCHOI de ngung nhan tin."
        elif parsed.command is SmsCommand.HELP:
            text = HELP_TEXT
        elif parsed.command is SmsCommand.CODE:
            text, link = self._sms_procedure(parsed.argument)
            self._send(message, text, kind="keyword", link=link)
            return f"sms_{parsed.command.value}"
        elif parsed.command is SmsCommand.LOOKUP:
            text, link = self._sms_lookup(parsed.argument)
            self._send(message, text, kind="keyword", link=link)
            return f"sms_{parsed.command.value}"
        else:
            text = self._sms_dossier(parsed.argument)
        self._send(message, text, kind="keyword")
        return f"sms_{parsed.command.value}"

    def _sms_procedure(self, code: str) -> tuple[str, str]:
        code = code.split()[0].rstrip(".,;")
        try:
            procedure = self.answerer.procedure(code)
        except SearchError as exc:
            if exc.error_code is ErrorCode.NOT_FOUND:
                return f"Khong co thu tuc ma {code}. Nhan TTHC <tu khoa> de tim thu tuc.", ""
            raise
        composed = compose_answer(procedure, procedure.name)
        link = procedure.source_url or procedure_link(self.link_base, procedure.code)
        return f"{procedure.code} {procedure.name}: {composed.short_text}", link

    def _sms_lookup(self, words: str) -> tuple[str, str]:
        result = self.answerer.search(words, top_k=6, filters=None)
        hits = [h for h in result.hits if h.doc_kind == "procedure" and h.code][:3]
        if not hits:
            return (
                f"Khong tim thay thu tuc cho '{strip_diacritics(words)[:40]}'. "
                "Nhan cau hoi day du hoac goi 1022.",
                "",
            )
        listed = "; ".join(f"{h.code} {h.title}" for h in hits)
        link = hits[0].source_url or procedure_link(self.link_base, hits[0].code)
        return f"{listed}. Nhan MA <ma> de xem chi tiet.", link

    def _sms_dossier(self, number: str) -> str:
        number = number.split()[0]
        if self.dossiers is None:
            return "Tra cuu ho so chua san sang. Vui long goi 1022."
        status = self.dossiers.dossier_status(number)
        if status is None:
            return f"Khong tim thay ho so {number}. Kiem tra lai so ho so tren phieu hen."
        due = f", hen tra {status.due_date}" if status.due_date else ""
        return f"Ho so {status.number} ({status.procedure}): {status.status}{due}."


def sms_options(options: list[tuple[str, str]]) -> str:
    """Procedures offered by SMS: the words their names share once, then each code with the
    words that set it apart.

    Siblings' names often share a long head ("Đăng ký đất đai, tài sản gắn liền với đất, cấp
    Giấy chứng nhận … lần đầu đối với") and differ at the end ("tổ chức đang sử dụng đất" /
    "hộ gia đình, cá nhân"); listed in full, two of them filled the two segments of an SMS and
    the words that tell them apart were cut off.
    """
    names = [name.split() for _, name in options]
    shortest = min((len(words) for words in names), default=0)
    shared = 0
    while shared < shortest and len({words[shared].lower() for words in names}) == 1:
        shared += 1
    # A name that is all head ("Đăng ký kết hôn" beside "… kết hôn lưu động") has no tail.
    if len(names) < 2 or shared < 3 or shared == shortest:
        return "; ".join(f"{code} {name}" for code, name in options)
    head = " ".join(names[0][:shared]).rstrip(",;:")
    tails = "; ".join(
        f"{code} ...{' '.join(words[shared:])}"
        for (code, _), words in zip(options, names, strict=True)
    )
    return f"{head}: {tails}"
