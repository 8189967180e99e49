"""Senders: how a reply leaves on each channel (chat platforms, web chat, SMS)."""

from __future__ import annotations

from typing import Any, Protocol

from answer_service.channels.sms.encoding import fit_sms
from answer_service.channels.sms.gateways import SmsGateway
from answer_service.channels.store import Conversation, StoredMessage
from answer_service.channels.text import cut_text


class TextClient(Protocol):
    """A chat platform's client: ``ZaloClient``, ``GraphClient`` (Messenger)."""

    def send_text(self, recipient: str, text: str) -> str: ...


class ChatSender:
    """Replies on a chat platform: the text and its link in one message, cut to the limit.

    The conversation's thread key is the platform's id of the citizen (Zalo user id,
    Messenger PSID).

    Args:
        client: The platform's client.
        max_chars: Longest message the platform takes.
    """

    def __init__(self, client: TextClient, *, max_chars: int = 2000) -> None:
        self.client = client
        self.max_chars = max_chars

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        full = f"{text}\n{link}" if link else text
        message_id = self.client.send_text(conversation.thread_key, cut_text(full, self.max_chars))
        return {"provider_message_id": message_id}


class WebChatSender:
    """Web chat replies are the stored outbound messages; the socket streams them from there."""

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        return {}


class SmsSender:
    """SMS replies: GSM-7 without diacritics (or UCS-2), within the configured segments.

    Args:
        gateway: The outbound gateway adapter.
        max_segments: Parts one reply may take.
        unicode: UCS-2 with diacritics instead of GSM-7.
    """

    def __init__(self, gateway: SmsGateway, *, max_segments: int, unicode: bool) -> None:
        self.gateway = gateway
        self.max_segments = max_segments
        self.unicode = unicode

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        sms = fit_sms(text, link=link, max_segments=self.max_segments, unicode=self.unicode)
        sms_id = self.gateway.send(conversation.thread_key, sms.text, unicode=sms.unicode)
        return {"provider_message_id": sms_id, "segments": sms.segments, "sent_text": sms.text}
