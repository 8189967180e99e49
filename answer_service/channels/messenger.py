"""Facebook Messenger: the verification handshake, signed message events, the Send API.

Meta signs every delivery with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
with the app secret>``. The body must be verified as received, before any JSON parsing, because
re-serialising changes the bytes (Vietnamese text arrives as ``\\u`` escapes). Echoes of the
page's own messages (``message.is_echo``) and events other than text messages are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from answer_service.channels.errors import (
    ForgedWebhook,
    MalformedWebhook,
    ProviderError,
    UnsignedWebhook,
)

logger = logging.getLogger(__name__)


def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_handshake(
    mode: str | None, token: str | None, challenge: str | None, *, expected: str
) -> str:
    """The challenge to echo when the subscription request carries our verify token."""
    if mode is None or token is None or challenge is None:
        raise MalformedWebhook("hub.mode, hub.verify_token and hub.challenge are required")
    if mode != "subscribe" or not expected or not hmac.compare_digest(token, expected):
        raise ForgedWebhook("verify token does not match")
    return challenge


@dataclass(frozen=True)
class MessengerMessage:
    psid: str
    text: str
    mid: str
    timestamp_ms: int


def verify_signature(body: bytes, header: str | None, *, secret: str) -> None:
    if not header:
        raise UnsignedWebhook("missing X-Hub-Signature-256")
    if not secret:
        raise ForgedWebhook("Messenger app secret is not configured")
    if not hmac.compare_digest(header.strip().lower(), hub_signature(secret, body)):
        raise ForgedWebhook("X-Hub-Signature-256 does not match")


def parse_events(body: bytes) -> tuple[list[MessengerMessage], int]:
    """Text messages in a verified delivery, and how many events were ignored."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entry", []), list):
        raise MalformedWebhook("body is not a Messenger delivery")
    if data.get("object") != "page":
        logger.warning("Messenger delivery for object %r ignored", str(data.get("object"))[:30])
        return [], 1
    messages: list[MessengerMessage] = []
    ignored = 0
    for entry in data.get("entry", []):
        events = entry.get("messaging", []) if isinstance(entry, dict) else []
        for event in events if isinstance(events, list) else []:
            message = event.get("message") if isinstance(event, dict) else None
            if not isinstance(message, dict) or message.get("is_echo"):
                ignored += 1
                continue
            text, mid = message.get("text"), message.get("mid")
            sender = event.get("sender")
            psid = sender.get("id") if isinstance(sender, dict) else None
            if not isinstance(text, str) or not text.strip() or not mid or not psid:
                # Attachments, stickers, reactions, blank texts: one odd event must not make
                # Meta redeliver (and us refuse) the whole batch, so it is skipped, not refused.
                ignored += 1
                continue
            messages.append(MessengerMessage(str(psid), text, str(mid), _millis(event)))
    if ignored:
        logger.info("Messenger: %d event(s) ignored (echoes, non-text)", ignored)
    return messages, ignored


def _millis(event: dict[str, Any]) -> int:
    """The event's timestamp in milliseconds; 0 when it is missing or not a number."""
    value = event.get("timestamp", 0)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return int(value)
    except (ValueError, OverflowError):
        return 0


class GraphClient:
    """The Send API on the Graph API.

    Args:
        client: HTTP client.
        graph_base: ``https://graph.facebook.com/v21.0``.
        page_token: The page access token.
    """

    def __init__(self, client: httpx.Client, *, graph_base: str, page_token: str) -> None:
        self.client = client
        self.graph_base = graph_base.rstrip("/")
        self.page_token = page_token

    def send_text(self, psid: str, text: str) -> str:
        try:
            response = self.client.post(
                f"{self.graph_base}/me/messages",
                params={"access_token": self.page_token},
                json={
                    "recipient": {"id": psid},
                    "messaging_type": "RESPONSE",
                    "message": {"text": text},
                },
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"Send API call failed: {exc}") from exc
        if response.status_code != 200 or "error" in data:
            error = data.get("error") or {}
            raise ProviderError(
                f"Send API refused the message: {str(error.get('message', data))[:200]}",
                provider_code=str(error.get("code")),
            )
        return str(data.get("message_id", ""))
