"""Live calls for the operator console: call events and suggestions out, transcripts in.

Every route needs a desk user's bearer token (operator, supervisor or admin; see
``tickets.api.deps``): the streams carry callers' numbers and their past tickets. The WebSocket
takes the token in its ``Authorization`` header or, for clients that cannot set one, in a
``token`` query parameter.

The console follows a call with server-sent events (``GET /v1/calls/{call_id}/events``) or a
WebSocket (``/v1/calls/{call_id}/ws``, which also takes transcript segments); it sends
transcript segments over HTTP when a speech recognizer runs on its side, and asks for a transfer
to an agency. Call state comes from the telephony bridge through the hub (see
``telephony_bridge.live``); this module only parses, calls ``LiveCalls`` and streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from answer_service.api.routes.answers import suggestion_interaction
from answer_service.schemas import SuggestIn, SuggestOut
from search.errors import PlatformError
from telephony_bridge.hub import Message, open_hub
from telephony_bridge.live import LiveCalls
from telephony_bridge.recognizer import TranscriptSegment
from telephony_bridge.settings import BridgeSettings
from tickets.api.deps import DeskUser
from tickets.errors import AuthenticationFailed, PermissionDenied
from tickets.schemas import UserOut
from tickets.workflow import Role

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
DEFAULT_TRANSFER_REASON = "Chuyển cuộc gọi khẩn tới cơ quan chức năng"


def recorded_suggest(app: FastAPI) -> Callable[[SuggestIn], SuggestOut]:
    """``AnswerService.suggest`` whose live suggestions are recorded for quality review too.

    The record gives each suggestion its ``interaction_id``, so the operator can mark a live
    suggestion useful, wrong or missing as a typed one.
    """
    service = app.state.service

    def suggest(body: SuggestIn) -> SuggestOut:
        out = service.suggest(body)
        quality = getattr(app.state, "quality", None)
        if quality is not None:
            out.interaction_id = quality.record(suggestion_interaction(body, out))
        return out

    return suggest


@asynccontextmanager
async def live_calls_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start ``LiveCalls`` on the configured hub (and the embedded bridge when asked for)."""
    if getattr(app.state, "live_calls", None) is not None:
        # Injected by the caller (tests, an embedding process) who also starts and stops it.
        yield
        return
    settings = BridgeSettings()
    hub = open_hub(settings.redis_url, prefix=settings.redis_prefix)
    live = LiveCalls(
        hub,
        recorded_suggest(app),
        debounce_ms=settings.debounce_ms,
        route_transfer=settings.route_transfer,
        agencies=settings.agency_endpoints.keys(),
        max_parallel=settings.suggest_parallel,
    )
    await live.start()
    app.state.live_calls = live
    bridge_task = None
    if settings.embedded_bridge:
        from telephony_bridge.bridge import TelephonyBridge
        from tickets import open_intake

        bridge = TelephonyBridge(settings, intake=open_intake(), hub=hub)
        bridge_task = asyncio.create_task(bridge.run())
    try:
        yield
    finally:
        if bridge_task is not None:
            bridge_task.cancel()
            await asyncio.gather(bridge_task, return_exceptions=True)
        await live.stop()
        app.state.live_calls = None
        if settings.redis_url:
            await hub.close()


router = APIRouter(prefix="/v1/calls", tags=["calls"], lifespan=live_calls_lifespan)


def get_live_calls(request: Request) -> LiveCalls:
    live: LiveCalls = request.app.state.live_calls
    return live


LiveCallsDep = Annotated[LiveCalls, Depends(get_live_calls)]


class TranscriptIn(BaseModel):
    """Transcript segments of a call, oldest first."""

    model_config = ConfigDict(extra="forbid")

    segments: list[TranscriptSegment] = Field(min_length=1, max_length=50)


class TranscriptAccepted(BaseModel):
    call_id: str
    revision: int


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_code: str = Field(min_length=1, max_length=64)
    reason: str = Field(DEFAULT_TRANSFER_REASON, min_length=1, max_length=1_000)


class TransferAccepted(BaseModel):
    call_id: str
    request_id: str
    status: str = "requested"


DESK_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})


@router.get("")
def list_calls(live: LiveCallsDep, _user: DeskUser) -> list[dict[str, Any]]:
    """Calls in progress, with their caller, ticket and latest suggestion."""
    return live.calls()


@router.get("/{call_id}")
def get_call(call_id: str, live: LiveCallsDep, _user: DeskUser) -> dict[str, Any]:
    """One call (also shortly after it ended), with the caller's past tickets."""
    return live.get(call_id).public()


