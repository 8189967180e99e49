"""SMS gateway adapters: inbound verification and outbound sending, in two gateway styles.

Two styles cover the Vietnamese gateways we know of:

- eSMS style: the gateway calls us with a GET whose query string carries the message and a
  ``Signature`` (hex HMAC-SHA256 over the other parameters, sorted and joined as ``k=v&…``), and
  we send with a GET to ``SendMultipleMessage_V4_get`` that carries the API key and secret.
- SpeedSMS style: the gateway posts JSON signed in the ``X-Speedsms-Signature`` header (hex
  HMAC-SHA256 of the raw body), and we send with a JSON POST authenticated by HTTP Basic with
  the access token as user name.

The provider-neutral endpoint takes ``{"sender", "text", "message_id"}`` signed like SpeedSMS in
``X-Hotline-Signature: sha256=<hex>``. Every adapter yields the same ``InboundSms``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from answer_service.channels.errors import (
    ForgedWebhook,
    MalformedWebhook,
    ProviderError,
    UnsignedWebhook,
)

logger = logging.getLogger(__name__)

_PHONE = re.compile(r"^\+?\d{8,15}$")


@dataclass(frozen=True)
class InboundSms:
    sender: str  # normalised to 0xxxxxxxxx for Vietnamese numbers
    text: str
    message_id: str


def normalize_phone(raw: str) -> str:
    """Vietnamese numbers as ``0xxxxxxxxx`` ("84900000001" and "+84900000001" included)."""
    digits = raw.strip().replace(" ", "").replace(".", "").replace("-", "")
    if not _PHONE.match(digits):
        raise MalformedWebhook("sender is not a phone number (8 to 15 digits, optional +)")
    digits = digits.lstrip("+")
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits


def sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def canonical_query(params: Mapping[str, str]) -> bytes:
    """The eSMS-style signed string: every parameter but ``Signature``, sorted, ``k=v&…``."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8")


def _check(secret: str, expected_hex: str | None, data: bytes) -> None:
    if not expected_hex:
        raise UnsignedWebhook("missing SMS signature")
    if not secret:
        raise ForgedWebhook("SMS inbound secret is not configured; refusing unsigned traffic")
    if not hmac.compare_digest(sign(secret, data), expected_hex.strip().lower()):
        raise ForgedWebhook("SMS signature does not match")


def _check_fresh(timestamp: str | None, max_age_s: int, *, now: float | None = None) -> None:
    try:
        sent = float(timestamp or "")
    except ValueError:
        raise MalformedWebhook("SMS timestamp is missing or not a number") from None
    if not math.isfinite(sent):
        # NaN compares false with everything and would pass the age check below.
        raise MalformedWebhook("SMS timestamp is not a finite number")
    if sent > 1e12:  # milliseconds
        sent /= 1000
    if abs((now or time.time()) - sent) > max_age_s:
        raise ForgedWebhook("SMS event is too old (replayed?)")


def parse_esms_query(
    params: Mapping[str, str], *, secret: str, max_age_s: int, now: float | None = None
) -> InboundSms:
    """Verify and read an eSMS-style inbound GET (Phone, Content, RequestId, Time)."""
    _check(secret, params.get("Signature"), canonical_query(params))
    _check_fresh(params.get("Time"), max_age_s, now=now)
    missing = [k for k in ("Phone", "Content", "RequestId") if not params.get(k)]
    if missing:
        raise MalformedWebhook(f"eSMS inbound lacks {', '.join(missing)}")
    return InboundSms(normalize_phone(params["Phone"]), params["Content"], params["RequestId"])


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedWebhook("body is not a JSON object")
    return data


def parse_speedsms_body(
    body: bytes, signature: str | None, *, secret: str, max_age_s: int
) -> InboundSms:
    """Verify and read a SpeedSMS-style inbound POST (``type``, ``phone``, ``content``, ``id``)."""
    _check(secret, signature, body)
    data = _json_object(body)
    _check_fresh(str(data.get("timestamp", "")), max_age_s)
    if data.get("type") != "sms":
        raise MalformedWebhook(f"unsupported SpeedSMS event type {str(data.get('type'))[:30]!r}")
    phone, content, msg_id = data.get("phone"), data.get("content"), data.get("id")
    if not (isinstance(phone, str) and isinstance(content, str) and msg_id):
        raise MalformedWebhook("SpeedSMS inbound needs string phone, content and an id")
    return InboundSms(normalize_phone(phone), content, str(msg_id))


def parse_neutral_body(
    body: bytes, signature: str | None, *, secret: str, max_age_s: int
) -> InboundSms:
    """Verify and read the provider-neutral inbound POST."""
    value = signature.removeprefix("sha256=") if signature else None
    _check(secret, value, body)
    data = _json_object(body)
    _check_fresh(str(data.get("timestamp", "")), max_age_s)
    sender, text, msg_id = data.get("sender"), data.get("text"), data.get("message_id")
    if not (isinstance(sender, str) and isinstance(text, str) and msg_id):
        raise MalformedWebhook("inbound SMS needs string sender, text and a message_id")
    return InboundSms(normalize_phone(sender), text, str(msg_id))


class SmsGateway(Protocol):
    """Outbound SMS through a gateway."""

    def send(self, phone: str, text: str, *, unicode: bool) -> str:
        """Send one SMS (the gateway splits it into parts); the gateway's message id."""


class EsmsGateway:
    """eSMS-style outbound: GET with the key and secret in the query string.

    Args:
        client: The HTTP client (tests pass one pointed at a loopback server).
        base_url: API root, e.g. ``https://rest.esms.vn``.
        api_key: ``ApiKey``.
        secret_key: ``SecretKey``.
        brandname: The registered sender name.
    """

    def __init__(
        self, client: httpx.Client, *, base_url: str, api_key: str, secret_key: str, brandname: str
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret_key = secret_key
        self.brandname = brandname

    def send(self, phone: str, text: str, *, unicode: bool) -> str:
        params = {
            "ApiKey": self.api_key,
            "SecretKey": self.secret_key,
            "Phone": phone,
            "Content": text,
            "SmsType": "2",
            "Brandname": self.brandname,
            "IsUnicode": "1" if unicode else "0",
        }
        url = f"{self.base_url}/MainService.svc/json/SendMultipleMessage_V4_get"
        try:
            response = self.client.get(url, params=params)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"eSMS send failed: {exc}") from exc
        if str(data.get("CodeResult")) != "100":
            raise ProviderError(
                f"eSMS refused the SMS: {str(data.get('ErrorMessage', data))[:200]}",
                provider_code=str(data.get("CodeResult")),
            )
        return str(data.get("SMSID", ""))


class SpeedSmsGateway:
    """SpeedSMS-style outbound: JSON POST, HTTP Basic with the access token as user name."""

    def __init__(
        self, client: httpx.Client, *, base_url: str, access_token: str, sender: str
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.sender = sender

    def send(self, phone: str, text: str, *, unicode: bool) -> str:
        body = {"to": [phone], "content": text, "sms_type": 2, "sender": self.sender}
        try:
            response = self.client.post(
                f"{self.base_url}/index.php/sms/send",
                json=body,
                auth=(self.access_token, "x"),
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"SpeedSMS send failed: {exc}") from exc
        if data.get("status") != "success":
            raise ProviderError(
                f"SpeedSMS refused the SMS: {str(data.get('message', data))[:200]}",
                provider_code=str(data.get("code")),
            )
        return str((data.get("data") or {}).get("tranId", ""))
