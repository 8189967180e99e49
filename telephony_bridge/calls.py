"""Call lifecycle: ARI events in, tickets and call events out.

``CallController`` is the bridge's brain. For each caller channel that enters the Stasis
application it opens (or reuses) a ticket through ``tickets.intake.TicketIntake``, fetches the
caller's past tickets for the operator's screen-pop, answers, bridges and records the call, and
publishes a ``call_started`` message on the hub. Later events update the call; RecordingFinished
attaches the recording; StasisEnd or ChannelDestroyed (whichever comes first) stores duration
and outcome. Transfers, by the operator or by a rule (a DTMF digit, an emergency route from the
answer service), redirect the channel to the agency's endpoint and are logged in the ticket.

Thread key: calls are filed under the caller's number (``ContactRequest.thread_key``), so a
citizen who calls again while their ticket is still open adds to that ticket instead of opening
a second one. Withheld numbers fall back to the channel id: one ticket per call.

Events of one channel are handled in arrival order; different channels run concurrently.
Nothing here raises out of ``handle_message``: bad messages, unknown types and events for
channels the bridge does not know are logged and counted in ``stats``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from search.errors import PlatformError
from telephony_bridge.ari_client import AriRestClient
from telephony_bridge.ari_models import AriEvent, Channel, parse_event
from telephony_bridge.errors import AriError, CallEnded, CallNotFound, TelephonyError
from telephony_bridge.hub import COMMANDS_TOPIC, EVENTS_TOPIC, CallHub, Message
from telephony_bridge.recognizer import TranscriptSegment
from telephony_bridge.state import CallRecord, CallStateStore
from tickets.intake import Channel as TicketChannel
from tickets.intake import Contact, ContactRequest, EntryKind, TicketIntake, TicketSummary

logger = logging.getLogger(__name__)

ACTOR = "system:telephony"
SPEAKER_LABELS = {"citizen": "Người gọi", "operator": "Điện thoại viên"}
WITHHELD_NUMBERS = frozenset({"", "anonymous", "unknown", "restricted", "private"})
# Channels the bridge creates itself (externalMedia) enter the application too; they are not calls.
HELPER_CHANNEL_PREFIXES = ("AudioSocket/", "UnicastRTP/", "Snoop/")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def thread_key_for(channel: Channel) -> str:
    """The caller's number, or the channel id when the number is withheld."""
    number = channel.caller.number.strip()
    return channel.id if number.lower() in WITHHELD_NUMBERS else number


def _summary(ticket: TicketSummary) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "channel": ticket.channel.value,
        "kind": ticket.kind.value,
        "status": ticket.status,
        "field": ticket.field,
        "summary": ticket.summary,
        "created_at": ticket.created_at.isoformat(),
        "answered_at": ticket.answered_at.isoformat() if ticket.answered_at else None,
    }


def call_snapshot(record: CallRecord) -> dict[str, Any]:
    """What an operator console shows of a call."""
    return {
        "call_id": record.channel_id,
        "caller": {"name": record.caller_name, "number": record.caller_number},
        "state": record.state,
        "started_at": record.started_at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "outcome": record.outcome,
        "ticket": {"id": record.ticket_id, "number": record.ticket_number},
        "recording": record.recording_name,
        "transferred_to": record.transferred_to,
    }


