"""Talking to Asterisk: ARI's REST calls and its WebSocket event stream.

Only this module speaks to the PBX. REST failures become ``AriError`` (with Asterisk's status and
its ``message``, shortened); the event stream reconnects by itself with exponential backoff and
jitter, and calls ``on_connect`` after every (re)connection so the bridge can reconcile what
happened while it was away.
"""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from telephony_bridge.ari_models import Channel, LiveRecording
from telephony_bridge.errors import AriError

logger = logging.getLogger(__name__)

_BODY_CHARS = 200


def backoff_delays(
    initial: float = 0.5,
    maximum: float = 30.0,
    *,
    factor: float = 2.0,
    rng: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Endless reconnection delays: exponential up to ``maximum``, with "equal jitter".

    Each delay is half the exponential step plus a random share of the other half, so a fleet
    of bridges restarted together does not reconnect in lock-step, and no delay is ever zero.
    """
    step = initial
    while True:
        yield step / 2 + rng() * step / 2
        step = min(maximum, step * factor)


def _basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


class AriRestClient:
    """The REST half of ARI (``/ari/...``) on an ``httpx.AsyncClient``.

    Args:
        base_url: Asterisk's HTTP server, e.g. ``http://127.0.0.1:8088`` (without ``/ari``).
        username: An ``ari.conf`` user.
        password: Its password.
        client: An injected client (tests pass one with a ``MockTransport``).
        timeout: Seconds per request.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._base = base_url.rstrip("/") + "/ari"
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._auth = _basic_auth(username, password)

    async def _request(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.request(
                method, self._base + path, params=query, headers={"Authorization": self._auth}
            )
        except httpx.HTTPError as exc:
            raise AriError(f"ARI {method} {path} failed: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message", ""))
            except ValueError:
                message = response.text
            raise AriError(
                f"ARI {method} {path} answered {response.status_code}: {message[:_BODY_CHARS]}",
                status=response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def list_channels(self) -> list[Channel]:
        """Every channel Asterisk has now (``GET /ari/channels``)."""
        return [Channel.model_validate(c) for c in await self._request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel | None:
        """One channel, or ``None`` when Asterisk no longer has it."""
        try:
            return Channel.model_validate(await self._request("GET", f"/channels/{channel_id}"))
        except AriError as exc:
            if exc.status == 404:
                return None
            raise

    async def answer(self, channel_id: str) -> None:
        """Answer a ringing channel."""
        await self._request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, *, reason: str = "normal") -> None:
        """Hang a channel up."""
        await self._request("DELETE", f"/channels/{channel_id}", {"reason": reason})

    async def create_bridge(self, *, bridge_id: str | None = None, name: str = "") -> str:
        """Create a mixing bridge and return its id."""
        params = {"type": "mixing", "bridgeId": bridge_id, "name": name or None}
        bridge = await self._request("POST", "/bridges", params)
        return str(bridge["id"])

    async def add_channel(self, bridge_id: str, channel_ids: list[str]) -> None:
        """Put channels into a bridge."""
        await self._request(
            "POST", f"/bridges/{bridge_id}/addChannel", {"channel": ",".join(channel_ids)}
        )

    async def record(
        self, channel_id: str, *, name: str, fmt: str = "wav", if_exists: str = "overwrite"
    ) -> LiveRecording:
        """Start recording a channel; RecordingFinished reports the result."""
        params = {"name": name, "format": fmt, "ifExists": if_exists, "beep": "false"}
        data = await self._request("POST", f"/channels/{channel_id}/record", params)
        return LiveRecording.model_validate(data)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        """Send the channel to another endpoint (a blind transfer); it leaves the application."""
        await self._request("POST", f"/channels/{channel_id}/redirect", {"endpoint": endpoint})

    async def external_media(
        self, *, app: str, external_host: str, media_uuid: str, fmt: str = "slin16"
    ) -> Channel:
        """Create an AudioSocket externalMedia channel that streams to ``external_host``."""
        params = {
            "app": app,
            "external_host": external_host,
            "encapsulation": "audiosocket",
            "transport": "tcp",
            "format": fmt,
            "data": media_uuid,
        }
        channel = await self._request("POST", "/channels/externalMedia", params)
        return Channel.model_validate(channel)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


class AriEventStream:
    """ARI's event WebSocket (``/ari/events?app=...``) that reconnects until stopped.

    Args:
        base_url: Asterisk's HTTP server, ``http://`` or ``https://``.
        username: An ``ari.conf`` user.
        password: Its password.
        app: The Stasis application to subscribe to.
        on_connect: Awaited after every successful (re)connection, before events are read.
        delays: Reconnection delays; ``backoff_delays()`` by default.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        delays: Callable[[], Iterator[float]] = backoff_delays,
    ) -> None:
        scheme, _, rest = base_url.rstrip("/").partition("://")
        ws_scheme = "wss" if scheme == "https" else "ws"
        self.url = f"{ws_scheme}://{rest}/ari/events?" + urlencode({"app": app})
        self._auth = _basic_auth(username, password)
        self._on_connect = on_connect
        self._delays = delays
        self.connections = 0
        self.disconnections = 0
        self.connected = False

    async def messages(self) -> AsyncIterator[str | bytes]:
        """Yield raw messages forever, reconnecting with backoff after every failure."""
        import asyncio

        delays = self._delays()
        while True:
            try:
                async with connect(
                    self.url, additional_headers={"Authorization": self._auth}, open_timeout=5
                ) as socket:
                    self.connections += 1
                    self.connected = True
                    delays = self._delays()
                    logger.info("ARI event stream connected (%d)", self.connections)
                    if self._on_connect is not None:
                        await self._on_connect()
                    async for message in socket:
                        yield message
                logger.warning("ARI event stream closed by Asterisk")
            except (OSError, WebSocketException, InvalidHandshake, TimeoutError) as exc:
                logger.warning("ARI event stream lost: %r", exc)
            except AriError as exc:
                logger.warning("reconciliation after connecting failed: %s", exc.detail)
            self.connected = False
            self.disconnections += 1
            delay = next(delays)
            logger.info("reconnecting to ARI in %.2f s", delay)
            await asyncio.sleep(delay)
