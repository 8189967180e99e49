"""Zalo: the plain-hash signature, event parsing, the token pair's atomic rotation."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from answer_service.channels.errors import ForgedWebhook, MalformedWebhook, ProviderError
from answer_service.channels.zalo import (
    TokenPair,
    ZaloClient,
    ZaloTokenStore,
    parse_and_verify,
    zalo_mac,
)

APP_ID, SECRET = "1234567890123456789", "oa-secret"


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, str]:
    body = json.dumps(event, ensure_ascii=False).encode()
    return body, "mac=" + zalo_mac(APP_ID, body, str(event["timestamp"]), secret)


class TestSignature:
    def test_mac_is_plain_sha256_of_the_concatenation(self) -> None:
        body = '{"text":"Đăng ký khai sinh"}'.encode()

        expected = hashlib.sha256(
            APP_ID.encode() + body + b"1700000000000" + SECRET.encode()
        ).hexdigest()

        assert zalo_mac(APP_ID, body, "1700000000000", SECRET) == expected

    def test_run_text_event_with_large_string_ids(self) -> None:
        now_ms = int(time.time() * 1000)
        event = {
            "app_id": APP_ID,
            "event_name": "user_send_text",
            "timestamp": str(now_ms),
            "sender": {"id": "4368496045530239786"},
            "message": {"text": "Tôi muốn hỏi thủ tục", "msg_id": "a1b2"},
        }
        body, header = signed(event)

        parsed = parse_and_verify(body, header, app_id=APP_ID, secret=SECRET, max_age_s=60)

        assert (parsed.kind, parsed.user_id, parsed.text) == (
            "text",
            "4368496045530239786",
            "Tôi muốn hỏi thủ tục",
        )
        assert parsed.timestamp_ms == now_ms and parsed.dedupe_key == "a1b2"

    def test_event_for_another_app_raises(self) -> None:
        event = {
            "app_id": "999",
            "event_name": "follow",
            "timestamp": str(int(time.time() * 1000)),
            "follower": {"id": "1"},
        }
        body, header = signed(event)

        with pytest.raises(ForgedWebhook, match="another app"):
            parse_and_verify(body, header, app_id=APP_ID, secret=SECRET, max_age_s=60)

    def test_unconfigured_secret_raises(self) -> None:
        event = {
            "app_id": APP_ID,
            "event_name": "follow",
            "timestamp": "1",
            "follower": {"id": "1"},
        }
        body, header = signed(event, secret="")

        with pytest.raises(ForgedWebhook, match="not configured"):
            parse_and_verify(body, header, app_id=APP_ID, secret="", max_age_s=60)

    def test_text_event_without_msg_id_raises(self) -> None:
        event = {
            "app_id": APP_ID,
            "event_name": "user_send_text",
            "timestamp": str(int(time.time() * 1000)),
            "sender": {"id": "1"},
            "message": {"text": "x"},
        }
        body, header = signed(event)

        with pytest.raises(MalformedWebhook):
            parse_and_verify(body, header, app_id=APP_ID, secret=SECRET, max_age_s=60)


def oauth_transport(state: dict[str, Any]) -> httpx.MockTransport:
    """Refresh tokens are single-use; access tokens listed in state["valid"] work."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v4/oa/access_token":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            state["refreshes"] += 1
            if form["refresh_token"] not in state["refresh"]:
                return httpx.Response(
                    200, json={"error": -14014, "error_name": "Invalid refresh token"}
                )
            state["refresh"].discard(form["refresh_token"])
            n = state["refreshes"]
            state["refresh"].add(f"r{n}")
            state["valid"].add(f"a{n}")
            return httpx.Response(
                200, json={"access_token": f"a{n}", "refresh_token": f"r{n}", "expires_in": "90000"}
            )
        if request.headers.get("access_token") not in state["valid"]:
            return httpx.Response(200, json={"error": -216, "message": "Access token is invalid"})
        state["sent"].append(json.loads(request.content))
        return httpx.Response(
            200,
            json={"error": 0, "message": "Success", "data": {"message_id": "m1", "user_id": "1"}},
        )

    return httpx.MockTransport(handle)


@pytest.fixture
def state() -> dict[str, Any]:
    return {"refresh": {"r0"}, "valid": {"a0"}, "refreshes": 0, "sent": []}


def zalo_client(tokens: ZaloTokenStore, state: dict[str, Any]) -> ZaloClient:
    return ZaloClient(
        httpx.Client(transport=oauth_transport(state)),
        api_base="http://zalo.test",
        oauth_base="http://oauth.test",
        app_id=APP_ID,
        app_secret="s",
        tokens=tokens,
    )


class TestTokens:
    def test_run_expired_access_token_is_refreshed_and_new_pair_stored(
        self, tmp_path: Path, state: dict[str, Any]
    ) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("a0", "r0", time.time() - 1))

        zalo_client(tokens, state).send_text("1", "Xin chào")

        stored = tokens.load()
        assert stored is not None and (stored.access_token, stored.refresh_token) == ("a1", "r1")
        assert state["refreshes"] == 1 and state["sent"][0]["message"]["text"] == "Xin chào"

    def test_run_refused_token_is_refreshed_once_and_retried(
        self, tmp_path: Path, state: dict[str, Any]
    ) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("revoked", "r0", time.time() + 3600))

        zalo_client(tokens, state).send_text("1", "Xin chào")

        assert state["refreshes"] == 1 and len(state["sent"]) == 1

    def test_second_client_reuses_the_rotated_pair(
        self, tmp_path: Path, state: dict[str, Any]
    ) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("a0", "r0", time.time() - 1))
        first, second = zalo_client(tokens, state), zalo_client(ZaloTokenStore(tokens.path), state)

        first.send_text("1", "a")
        second.send_text("1", "b")

        assert state["refreshes"] == 1  # the spent r0 was never offered again

    def test_crash_between_write_and_rename_keeps_the_new_pair(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("a0", "r0", 1.0))
        real_replace = os.replace

        def crash(*_args: Any) -> None:
            raise OSError("simulated crash before rename")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="simulated crash"):
            tokens.save(TokenPair("a1", "r1", 2.0))
        monkeypatch.setattr(os, "replace", real_replace)

        recovered = ZaloTokenStore(tokens.path).load()

        assert recovered == TokenPair("a1", "r1", 2.0)
        assert not tokens.pending_path.exists()
        assert ZaloTokenStore(tokens.path).load() == TokenPair("a1", "r1", 2.0)

    def test_crash_mid_write_keeps_the_old_pair(self, tmp_path: Path) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("a0", "r0", 1.0))
        tokens.pending_path.write_text('{"access_token": "a1", "refre')  # torn write

        assert tokens.load() == TokenPair("a0", "r0", 1.0)

    def test_refused_refresh_token_raises_and_keeps_pair(
        self, tmp_path: Path, state: dict[str, Any]
    ) -> None:
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("a0", "spent", time.time() - 1))

        with pytest.raises(ProviderError, match="refused the refresh token"):
            zalo_client(tokens, state).send_text("1", "x")
        assert tokens.load() == TokenPair("a0", "spent", tokens.load().expires_at)  # type: ignore[union-attr]