class CallController:
    """Turns ARI events into ticket writes and hub messages; carries out transfers.

    Args:
        ari: The REST client.
        intake: Where calls become tickets.
        store: The bridge's local call state.
        hub: Where call events are published.
        app: The Stasis application name.
        record_calls: Record every call from the moment it is answered.
        recording_format: ``wav``, ``gsm`` … as Asterisk names formats.
        recording_uri_prefix: Put before ``<name>.<format>`` to make the URI stored on the ticket.
        agency_endpoints: Agency code → ARI endpoint used by transfers.
        dtmf_transfer: DTMF digit → agency code (a transfer rule).
        media_host: ``host:port`` of the AudioSocket receiver for externalMedia; empty: none.
        media_format: ``slin`` or ``slin16``.
        clock: The current aware time (tests freeze it).
    """

    def __init__(
        self,
        *,
        ari: AriRestClient,
        intake: TicketIntake,
        store: CallStateStore,
        hub: CallHub,
        app: str,
        record_calls: bool = True,
        recording_format: str = "wav",
        recording_uri_prefix: str = "",
        agency_endpoints: Mapping[str, str] | None = None,
        dtmf_transfer: Mapping[str, str] | None = None,
        media_host: str = "",
        media_format: str = "slin16",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ari = ari
        self.intake = intake
        self.store = store
        self.hub = hub
        self.app = app
        self.record_calls = record_calls
        self.recording_format = recording_format
        self.recording_uri_prefix = recording_uri_prefix
        self.agency_endpoints = dict(agency_endpoints or {})
        self.dtmf_transfer = dict(dtmf_transfer or {})
        self.media_host = media_host
        self.media_format = media_format
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pending: set[asyncio.Task[None]] = set()
        self._media: dict[str, str] = {
            r.media_uuid: r.channel_id for r in store.active() if r.media_uuid
        }
        self._seq = 0

    # ----------------------------------------------------------------- event intake

    def submit(self, raw: str | bytes) -> None:
        """Handle a raw WebSocket message in the background (per-channel order kept)."""
        task = asyncio.get_running_loop().create_task(self.handle_message(raw))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait until every submitted message has been handled."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def handle_message(self, raw: str | bytes) -> None:
        """Parse and handle one message; never raises."""
        self.stats["messages"] += 1
        try:
            event = parse_event(raw)
        except TelephonyError as exc:
            self.stats["bad_messages"] += 1
            logger.warning("ARI message skipped: %s", exc.detail)
            return
        if not event.known:
            self.stats["unknown_events"] += 1
            logger.info("ARI event %s is not handled; skipped", event.type)
            return
        channel_id = event.channel_id
        if channel_id is None:
            self.stats["unknown_channel_events"] += 1
            logger.warning("%s names no caller channel; skipped", event.type)
            return
        lock = self._locks[channel_id]
        async with lock:
            try:
                await self.handle(event)
            except Exception:  # one failing call must not stop the others
                self.stats["failed_events"] += 1
                logger.exception("handling %s for channel %s failed", event.type, channel_id)
        if event.type == "ChannelDestroyed" and not lock.locked():
            self._locks.pop(channel_id, None)  # the last event of a channel

    async def handle(self, event: AriEvent) -> None:
        """Apply one parsed event (the caller holds the channel's lock)."""
        if event.type == "StasisStart" and event.channel is not None:
            await self._start(event.channel, event.timestamp)
            return
        record = self.store.get(event.channel_id or "")
        if record is None:
            self.stats["unknown_channel_events"] += 1
            logger.warning("%s for unknown channel %s; skipped", event.type, event.channel_id)
            return
        self.stats[event.type] += 1
        handler = {
            "ChannelStateChange": self._state_changed,
            "ChannelDtmfReceived": self._dtmf,
            "ChannelHangupRequest": self._hangup_requested,
            "RecordingFinished": self._recording_finished,
            "RecordingFailed": self._recording_failed,
            "StasisEnd": self._ended,
            "ChannelDestroyed": self._ended,
        }.get(event.type)
        if handler is not None:
            await handler(record, event)

    # ----------------------------------------------------------------- lifecycle

    def _is_helper(self, channel: Channel) -> bool:
        return channel.name.startswith(HELPER_CHANNEL_PREFIXES)

    async def _start(self, channel: Channel, at: datetime | None) -> None:
        if self._is_helper(channel):
            self.stats["helper_channels"] += 1
            return
        if self.store.get(channel.id) is not None:
            # A StasisStart seen again (redelivery, or adopted during reconciliation).
            self.stats["duplicate_starts"] += 1
            return
        self.stats["StasisStart"] += 1
        record = CallRecord(
            channel_id=channel.id,
            caller_number=channel.caller.number,
            caller_name=channel.caller.name,
            channel_name=channel.name,
            started_at=at or self.clock(),
            state=channel.state,
        )
        contact = Contact(name=channel.caller.name or None, phone=channel.caller.number or None)
        request = ContactRequest(
            channel=TicketChannel.PHONE,
            thread_key=thread_key_for(channel),
            content="Cuộc gọi đến tổng đài 1022.",
            contact=contact,
            actor=ACTOR,
            received_at=record.started_at,
        )
        # The screen-pop is read while the ticket is written; the new ticket is filtered out.
        history_task = None
        if contact.phone:
            history_task = asyncio.ensure_future(
                asyncio.to_thread(self.intake.history_for_contact, contact)
            )
        try:
            ref = await asyncio.to_thread(self.intake.open_or_append, request)
        finally:
            history: list[TicketSummary] = await history_task if history_task else []
        record.ticket_id, record.ticket_number = ref.id, ref.number
        self.store.save(record)
        await self.publish(
            "call_started",
            record,
            ticket={"id": ref.id, "number": ref.number, "created": ref.created},
            screen_pop=[_summary(t) for t in history if t.id != ref.id],
        )
        logger.info("call %s started, ticket %s", channel.id, ref.number)
        await self._connect_media(record)

    async def _connect_media(self, record: CallRecord) -> None:
        """Answer, bridge, record and (when configured) stream audio to the recognizer."""
        try:
            await self.ari.answer(record.channel_id)
            record.bridge_id = await self.ari.create_bridge(name=f"call-{record.channel_id}")
            await self.ari.add_channel(record.bridge_id, [record.channel_id])
            if self.record_calls:
                name = f"call-{record.channel_id}"
                await self.ari.record(record.channel_id, name=name, fmt=self.recording_format)
                record.recording_name = name
            if self.media_host:
                record.media_uuid = str(uuid.uuid4())
                media = await self.ari.external_media(
                    app=self.app,
                    external_host=self.media_host,
                    media_uuid=record.media_uuid,
                    fmt=self.media_format,
                )
                await self.ari.add_channel(record.bridge_id, [media.id])
                self._media[record.media_uuid] = record.channel_id
        except AriError as exc:
            self.stats["ari_failures"] += 1
            logger.warning("setting up call %s failed: %s", record.channel_id, exc.detail)
        finally:
            self.store.save(record)

    async def _state_changed(self, record: CallRecord, event: AriEvent) -> None:
        assert event.channel is not None
        record.state = event.channel.state
        if record.state == "Up" and record.answered_at is None:
            record.answered_at = event.timestamp or self.clock()
        self.store.save(record)
        await self.publish("call_state", record)

    async def _dtmf(self, record: CallRecord, event: AriEvent) -> None:
        digit = event.digit or ""
        record.dtmf.append(digit)
        self.store.save(record)
        await self.publish("dtmf", record, digit=digit)
        agency = self.dtmf_transfer.get(digit)
        if agency and record.transferred_to is None:
            await self._transfer(record, agency_code=agency, reason=f"DTMF {digit}", actor=ACTOR)

    async def _hangup_requested(self, record: CallRecord, event: AriEvent) -> None:
        record.hangup_cause = event.cause
        self.store.save(record)
        await self.publish("hangup_requested", record, cause=event.cause)

    async def _recording_finished(self, record: CallRecord, event: AriEvent) -> None:
        assert event.recording is not None
        recording = event.recording
        uri = f"{self.recording_uri_prefix}{recording.name}.{recording.format}"
        if record.ticket_id is not None:
            await asyncio.to_thread(
                self.intake.attach_recording,
                record.ticket_id,
                uri=uri,
                duration_seconds=float(recording.duration) if recording.duration else None,
                actor=ACTOR,
            )
        record.recording_name = recording.name
        record.recording_attached = True
        self.store.save(record)
        await self.publish("recording_attached", record, uri=uri, duration=recording.duration)

    async def _recording_failed(self, record: CallRecord, event: AriEvent) -> None:
        assert event.recording is not None
        cause = event.recording.cause or "unknown"
        if record.ticket_id is not None:
            await asyncio.to_thread(
                self.intake.add_entry,
                record.ticket_id,
                kind=EntryKind.NOTE,
                text=f"Ghi âm cuộc gọi thất bại: {cause}",
                actor=ACTOR,
            )
        await self.publish("recording_failed", record, cause=cause)

    async def _ended(self, record: CallRecord, event: AriEvent) -> None:
        if not record.active:
            return
        if event.cause is not None:
            record.hangup_cause = event.cause
        await self._finish(record, event.timestamp or self.clock())

    async def _finish(self, record: CallRecord, at: datetime, *, reconciled: bool = False) -> None:
        record.ended_at = at
        if record.transferred_to:
            record.outcome = "transferred"
        elif record.answered_at is not None:
            record.outcome = "answered"
        else:
            record.outcome = "abandoned"
        seconds = max(0.0, (at - record.started_at).total_seconds())
        if reconciled and record.recording_name and not record.recording_attached:
            # Its RecordingFinished went out while the bridge was away; the file is there.
            await self._attach_unfinished_recording(record)
        if record.ticket_id is not None:
            await asyncio.to_thread(
                self.intake.record_call,
                record.ticket_id,
                duration_seconds=round(seconds, 3),
                outcome=record.outcome,
                actor=ACTOR,
            )
        self.store.save(record)
        if record.media_uuid:
            self._media.pop(record.media_uuid, None)
        await self.publish(
            "call_ended", record, duration_seconds=round(seconds, 3), reconciled=reconciled
        )
        logger.info("call %s ended: %s after %.1f s", record.channel_id, record.outcome, seconds)

    # ----------------------------------------------------------------- transfers

    async def transfer(self, channel_id: str, *, agency_code: str, reason: str, actor: str) -> None:
        """Redirect a live call to an agency's endpoint and log it in the ticket.

        Raises:
            CallNotFound: No such call.
            CallEnded: The call is over or already transferred.
            TelephonyError: No endpoint is configured for the agency.
            AriError: Asterisk refused the redirect.
        """
        async with self._locks[channel_id]:
            record = self.store.get(channel_id)
            if record is None:
                raise CallNotFound(f"no call {channel_id}")
            if not record.active:
                raise CallEnded(f"call {channel_id} has ended")
            if record.transferred_to is not None:
                raise CallEnded(f"call {channel_id} was already transferred")
            await self._transfer(record, agency_code=agency_code, reason=reason, actor=actor)

    async def _transfer(
        self, record: CallRecord, *, agency_code: str, reason: str, actor: str
    ) -> None:
        endpoint = self.agency_endpoints.get(agency_code)
        if endpoint is None:
            known = ", ".join(sorted(self.agency_endpoints)) or "none configured"
            raise TelephonyError(f"no transfer endpoint for agency {agency_code!r} ({known})")
        # The caller is connected first: an urgent call must not wait on paperwork.
        await self.ari.redirect(record.channel_id, endpoint)
        record.transferred_to = agency_code
        self.store.save(record)
        ticket_detail = ""
        if record.ticket_id is not None:
            ticket_detail = await self._log_transfer(record, agency_code, reason, actor)
        await self.publish(
            "call_transferred",
            record,
            agency_code=agency_code,
            reason=reason,
            actor=actor,
            ticket_error=ticket_detail or None,
        )
        logger.info("call %s transferred to %s by %s", record.channel_id, agency_code, actor)

    async def _log_transfer(
        self, record: CallRecord, agency_code: str, reason: str, actor: str
    ) -> str:
        assert record.ticket_id is not None
        if record.recording_name and not record.recording_attached:
            # The agency gets the recording with the ticket; RecordingFinished adds its length.
            await self._attach_unfinished_recording(record)
        try:
            await asyncio.to_thread(
                self.intake.transfer,
                record.ticket_id,
                agency_code=agency_code,
                reason=reason,
                actor=actor,
            )
        except PlatformError as exc:
            # The call went through; the ticket says why its status could not follow.
            logger.warning("ticket of call %s not transferred: %s", record.channel_id, exc.detail)
            await asyncio.to_thread(
                self.intake.add_entry,
                record.ticket_id,
                kind=EntryKind.NOTE,
                text=f"Cuộc gọi đã chuyển tới {agency_code} ({reason}); phiếu chưa chuyển: "
                f"{exc.detail}",
                actor=actor,
            )
            return exc.detail
        return ""

    async def _attach_unfinished_recording(self, record: CallRecord) -> None:
        if record.ticket_id is None or record.recording_name is None:
            return
        uri = f"{self.recording_uri_prefix}{record.recording_name}.{self.recording_format}"
        await asyncio.to_thread(
            self.intake.attach_recording,
            record.ticket_id,
            uri=uri,
            duration_seconds=None,
            actor=ACTOR,
        )

    async def log_transcript(self, call_id: str, segment: TranscriptSegment) -> None:
        """Keep a final transcript segment in the call's ticket log."""
        record = self.store.get(call_id)
        if record is None or record.ticket_id is None:
            self.stats["orphan_segments"] += 1
            logger.warning("transcript segment for unknown call %s; not logged", call_id)
            return
        speaker = SPEAKER_LABELS.get(segment.speaker, segment.speaker)
        await asyncio.to_thread(
            self.intake.add_entry,
            record.ticket_id,
            kind=EntryKind.TRANSCRIPT,
            text=f"{speaker}: {segment.text}",
            actor=ACTOR,
        )

    async def handle_command(self, message: Message) -> None:
        """Carry out a command from the answer service; the outcome is published, never raised."""
        kind = message.get("type")
        call_id = str(message.get("call_id", ""))
        if kind == "transcript":
            try:
                segment = TranscriptSegment.model_validate(message.get("segment"))
                await self.log_transcript(call_id, segment)
            except (ValueError, PlatformError) as exc:
                logger.warning("transcript of call %s not logged: %s", call_id, exc)
            return
        if kind == "resync":
            await self.resync()
            return
        if kind != "transfer":
            logger.warning("hub command %r is not known; skipped", kind)
            return
        try:
            await self.transfer(
                call_id,
                agency_code=str(message.get("agency_code", "")),
                reason=str(message.get("reason", "")),
                actor=str(message.get("actor", "operator")),
            )
        except PlatformError as exc:
            logger.warning("transfer of call %s failed: %s", call_id, exc.detail)
            await self._send(
                self._message(
                    "transfer_failed",
                    call_id,
                    detail=exc.detail,
                    agency_code=message.get("agency_code"),
                    request_id=message.get("request_id"),
                ),
            )

    # ----------------------------------------------------------------- recovery

    async def resync(self) -> None:
        """Publish every call in progress again, with its screen-pop, as ``call_resync``.

        Asked for by an answer service that (re)started or lost the hub while calls went on:
        pub/sub kept nothing for it, and its operators would otherwise see no call.
        """
        for record in self.store.active():
            history: list[TicketSummary] = []
            if record.caller_number and record.caller_number.lower() not in WITHHELD_NUMBERS:
                contact = Contact(name=record.caller_name or None, phone=record.caller_number)
                try:
                    history = await asyncio.to_thread(self.intake.history_for_contact, contact)
                except PlatformError as exc:
                    logger.warning("screen-pop of call %s not read: %s", record.channel_id, exc)
            await self.publish(
                "call_resync",
                record,
                ticket={"id": record.ticket_id, "number": record.ticket_number},
                screen_pop=[_summary(t) for t in history if t.id != record.ticket_id],
            )
        self.stats["resyncs"] += 1

    async def reconcile(self) -> None:
        """Bring the local state in line with Asterisk after a (re)connection.

        Calls the store holds that Asterisk no longer has ended while the bridge was away and
        are finished now; caller channels in the application that the store lacks are adopted
        as if their StasisStart had arrived.
        """
        # Calls known before the listing only: one that starts meanwhile is not "gone".
        known = self.store.active()
        channels = {c.id: c for c in await self.ari.list_channels()}
        for stale in known:
            async with self._locks[stale.channel_id]:
                record = self.store.get(stale.channel_id)
                if record is None or not record.active:
                    continue  # finished by its own events while we were listing
                channel = channels.get(record.channel_id)
                if channel is None:
                    self.stats["reconciled_ended"] += 1
                    await self._finish(record, self.clock(), reconciled=True)
                elif channel.state != record.state:
                    record.state = channel.state
                    if channel.state == "Up" and record.answered_at is None:
                        record.answered_at = self.clock()
                    self.store.save(record)
                    await self.publish("call_state", record)
        for channel in channels.values():
            in_app = channel.dialplan.app_name.lower() == "stasis" and (
                channel.dialplan.app_data.split(",")[0] == self.app
            )
            if in_app and not self._is_helper(channel) and self.store.get(channel.id) is None:
                async with self._locks[channel.id]:
                    self.stats["reconciled_adopted"] += 1
                    await self._start(channel, channel.creationtime)

    # ----------------------------------------------------------------- live audio

    def call_for_media(self, media_uuid: str) -> str | None:
        """The caller channel whose externalMedia stream carries ``media_uuid``."""
        return self._media.get(media_uuid)

    async def publish_segment(self, media_uuid: str, segment: TranscriptSegment) -> None:
        """Publish a recognizer segment for the call the AudioSocket stream belongs to."""
        call_id = self.call_for_media(media_uuid)
        if call_id is None:
            self.stats["orphan_segments"] += 1
            logger.warning("transcript segment for unknown media stream %s; skipped", media_uuid)
            return
        await self._send(self._message("transcript", call_id, segment=segment.model_dump()))
        if segment.final:
            await self.log_transcript(call_id, segment)

    # ----------------------------------------------------------------- publishing

    def _message(self, kind: str, call_id: str, **fields: Any) -> Message:
        self._seq += 1
        return {
            "type": kind,
            "call_id": call_id,
            "seq": self._seq,
            "at": self.clock().isoformat(),
            **fields,
        }

    async def publish(self, kind: str, record: CallRecord, **fields: Any) -> None:
        """Publish a call event with the call's snapshot.

        A hub that is down costs the consoles this push, never the call: the ticket and the
        state store are written before, and the call goes on being handled.
        """
        await self._send(
            self._message(kind, record.channel_id, call=call_snapshot(record), **fields)
        )

    async def _send(self, message: Message) -> None:
        try:
            await self.hub.publish(EVENTS_TOPIC, message)
        except Exception as exc:  # redis errors, closed connections
            self.stats["publish_failures"] += 1
            logger.warning(
                "call event %s of %s not published: %r", message["type"], message["call_id"], exc
            )


async def run_commands(controller: CallController, hub: CallHub) -> None:
    """Carry out commands from the answer service until cancelled; re-subscribe on failures."""
    delay = 0.5
    while True:
        try:
            subscription = await hub.subscribe(COMMANDS_TOPIC)
        except Exception as exc:
            logger.warning("cannot subscribe to commands (%r); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = 0.5
        try:
            async for message in subscription:
                await controller.handle_command(message)
            return  # the hub was closed
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("command subscription lost (%r); re-subscribing", exc)
        finally:
            await subscription.close()