@router.post("/{call_id}/transcript", status_code=202)
async def add_transcript(
    call_id: str, body: TranscriptIn, live: LiveCallsDep, _user: DeskUser
) -> TranscriptAccepted:
    """Add transcript segments; suggestions follow on the call's event stream."""
    revision = await live.add_segments(call_id, body.segments)
    return TranscriptAccepted(call_id=call_id, revision=revision)


@router.post("/{call_id}/transfer", status_code=202)
async def transfer_call(
    call_id: str, body: TransferIn, live: LiveCallsDep, user: DeskUser
) -> TransferAccepted:
    """Ask the bridge to transfer the call to an agency; the result comes as a call event."""
    request_id = await live.request_transfer(
        call_id,
        agency_code=body.agency_code,
        reason=body.reason,
        actor=f"operator:{user.username}",
    )
    return TransferAccepted(call_id=call_id, request_id=request_id)


def _sse(message: Message) -> str:
    data = json.dumps(message, ensure_ascii=False, default=str)
    return f"event: {message.get('type', 'message')}\ndata: {data}\n\n"


async def _stream(live: LiveCalls, call_id: str | None, request: Request) -> AsyncIterator[str]:
    async with live.listen(call_id) as queue:
        if call_id is None:
            yield _sse({"type": "calls", "calls": live.calls()})
        else:
            call = live.get(call_id)
            yield _sse({"type": "snapshot", "call_id": call_id, "call": call.public()})
            if call.ended:
                return
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            yield _sse(message)
            if call_id is not None and message.get("type") == "call_ended":
                return


@router.get("/stream/all")
async def stream_all_calls(
    request: Request, live: LiveCallsDep, _user: DeskUser
) -> StreamingResponse:
    """Server-sent events of every call: starts, state changes, suggestions, ends."""
    return StreamingResponse(_stream(live, None, request), media_type="text/event-stream")


@router.get("/{call_id}/events")
async def stream_call(
    call_id: str, request: Request, live: LiveCallsDep, _user: DeskUser
) -> StreamingResponse:
    """Server-sent events of one call, starting with its snapshot; ends with the call."""
    live.get(call_id)  # 404 before the stream starts
    return StreamingResponse(_stream(live, call_id, request), media_type="text/event-stream")


@router.websocket("/{call_id}/ws")
async def call_socket(websocket: WebSocket, call_id: str) -> None:
    """Events of one call out; transcript segments (one JSON object per message) in."""
    live: LiveCalls = websocket.app.state.live_calls
    await websocket.accept()
    try:
        _socket_user(websocket)
        call = live.get(call_id)
    except PlatformError as exc:  # refused or unknown call: say why, then close
        await websocket.send_json(
            {"type": "error", "error_code": exc.error_code.code, "detail": exc.detail}
        )
        await websocket.close(code=4000 + exc.error_code.http_status)
        return
    async with live.listen(call_id) as queue:
        await websocket.send_json({"type": "snapshot", "call_id": call_id, "call": call.public()})
        sender = asyncio.create_task(_send_events(websocket, queue))
        try:
            while True:
                raw = await websocket.receive_text()
                await _receive_segment(websocket, live, call_id, raw)
        except WebSocketDisconnect:
            logger.debug("console left call %s", call_id)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


def _socket_user(websocket: WebSocket) -> UserOut:
    """The desk user whose token the WebSocket handshake carries."""
    header = websocket.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    token = token or websocket.query_params.get("token", "")
    if not token:
        raise AuthenticationFailed("send a bearer token: Authorization header or ?token=")
    user: UserOut = websocket.app.state.ticket_auth.authenticate(token)
    if user.role not in DESK_ROLES:
        raise PermissionDenied(f"role {user.role.value} may not follow live calls")
    return user


async def _send_events(websocket: WebSocket, queue: asyncio.Queue[Message]) -> None:
    while True:
        message = await queue.get()
        await websocket.send_text(json.dumps(message, ensure_ascii=False, default=str))


async def _receive_segment(websocket: WebSocket, live: LiveCalls, call_id: str, raw: str) -> None:
    try:
        segment = TranscriptSegment.model_validate_json(raw)
        revision = await live.add_segments(call_id, [segment])
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        await websocket.send_json(
            {"type": "error", "error_code": "invalid_input", "detail": errors}
        )
        return
    except PlatformError as exc:
        await websocket.send_json(
            {"type": "error", "error_code": exc.error_code.code, "detail": exc.detail}
        )
        return
    await websocket.send_json({"type": "accepted", "call_id": call_id, "revision": revision})
