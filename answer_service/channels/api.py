"""HTTP endpoints of the channels: provider webhooks, the SMS gateways, web chat, campaigns.

Routes stay thin: read the raw body (signatures are over the bytes as sent), verify, hand the
message to the ``Inbox`` and answer at once. The inbox and the runtime live on
``app.state.channels``; when absent they are built from ``ChannelSettings`` on first use, with
a ``CeleryDispatcher``, so the API process never answers a citizen itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from answer_service.channels import messenger, zalo
from answer_service.channels.errors import ForgedWebhook, MalformedWebhook, UnsignedWebhook
from answer_service.channels.inbox import Inbox
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import ChannelSettings, get_channel_settings
from answer_service.channels.sms import gateways
from answer_service.channels.task_names import CAMPAIGN_EXPIRES_S, ChannelQueue, ChannelTask
from search.errors import ErrorCode, PlatformError
from tickets.intake import Channel

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/channels", tags=["channels"])

_SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
# How often an open chat socket looks for new replies in the store (one indexed query).
WEBCHAT_POLL_S = 0.25


@dataclass
class ChannelsState:
    """What the channel routes need, kept on ``app.state.channels``."""

    settings: ChannelSettings
    runtime: ChannelRuntime
    inbox: Inbox
    campaigns: Any = None  # Celery app used to schedule campaigns; None: not available


def get_channels(request: HTTPConnection) -> ChannelsState:
    """The channels' state of this app, built from the environment on first use."""
    state: ChannelsState | None = getattr(request.app.state, "channels", None)
    if state is None:
        from answer_service.channels.celery_app import create_channel_celery_app
        from answer_service.channels.tasks import CeleryDispatcher

        settings = get_channel_settings()
        runtime = ChannelRuntime.open(settings)
        celery = create_channel_celery_app(settings)
        state = ChannelsState(settings, runtime, runtime.inbox(CeleryDispatcher(celery)), celery)
        request.app.state.channels = state
    return state


ChannelsDep = Annotated[ChannelsState, Depends(get_channels)]


class RedactChannelQueries(logging.Filter):
    """Drops the query string of channel requests from uvicorn's access log.

    The eSMS-style gateway sends the citizen's number and message in the query string, and a
    web-chat reconnection carries its session there: neither belongs in a log file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(router.prefix) and "?" in path:
                record.args = (*args[:2], path.split("?", 1)[0] + "?[redacted]", *args[3:])
        return True


_access_log = logging.getLogger("uvicorn.access")
if not any(isinstance(f, RedactChannelQueries) for f in _access_log.filters):
    _access_log.addFilter(RedactChannelQueries())


def _ok(**extra: Any) -> dict[str, Any]:
    return {"status": "ok", **extra}


# Zalo ----------------------------------------------------------------------------------------


@router.post("/zalo/webhook")
async def zalo_webhook(
    request: Request,
    channels: ChannelsDep,
    x_zevent_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Zalo OA events; ``user_send_text`` and ``follow`` are handled, others logged and ignored."""
    body = await request.body()
    s = channels.settings
    event = zalo.parse_and_verify(
        body,
        x_zevent_signature,
        app_id=s.zalo_app_id,
        secret=s.zalo_oa_secret_key.get_secret_value(),
        max_age_s=s.event_max_age_s,
    )
    if event.kind == "ignored":
        logger.info("Zalo event %r ignored", event.event_name[:40])
        return _ok(ignored=event.event_name[:40])
    message_id = await run_in_threadpool(
        channels.inbox.receive,
        channel=Channel.ZALO,
        thread_key=event.user_id,
        text=event.text,
        dedupe_key=event.dedupe_key,
        kind="follow" if event.kind == "follow" else "text",
    )
    return _ok(duplicate=message_id is None)


# Messenger -----------------------------------------------------------------------------------


