"""A loopback stand-in for Asterisk's REST interface (ARI), speaking its wire format.

No PBX can be installed here, so tests and the benchmark run the bridge against this server on
127.0.0.1. It follows ARI's schema: Channel objects (id, name, state, caller {name, number},
connected, accountcode, dialplan {context, exten, priority, app_name, app_data}, creationtime,
language), Bridge and LiveRecording objects, events with ``type``, ``timestamp``,
``application`` and ``asterisk_id`` on ``/ari/events?app=...``, REST errors as
``{"message": ...}``, and basic auth by ``Authorization`` header or ``api_key=user:pass``.

Like Asterisk, it keeps no events for an application without a connected WebSocket: what
happens while the bridge is away is only visible through ``GET /ari/channels``.

The test drives calls from its own thread: ``start_call``, ``press``, ``hang_up``,
``send_raw``, ``drop_connections``, ``vanish``. The server runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from telephony_bridge.ari_models import format_ari_time

ASTERISK_ID = "02:42:0a:00:00:10"


def now_text() -> str:
    return format_ari_time(datetime.now(UTC))


@dataclass
class FakeChannel:
    id: str
    name: str
    caller_number: str
    caller_name: str
    exten: str
    app: str
    state: str = "Ring"
    created: str = field(default_factory=now_text)
    in_app: bool = True
    recording: dict[str, Any] | None = None
    recording_started: float = 0.0
    redirected_to: str | None = None

    def to_ari(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {
                "context": "hotline-in",
                "exten": self.exten,
                "priority": 2,
                "app_name": "Stasis" if self.in_app else "",
                "app_data": self.app if self.in_app else "",
            },
            "creationtime": self.created,
            "language": "vi",
        }


class FakeAriServer:
    """ARI on 127.0.0.1 for one Stasis application.

    Args:
        app: The application name the bridge subscribes to.
        username: Accepted ARI user.
        password: Its password.
    """

    def __init__(
        self,
        app: str = "hotline1022",
        username: str = "hotline",
        password: str = "test-only-secret",
    ) -> None:
        self.app_name = app
        self.username = username
        self.password = password
        self.channels: dict[str, FakeChannel] = {}
        self.bridges: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.external_media: list[dict[str, str]] = []
        self.events_sent = 0
        self.events_dropped = 0
        self.auth_failures = 0
        self._failures: list[tuple[str, int]] = []
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._ids = itertools.count(1)
        self._epoch = int(time.time())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAriServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi(), log_level="warning", ws="websockets-sansio", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_until_complete(self._server.serve(sockets=[sock]))  # type: ignore[union-attr]
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-ari", daemon=True)
        self._thread.start()
        ready.wait(5)
        deadline = time.monotonic() + 5
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeAriServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def _sync(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server loop and wait for it (state changes stay on one thread)."""
        assert self._loop is not None

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(5)

    @property
    def connected(self) -> int:
        return len(self._queues)

    # ----------------------------------------------------------------- driving calls

    def start_call(self, number: str, name: str = "", exten: str = "1022") -> str:
        """A caller dials in: the channel enters the application (StasisStart)."""
        seq = next(self._ids)
        channel = FakeChannel(
            id=f"{self._epoch}.{seq}",
            name=f"PJSIP/trunk-{seq:08x}",
            caller_number=number,
            caller_name=name,
            exten=exten,
            app=self.app_name,
        )

        def enter() -> None:
            self.channels[channel.id] = channel
            self._emit("StasisStart", channel=channel.to_ari(), args=[])

        self._sync(enter)
        return channel.id

    def press(self, channel_id: str, digit: str) -> None:
        """The caller presses a key (ChannelDtmfReceived)."""
        self._sync(
            lambda: self._emit(
                "ChannelDtmfReceived",
                digit=digit,
                duration_ms=120,
                channel=self.channels[channel_id].to_ari(),
            )
        )

    def hang_up(self, channel_id: str, cause: int = 16) -> None:
        """The caller hangs up: HangupRequest, RecordingFinished, StasisEnd, ChannelDestroyed."""
        self._sync(lambda: self._hang_up(channel_id, cause))

    def _hang_up(self, channel_id: str, cause: int) -> None:
        channel = self.channels.pop(channel_id)
        snapshot = channel.to_ari()
        self._emit("ChannelHangupRequest", cause=cause, soft=False, channel=snapshot)
        self._finish_recording(channel)
        if channel.in_app:
            self._emit("StasisEnd", channel=snapshot)
            self._emit(
                "ChannelDestroyed", cause=cause, cause_txt="Normal Clearing", channel=snapshot
            )

    def vanish(self, channel_id: str) -> None:
        """The channel ends while nobody listens (as during a bridge restart): no events."""
        self._sync(lambda: self.channels.pop(channel_id))

    def send_raw(self, text: str) -> None:
        """Push any text to the connected WebSockets (bad-input tests)."""
        self._sync(lambda: self._broadcast(text))

    def send_event(self, event_type: str, **fields: Any) -> None:
        """Push an event of any type with the standard envelope."""
        self._sync(lambda: self._emit(event_type, **fields))

    def drop_connections(self) -> None:
        """Close every event WebSocket abruptly, as a network failure would."""

        def drop() -> None:
            for queue in list(self._queues):
                queue.put_nowait(None)

        self._sync(drop)

    def fail_next(self, path_part: str, status: int) -> None:
        """Answer the next request whose path contains ``path_part`` with ``status``."""
        self._failures.append((path_part, status))

    # ----------------------------------------------------------------- events

    def _emit(self, event_type: str, **fields: Any) -> None:
        event = {
            "type": event_type,
            "timestamp": now_text(),
            "application": self.app_name,
            "asterisk_id": ASTERISK_ID,
            **fields,
        }
        self._broadcast(json.dumps(event))

    def _broadcast(self, text: str) -> None:
        if not self._queues:
            self.events_dropped += 1
            return
        self.events_sent += 1
        for queue in self._queues:
            queue.put_nowait(text)

    def _finish_recording(self, channel: FakeChannel) -> None:
        if channel.recording is None:
            return
        recording = dict(channel.recording)
        recording["state"] = "done"
        recording["duration"] = max(1, round(time.monotonic() - channel.recording_started))
        channel.recording = None
        self._emit("RecordingFinished", recording=recording)

    # ----------------------------------------------------------------- HTTP side

    def _authorized(self, headers: Any, query: Any) -> bool:
        expected = f"{self.username}:{self.password}"
        if query.get("api_key") == expected:
            return True
        header = headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode() == expected
            except ValueError:
                return False
        return False

    async def _events(self, websocket: WebSocket) -> None:
        if not self._authorized(websocket.headers, websocket.query_params):
            self.auth_failures += 1
            await websocket.close(code=1008)
            return
        if websocket.query_params.get("app") != self.app_name:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        receiver = asyncio.create_task(self._drain(websocket, queue))
        try:
            while True:
                text = await queue.get()
                if text is None:
                    break
                await websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self._queues.discard(queue)
            receiver.cancel()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=1011)

    async def _drain(self, websocket: WebSocket, queue: asyncio.Queue[str | None]) -> None:
        try:
            while True:
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            queue.put_nowait(None)

    async def _rest(self, request: Request) -> Response:
        path = request.url.path
        params = dict(request.query_params)
        self.requests.append((request.method, path, params))
        if not self._authorized(request.headers, request.query_params):
            self.auth_failures += 1
            return JSONResponse({"message": "Authentication required"}, status_code=401)
        for index, (part, status) in enumerate(self._failures):
            if part in path:
                del self._failures[index]
                return JSONResponse({"message": "Injected failure"}, status_code=status)
        parts = path.removeprefix("/ari/").strip("/").split("/")
        try:
            return self._route(request.method, parts, params)
        except _AriRefusal as refusal:
            return JSONResponse({"message": refusal.message}, status_code=refusal.status)

    def _channel(self, channel_id: str, *, in_app: bool = True) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _AriRefusal(404, "Channel not found")
        if in_app and not channel.in_app:
            raise _AriRefusal(409, "Channel not in Stasis application")
        return channel

    def _route(self, method: str, parts: list[str], params: dict[str, str]) -> Response:
        match (method, parts):
            case ("GET", ["channels"]):
                return JSONResponse([c.to_ari() for c in self.channels.values()])
            case ("POST", ["channels", "externalMedia"]):
                return self._external_media(params)
            case ("GET", ["channels", channel_id]):
                return JSONResponse(self._channel(channel_id, in_app=False).to_ari())
            case ("DELETE", ["channels", channel_id]):
                self._channel(channel_id, in_app=False)
                self._hang_up(channel_id, 16)
                return Response(status_code=204)
            case ("POST", ["channels", channel_id, "answer"]):
                channel = self._channel(channel_id)
                if channel.state != "Up":
                    channel.state = "Up"
                    self._emit("ChannelStateChange", channel=channel.to_ari())
                return Response(status_code=204)
            case ("POST", ["channels", channel_id, "record"]):
                return self._record(self._channel(channel_id), params)
            case ("POST", ["channels", channel_id, "redirect"]):
                return self._redirect(self._channel(channel_id), params)
            case ("POST", ["bridges"]):
                return self._create_bridge(params)
            case ("POST", ["bridges", bridge_id, "addChannel"]):
                return self._add_channel(bridge_id, params)
        raise _AriRefusal(404, "Resource not found")

    def _require(self, params: dict[str, str], *names: str) -> None:
        missing = [n for n in names if not params.get(n)]
        if missing:
            raise _AriRefusal(400, f"{missing[0]}: parameter is required")

    def _record(self, channel: FakeChannel, params: dict[str, str]) -> Response:
        self._require(params, "name", "format")
        if channel.recording is not None and params.get("ifExists", "fail") == "fail":
            raise _AriRefusal(409, "Recording already in progress")
        channel.recording = {
            "name": params["name"],
            "format": params["format"],
            "target_uri": f"channel:{channel.id}",
            "state": "recording",
        }
        channel.recording_started = time.monotonic()
        self._emit("RecordingStarted", recording=channel.recording)
        return JSONResponse(channel.recording, status_code=201)

    def _redirect(self, channel: FakeChannel, params: dict[str, str]) -> Response:
        self._require(params, "endpoint")
        if "/" not in params["endpoint"]:
            raise _AriRefusal(422, "Endpoint is not valid")
        channel.redirected_to = params["endpoint"]
        self._finish_recording(channel)
        channel.in_app = False
        self._emit("StasisEnd", channel=channel.to_ari())
        return Response(status_code=204)

    def _create_bridge(self, params: dict[str, str]) -> Response:
        bridge_id = params.get("bridgeId") or f"bridge-{next(self._ids)}"
        bridge = {
            "id": bridge_id,
            "technology": "simple_bridge",
            "bridge_type": params.get("type", "mixing"),
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": params.get("name", ""),
            "channels": [],
            "creationtime": now_text(),
            "video_mode": "none",
        }
        self.bridges[bridge_id] = bridge
        return JSONResponse(bridge)

    def _add_channel(self, bridge_id: str, params: dict[str, str]) -> Response:
        self._require(params, "channel")
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise _AriRefusal(404, "Bridge not found")
        for channel_id in params["channel"].split(","):
            if channel_id not in self.channels:
                raise _AriRefusal(422, "Channel not found")
            bridge["channels"].append(channel_id)
        return Response(status_code=204)

    def _external_media(self, params: dict[str, str]) -> Response:
        self._require(params, "app", "external_host", "format")
        seq = next(self._ids)
        channel = FakeChannel(
            id=f"{self._epoch}.{seq}",
            name=f"AudioSocket/{params['external_host']}-{seq:08x}",
            caller_number="",
            caller_name="",
            exten="s",
            app=params["app"],
            state="Up",
        )
        self.channels[channel.id] = channel
        self.external_media.append(dict(params, channel_id=channel.id))
        self._emit("StasisStart", channel=channel.to_ari(), args=[])
        return JSONResponse(channel.to_ari())

    def _asgi(self) -> Starlette:
        methods = ["GET", "POST", "DELETE", "PUT"]
        return Starlette(
            routes=[
                WebSocketRoute("/ari/events", self._events),
                Route("/ari/{rest:path}", self._rest, methods=methods),
            ]
        )


class _AriRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
