"""The webhook side: store what arrived, once, and queue its processing.

Webhooks must answer fast (Zalo waits about two seconds), so they only verify, parse, store and
queue; ``Inbox`` does the storing and queueing for every channel. A ``Dispatcher`` queues a
stored message's id: ``CeleryDispatcher`` in production, ``InlineDispatcher`` (process at once,
in the caller's thread) in unit tests and for a single-process deployment.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from answer_service.channels.errors import ChannelRateLimited, MalformedWebhook
from answer_service.channels.mail import parse_email
from answer_service.channels.sms.gateways import InboundSms
from answer_service.channels.store import ConversationStore, utcnow
from answer_service.channels.text import cut_text
from tickets.intake import Channel

logger = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def submit(self, message_id: int) -> None:
        """Queue the processing of a stored incoming message."""


class MessageProcessorLike(Protocol):
    def process(self, message_id: int) -> str: ...


class InlineDispatcher:
    """Processes at once in the calling thread (unit tests, single-process setups)."""

    def __init__(self, processor: MessageProcessorLike) -> None:
        self.processor = processor
        self.outcomes: dict[int, str] = {}

    def submit(self, message_id: int) -> None:
        self.outcomes[message_id] = self.processor.process(message_id)


@dataclass
class Inbox:
    """Stores incoming messages once and queues them.

    Args:
        store: The conversation store.
        dispatcher: Where stored message ids go.
        max_inbound_chars: Longer texts are cut (safely) before they are stored.
        sms_rate_limit: Messages one number may send within ``sms_rate_window_s``.
        sms_rate_window_s: The SMS rate-limit window.
        webchat_rate_limit: Messages one web-chat session may send within the window.
        webchat_rate_window_s: The web-chat rate-limit window.
    """

    store: ConversationStore
    dispatcher: Dispatcher
    max_inbound_chars: int = 4000
    sms_rate_limit: int = 10
    sms_rate_window_s: int = 600
    webchat_rate_limit: int = 30
    webchat_rate_window_s: int = 600

    def receive(
        self,
        *,
        channel: Channel,
        thread_key: str,
        text: str,
        dedupe_key: str | None,
        contact_name: str | None = None,
        contact_address: str | None = None,
        subject: str | None = None,
        kind: str = "text",
        meta: dict[str, object] | None = None,
    ) -> int | None:
        """Store and queue one message; None when it is a redelivery of a stored one."""
        if kind == "text" and not text.strip():
            raise MalformedWebhook("message has no text")
        cut = cut_text(text, self.max_inbound_chars)
        if len(cut) < len(unicodedata.normalize("NFC", text)):  # NFC alone shortens some texts
            logger.warning(
                "%s message cut from %d to %d characters", channel.value, len(text), len(cut)
            )
        message_id = self.store.record_inbound(
            channel=channel.value,
            thread_key=thread_key,
            text=cut,
            dedupe_key=dedupe_key,
            contact_name=contact_name,
            contact_address=contact_address,
            subject=subject,
            kind=kind,
            meta=dict(meta or {}),
        )
        if message_id is not None:
            self.dispatcher.submit(message_id)
        return message_id

    def _check_rate(self, channel: Channel, thread_key: str, limit: int, window_s: int) -> None:
        since = utcnow() - timedelta(seconds=window_s)
        recent = self.store.count_inbound_since(channel.value, thread_key, since)
        if recent >= limit:
            logger.warning(
                "%s flood: %d messages within %d s in one conversation",
                channel.value,
                recent,
                window_s,
            )
            raise ChannelRateLimited(
                f"more than {limit} messages within {window_s} s from this sender; try again later"
            )

    def receive_webchat(self, session: str, text: str, client_id: str) -> int | None:
        """Store a web-chat message unless its session is over the rate limit (nothing stored).

        A widget stuck in a loop (or a script) would otherwise queue an answer and a ticket
        entry per frame.
        """
        self._check_rate(
            Channel.WEB_CHAT, session, self.webchat_rate_limit, self.webchat_rate_window_s
        )
        return self.receive(
            channel=Channel.WEB_CHAT,
            thread_key=session,
            text=text,
            dedupe_key=f"{session}:{client_id}",
        )

    def receive_sms(self, sms: InboundSms) -> int | None:
        """Store an SMS unless its number is over the rate limit (429, nothing stored)."""
        self._check_rate(Channel.SMS, sms.sender, self.sms_rate_limit, self.sms_rate_window_s)
        return self.receive(
            channel=Channel.SMS,
            thread_key=sms.sender,
            text=sms.text,
            dedupe_key=sms.message_id,
            contact_address=sms.sender,
        )

    def receive_email(self, raw: bytes) -> int | None:
        """Store an e-mail in its thread's conversation; auto-replies and lists are dropped."""
        mail = parse_email(raw)
        if mail.auto_submitted:
            logger.info("automatic e-mail (auto-reply or list) not answered")
            return None
        conversation = None
        for reference in [mail.in_reply_to, *reversed(mail.references)]:
            if reference:
                conversation = self.store.find_conversation_by_key(f"email-out:{reference}")
                if conversation is not None:
                    break
        thread_key = conversation.thread_key if conversation else mail.thread_root
        text = mail.body or mail.subject
        if mail.subject and mail.body and conversation is None:
            text = f"{mail.subject}\n{mail.body}"
        return self.receive(
            channel=Channel.EMAIL,
            thread_key=thread_key,
            text=text,
            dedupe_key=mail.message_id,
            contact_name=mail.from_name or None,
            contact_address=mail.from_address,
            subject=mail.subject,
            meta={
                "message_id": mail.message_id,
                "references": mail.references,
                "subject": mail.subject,
            },
        )