@router.get("/messenger/webhook", response_class=PlainTextResponse)
def messenger_verify(
    channels: ChannelsDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> str:
    """The subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    expected = channels.settings.messenger_verify_token.get_secret_value()
    return messenger.verify_handshake(mode, token, challenge, expected=expected)


@router.post("/messenger/webhook")
async def messenger_webhook(
    request: Request,
    channels: ChannelsDep,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Messenger deliveries: text messages are taken, echoes and other events ignored."""
    body = await request.body()
    secret = channels.settings.messenger_app_secret.get_secret_value()
    messenger.verify_signature(body, x_hub_signature_256, secret=secret)
    messages, ignored = messenger.parse_events(body)
    taken = 0
    for message in messages:
        stored = await run_in_threadpool(
            channels.inbox.receive,
            channel=Channel.FACEBOOK,
            thread_key=message.psid,
            text=message.text,
            dedupe_key=message.mid,
        )
        taken += stored is not None
    return _ok(taken=taken, ignored=ignored)


# SMS -----------------------------------------------------------------------------------------


async def _take_sms(channels: ChannelsState, sms: gateways.InboundSms) -> dict[str, Any]:
    message_id = await run_in_threadpool(channels.inbox.receive_sms, sms)
    return _ok(duplicate=message_id is None)


@router.post("/sms/inbound")
async def sms_inbound(
    request: Request,
    channels: ChannelsDep,
    x_hotline_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Provider-neutral inbound SMS: ``{"sender", "text", "message_id", "timestamp"}``."""
    s = channels.settings
    sms = gateways.parse_neutral_body(
        await request.body(),
        x_hotline_signature,
        secret=s.sms_inbound_secret.get_secret_value(),
        max_age_s=s.event_max_age_s,
    )
    return await _take_sms(channels, sms)


@router.get("/sms/esms")
async def sms_esms(request: Request, channels: ChannelsDep) -> JSONResponse:
    """eSMS-style inbound: a GET whose query string is signed (``Signature``)."""
    s = channels.settings
    params = dict(request.query_params)
    sms = gateways.parse_esms_query(
        params, secret=s.sms_inbound_secret.get_secret_value(), max_age_s=s.event_max_age_s
    )
    result = await _take_sms(channels, sms)
    return JSONResponse({"CodeResult": "100", **result})


@router.post("/sms/speedsms")
async def sms_speedsms(
    request: Request,
    channels: ChannelsDep,
    x_speedsms_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """SpeedSMS-style inbound: JSON signed in ``X-Speedsms-Signature``."""
    s = channels.settings
    sms = gateways.parse_speedsms_body(
        await request.body(),
        x_speedsms_signature,
        secret=s.sms_inbound_secret.get_secret_value(),
        max_age_s=s.event_max_age_s,
    )
    return await _take_sms(channels, sms)


class CampaignIn(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    scheduled_at: datetime | None = None


class CampaignOut(BaseModel):
    id: int
    scheduled_at: datetime
    status: str


@router.post("/sms/campaigns", status_code=202)
def create_campaign(
    body: CampaignIn,
    channels: ChannelsDep,
    x_hotline_admin_token: Annotated[str | None, Header()] = None,
) -> CampaignOut:
    """Schedule a broadcast to the opt-in list (needs ``X-Hotline-Admin-Token``)."""
    expected = channels.settings.campaign_token.get_secret_value()
    if not x_hotline_admin_token:
        raise UnsignedWebhook("X-Hotline-Admin-Token is required")
    if not expected or not hmac.compare_digest(x_hotline_admin_token, expected):
        raise ForgedWebhook("admin token does not match")
    when = body.scheduled_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise MalformedWebhook("scheduled_at needs a time zone, e.g. 2026-12-05T08:00:00+07:00")
    if channels.campaigns is None:
        raise PlatformError("campaigns need the Celery app", error_code=ErrorCode.CONFIGURATION)
    campaign_id = channels.runtime.store.create_campaign(body.text, when)
    channels.campaigns.send_task(
        ChannelTask.RUN_CAMPAIGN.value,
        kwargs={"campaign_id": campaign_id},
        queue=ChannelQueue.CHANNELS.value,
        eta=when,
        expires=CAMPAIGN_EXPIRES_S,
    )
    return CampaignOut(id=campaign_id, scheduled_at=when, status="scheduled")


# Web chat ------------------------------------------------------------------------------------


@router.websocket("/webchat/ws")
async def webchat(
    websocket: WebSocket, session: str | None = None, after: str | None = None
) -> None:
    """A chat session: the client sends ``{"text": …, "id": …}``, the server pushes replies.

    Connect without ``session`` to get a new one (sent as ``{"type": "session"}``); reconnect
    with it, and with ``after`` = the id of the last reply received, to continue the same
    conversation and get the replies written while the socket was closed. Replies come from
    the conversation store, so they arrive whichever worker wrote them.
    """
    await websocket.accept()
    channels = get_channels(websocket)
    store = channels.runtime.store
    if not session or not _SESSION.fullmatch(session):
        session = secrets.token_urlsafe(24)
    await websocket.send_json({"type": "session", "session": session})
    last_seen = 0
    conversation = await run_in_threadpool(store.find_conversation, Channel.WEB_CHAT.value, session)
    if conversation is not None:
        if after is not None and after.isascii() and after.isdigit():
            last_seen = int(after)
        else:
            history = await run_in_threadpool(store.messages, conversation.id)
            last_seen = history[-1].id if history else 0

    async def push_replies() -> None:
        nonlocal last_seen, conversation
        while True:
            await asyncio.sleep(WEBCHAT_POLL_S)
            if conversation is None:
                conversation = await run_in_threadpool(
                    store.find_conversation, Channel.WEB_CHAT.value, session
                )
                if conversation is None:
                    continue
            for message in await run_in_threadpool(
                store.messages, conversation.id, after_id=last_seen, direction="out"
            ):
                await websocket.send_json(
                    {
                        "type": "message",
                        "id": message.id,
                        "kind": message.kind,
                        "text": message.text,
                    }
                )
                last_seen = max(last_seen, message.id)

    pusher = asyncio.create_task(push_replies())
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            try:
                raw = frame.get("text")
                if raw is None:
                    raise ValueError("binary frame")
                data = json.loads(raw)
                text = data["text"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("empty text")
            except (ValueError, KeyError, TypeError):
                await websocket.send_json(
                    {"type": "error", "error_code": "bad_request", "detail": 'send {"text": "…"}'}
                )
                continue
            client_id = str(data.get("id") or secrets.token_hex(8))[:80]
            try:
                await run_in_threadpool(channels.inbox.receive_webchat, session, text, client_id)
            except PlatformError as exc:
                await websocket.send_json(
                    {"type": "error", "error_code": exc.error_code.code, "detail": exc.detail}
                )
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
