"""Zalo Official Account (API v3): webhook events in, customer-service messages out.

Signature: ``X-ZEvent-Signature: mac=<hex>`` where hex is SHA-256 of ``app_id + raw body +
timestamp + OA secret key``, a plain hash of the concatenation (Zalo does not use HMAC here).
The timestamp is the event's ``timestamp`` field, in milliseconds; an event older than the
configured age is refused as a replay, and a redelivered fresh one is stopped by its dedupe key.

Tokens: the OA access token lives about 25 hours; the refresh token is single-use and every
refresh returns a new pair. Losing the new pair locks the OA out until someone re-authorises it
by hand, so ``ZaloTokenStore`` writes the pair to a temporary file, fsyncs it and renames it over
the old one (a crash leaves either the old or the new pair, never half of one), and refreshes
under an exclusive file lock so that two workers never spend the same refresh token.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from answer_service.channels.errors import (
    ForgedWebhook,
    MalformedWebhook,
    ProviderError,
    UnsignedWebhook,
)

logger = logging.getLogger(__name__)

INVALID_TOKEN_ERRORS = {-216, -124}  # access token invalid / expired
TEXT_EVENTS = {"user_send_text"}
FOLLOW_EVENTS = {"follow"}


def zalo_mac(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """Hex SHA-256 of ``app_id + body + timestamp + secret``."""
    data = app_id.encode("utf-8") + body + timestamp.encode("utf-8") + secret.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ZaloEvent:
    """One webhook event reduced to what the channel needs; ``kind`` is text, follow or ignored."""

    kind: str
    event_name: str
    user_id: str
    text: str
    dedupe_key: str
    timestamp_ms: int


def parse_and_verify(
    body: bytes,
    signature_header: str | None,
    *,
    app_id: str,
    secret: str,
    max_age_s: int,
    now: float | None = None,
) -> ZaloEvent:
    """Check the signature, then read the event.

    Raises:
        UnsignedWebhook: no ``X-ZEvent-Signature``.
        MalformedWebhook: the body is not a JSON object with a timestamp.
        ForgedWebhook: wrong app, wrong MAC, or an event older than ``max_age_s``.
    """
    if not signature_header:
        raise UnsignedWebhook("missing X-ZEvent-Signature")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedWebhook("body is not a JSON object")
    timestamp = str(data.get("timestamp", ""))
    # isdigit() alone accepts digits int() refuses ("²") and other scripts' digits.
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise MalformedWebhook("event has no millisecond timestamp")
    if not secret or not app_id:
        raise ForgedWebhook("Zalo OA secret key or app id is not configured")
    if str(data.get("app_id", app_id)) != app_id:
        raise ForgedWebhook("event is for another app")
    given = signature_header.strip().removeprefix("mac=").strip().lower()
    if not hmac.compare_digest(given, zalo_mac(app_id, body, timestamp, secret)):
        raise ForgedWebhook("X-ZEvent-Signature does not match")
    sent_s = int(timestamp) / 1000
    if abs((now or time.time()) - sent_s) > max_age_s:
        raise ForgedWebhook("event is too old (replayed?)")
    return _event(data, int(timestamp))


def _event(data: dict[str, Any], timestamp_ms: int) -> ZaloEvent:
    name = str(data.get("event_name", ""))
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    follower = data.get("follower") if isinstance(data.get("follower"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    if name in TEXT_EVENTS:
        user_id, text = str(sender.get("id", "")), message.get("text")
        msg_id = str(message.get("msg_id", ""))
        if not user_id or not isinstance(text, str) or not msg_id:
            raise MalformedWebhook("user_send_text needs sender.id, message.text, message.msg_id")
        return ZaloEvent("text", name, user_id, text, msg_id, timestamp_ms)
    if name in FOLLOW_EVENTS:
        user_id = str(follower.get("id") or sender.get("id") or "")
        if not user_id:
            raise MalformedWebhook("follow needs follower.id")
        return ZaloEvent(
            "follow", name, user_id, "", f"follow:{user_id}:{timestamp_ms}", timestamp_ms
        )
    return ZaloEvent("ignored", name, str(sender.get("id", "")), "", "", timestamp_ms)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds


class ZaloTokenStore:
    """The OA token pair in a JSON file, replaced atomically, refreshed under a lock.

    Args:
        path: The JSON file; ``<path>.lock`` is the lock file beside it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    @property
    def pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pending")

    def load(self) -> TokenPair | None:
        """The stored pair; a complete pending pair left by a crash is promoted first."""
        pending = self._read(self.pending_path)
        if pending is not None:
            logger.warning("Zalo token pair recovered from an interrupted save")
            self._promote()
            return pending
        return self._read(self.path)

    @staticmethod
    def _read(path: Path) -> TokenPair | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return TokenPair(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=float(data["expires_at"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            # A pending file cut short by a crash mid-write: the previous pair still stands.
            logger.warning("ignoring an unreadable token file %s", path.name)
            return None

    def save(self, pair: TokenPair) -> None:
        """Write ``pair`` durably to the pending file, then rename it over the current one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.pending_path.open("w", encoding="utf-8") as handle:
            json.dump(asdict(pair), handle)
            handle.flush()
            os.fsync(handle.fileno())
        self._promote()

    def _promote(self) -> None:
        try:
            os.replace(self.pending_path, self.path)
        except FileNotFoundError:
            return  # another process promoted the same pending pair first
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class ZaloClient:
    """The OA API: customer-service text messages, with token refresh.

    Args:
        client: HTTP client.
        api_base: ``https://openapi.zalo.me``.
        oauth_base: ``https://oauth.zaloapp.com``.
        app_id: The Zalo app id.
        app_secret: The app's secret key (for the refresh call).
        tokens: Where the token pair lives.
        refresh_margin_s: Refresh this long before the access token expires.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_base: str,
        oauth_base: str,
        app_id: str,
        app_secret: str,
        tokens: ZaloTokenStore,
        refresh_margin_s: float = 300,
    ) -> None:
        self.client = client
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.tokens = tokens
        self.refresh_margin_s = refresh_margin_s

    def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token; refreshed when expiring or when ``stale`` was refused."""
        pair = self.tokens.load()
        if (
            pair
            and pair.access_token != stale
            and pair.expires_at - self.refresh_margin_s > time.time()
        ):
            return pair.access_token
        with self.tokens.locked():
            pair = self.tokens.load()  # another worker may have refreshed meanwhile
            if pair is None:
                raise ProviderError("no Zalo token pair stored; authorise the OA first")
            if pair.access_token != stale and pair.expires_at - self.refresh_margin_s > time.time():
                return pair.access_token
            fresh = self._refresh(pair.refresh_token)
            self.tokens.save(fresh)
            logger.info(
                "Zalo access token refreshed; valid for %.0f s", fresh.expires_at - time.time()
            )
            return fresh.access_token

    def _refresh(self, refresh_token: str) -> TokenPair:
        try:
            response = self.client.post(
                f"{self.oauth_base}/v4/oa/access_token",
                headers={"secret_key": self.app_secret},
                data={
                    "refresh_token": refresh_token,
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                },
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"Zalo token refresh failed: {exc}") from exc
        if "access_token" not in data or "refresh_token" not in data:
            raise ProviderError(
                f"Zalo refused the refresh token: {str(data)[:200]}",
                provider_code=str(data.get("error")),
            )
        return TokenPair(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=time.time() + float(data.get("expires_in", 90000)),
        )

    def send_text(self, user_id: str, text: str) -> str:
        """Send a customer-service text; the Zalo message id."""
        token = self.access_token()
        for attempt in (1, 2):
            try:
                response = self.client.post(
                    f"{self.api_base}/v3.0/oa/message/cs",
                    headers={"access_token": token},
                    json={"recipient": {"user_id": user_id}, "message": {"text": text}},
                )
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ProviderError(f"Zalo send failed: {exc}") from exc
            error = int(data.get("error", -1))
            if error == 0:
                return str((data.get("data") or {}).get("message_id", ""))
            if error in INVALID_TOKEN_ERRORS and attempt == 1:
                token = self.access_token(stale=token)
                continue
            raise ProviderError(
                f"Zalo refused the message: {str(data.get('message', data))[:200]}",
                provider_code=str(error),
            )
        raise ProviderError("Zalo send failed after a token refresh")
