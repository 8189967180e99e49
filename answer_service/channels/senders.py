"""Senders of the channels that need no provider module of their own: web chat and SMS."""

from __future__ import annotations

from typing import Any

from answer_service.channels.sms.encoding import fit_sms
from answer_service.channels.sms.gateways import SmsGateway
from answer_service.channels.store import Conversation, StoredMessage


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
