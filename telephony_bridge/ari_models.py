"""The parts of Asterisk's REST interface (ARI) data model the bridge reads.

Glossary: a *channel* is one leg of a call inside Asterisk (its ``id`` is the AMI Uniqueid);
a *call* is what the hotline sees: the caller's channel from StasisStart to StasisEnd. The
bridge keys calls by the caller's channel id.

Models keep ARI's own field names (``accountcode``, ``creationtime``, ``target_uri`` …) so a
message can be read back exactly as Asterisk wrote it; unknown extra fields are ignored because
newer Asterisk versions add fields (``protocol_id``, ``channelvars`` …).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from telephony_bridge.errors import AriEventError

# ARI writes offsets without a colon ("+0000"); pydantic wants "+00:00".
_OFFSET = re.compile(r"([+-]\d\d)(\d\d)$")

CHANNEL_STATES = (
    "Down",
    "Rsrvd",
    "OffHook",
    "Dialing",
    "Ring",
    "Ringing",
    "Up",
    "Busy",
    "Dialing Offhook",
    "Pre-ring",
    "Unknown",
)

# Event type → the fields it must carry besides ``type`` and ``application``.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "StasisStart": ("channel",),
    "StasisEnd": ("channel",),
    "ChannelStateChange": ("channel",),
    "ChannelDtmfReceived": ("channel", "digit"),
    "ChannelHangupRequest": ("channel",),
    "ChannelDestroyed": ("channel",),
    "RecordingStarted": ("recording",),
    "RecordingFinished": ("recording",),
    "RecordingFailed": ("recording",),
}


def parse_ari_time(value: Any) -> Any:
    """Accept ARI's ``2026-12-04T18:40:31.123+0000`` as well as ISO 8601."""
    if isinstance(value, str):
        return _OFFSET.sub(r"\1:\2", value)
    return value


def format_ari_time(moment: datetime) -> str:
    """Write a time the way ARI does: milliseconds and a colon-less offset."""
    text = moment.isoformat(timespec="milliseconds")
    return text[:-3] + text[-2:] if text[-3] == ":" else text


class CallerId(BaseModel):
    """A party's name and number (ARI CallerID)."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    number: str = ""


class DialplanCep(BaseModel):
    """Where the channel is in the dialplan: context, extension, priority and application."""

    model_config = ConfigDict(extra="ignore")

    context: str
    exten: str
    priority: int
    app_name: str = ""
    app_data: str = ""


class Channel(BaseModel):
    """An ARI Channel object."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    state: str
    caller: CallerId
    connected: CallerId = CallerId()
    accountcode: str = ""
    dialplan: DialplanCep
    creationtime: datetime
    language: str = "en"

    _time = field_validator("creationtime", mode="before")(parse_ari_time)


class LiveRecording(BaseModel):
    """An ARI LiveRecording object; ``target_uri`` is ``channel:<id>`` or ``bridge:<id>``."""

    model_config = ConfigDict(extra="ignore")

    name: str
    format: str
    target_uri: str
    state: str
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None

    @property
    def channel_id(self) -> str | None:
        """The channel id of a ``channel:<id>`` target."""
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "channel" and ident else None


class AriEvent(BaseModel):
    """One event from the ARI WebSocket; only the fields of its ``type`` are set."""

    model_config = ConfigDict(extra="ignore")

    type: str
    application: str = ""
    timestamp: datetime | None = None
    asterisk_id: str | None = None
    channel: Channel | None = None
    args: list[str] = []
    digit: str | None = None
    duration_ms: int | None = None
    cause: int | None = None
    cause_txt: str | None = None
    soft: bool | None = None
    recording: LiveRecording | None = None

    _time = field_validator("timestamp", mode="before")(parse_ari_time)

    @property
    def known(self) -> bool:
        """Whether the bridge handles this event type."""
        return self.type in EVENT_FIELDS

    @property
    def channel_id(self) -> str | None:
        """The channel this is about, if any."""
        if self.channel is not None:
            return self.channel.id
        return self.recording.channel_id if self.recording is not None else None


def parse_event(raw: str | bytes) -> AriEvent:
    """Read one WebSocket message as an ARI event.

    Unknown event types parse (``known`` is false) so the caller can log and skip them; a
    message that is not JSON, has no ``type`` or lacks a field its known type needs raises.

    Raises:
        AriEventError: The message cannot be used; the detail says why.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AriEventError(f"ARI message is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise AriEventError("ARI message has no string 'type'")
    try:
        event = AriEvent.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise AriEventError(f"{data['type']} has bad fields: {', '.join(fields)}") from exc
    missing = [name for name in EVENT_FIELDS.get(event.type, ()) if getattr(event, name) is None]
    if missing:
        raise AriEventError(f"{event.type} lacks {', '.join(missing)}")
    return event
