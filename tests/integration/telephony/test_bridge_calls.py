"""The bridge against the loopback ARI server, the real ticket service and real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from telephony_bridge.hub import EVENTS_TOPIC, RedisHub
from telephony_bridge.settings import BridgeSettings
from tests.integration.telephony.harness import AGENCY, AGENCY_ENDPOINT, running_bridge, until
from tests.utils.ari_server import FakeAriServer
from tickets.intake import Channel, Contact, ContactRequest

pytestmark = pytest.mark.integration

CALLER = "0900000201"


class Listener:
    """Collects the hub's call events in the background."""

    def __init__(self, hub: RedisHub) -> None:
        self.hub = hub
        self.messages: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listener:
        subscription = await self.hub.subscribe(EVENTS_TOPIC)

        async def follow() -> None:
            try:
                async for message in subscription:
                    self.messages.append(message)
            finally:
                await subscription.close()

        self._task = asyncio.create_task(follow())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def of(self, kind: str, call_id: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if m["type"] == kind and (call_id is None or m["call_id"] == call_id)
        ]


def hub_for(settings: BridgeSettings) -> RedisHub:
    return RedisHub(settings.redis_url, prefix=settings.redis_prefix)


def test_a_call_files_a_ticket_with_screen_pop_recording_and_outcome(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    earlier = tickets.open_or_append(
        ContactRequest(
            channel=Channel.SMS,
            thread_key=CALLER,
            content="Hỏi lịch tiếp dân tháng trước",
            contact=Contact(phone=CALLER),
            actor="system:sms",
        )
    )

    async def scenario() -> tuple[Listener, str]:
        hub = hub_for(bridge_settings)
        async with Listener(hub) as listener, running_bridge(bridge_settings, tickets, hub, ari):
            call_id = ari.start_call(CALLER, "Người Gọi Thử")
            await until(lambda: listener.of("call_state", call_id))
            await asyncio.sleep(1.1)  # a recording of at least a second
            ari.hang_up(call_id)
            await until(lambda: listener.of("call_ended", call_id))
        await hub.close()
        return listener, call_id

    listener, call_id = asyncio.run(scenario())
    started = listener.of("call_started", call_id)[0]
    ticket = tickets.get(started["ticket"]["id"])
    assert ticket.channel == Channel.PHONE and ticket.contact_phone == CALLER
    assert [t["number"] for t in started["screen_pop"]] == [earlier.number]
    assert ticket.recording_uri.endswith(f"call-{call_id}.wav")
    assert ticket.recording_seconds >= 1
    assert ticket.call_outcome == "answered" and ticket.call_seconds >= 1
    kinds = [m["type"] for m in listener.messages if m["call_id"] == call_id]
    assert kinds == [
        "call_started",
        "call_state",
        "hangup_requested",
        "recording_attached",
        "call_ended",
    ]
    # Asterisk was asked to answer, bridge and record the call, with the configured auth.
    paths = [p for m, p, _ in ari.requests if m == "POST"]
    assert f"/ari/channels/{call_id}/answer" in paths
    assert f"/ari/channels/{call_id}/record" in paths
    assert ari.auth_failures == 0


def test_dtmf_rule_transfers_an_urgent_call_with_its_recording(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    async def scenario() -> tuple[Listener, str]:
        hub = hub_for(bridge_settings)
        async with Listener(hub) as listener, running_bridge(bridge_settings, tickets, hub, ari):
            call_id = ari.start_call("0900000202")
            await until(lambda: listener.of("call_state", call_id))
            ari.press(call_id, "9")
            await until(lambda: listener.of("call_ended", call_id))
        await hub.close()
        return listener, call_id

    listener, call_id = asyncio.run(scenario())
    ticket_id = listener.of("call_started", call_id)[0]["ticket"]["id"]
    ticket = tickets.get(ticket_id)
    assert ticket.status == "transferred" and ticket.agency_code == AGENCY
    assert ticket.recording_uri and ticket.call_outcome == "transferred"
    assert ari.channels[call_id].redirected_to == AGENCY_ENDPOINT
    log = tickets.events(ticket_id)
    assert any("recording attached" in (e.text or "") for e in log)
    assert listener.of("call_transferred", call_id)[0]["actor"] == "system:telephony"


def test_restart_during_calls_loses_no_call_record(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    async def scenario() -> tuple[Listener, dict[str, str]]:
        hub = hub_for(bridge_settings)
        async with Listener(hub) as listener:
            async with running_bridge(bridge_settings, tickets, hub, ari):
                gone = ari.start_call("0900000203")
                stays = ari.start_call("0900000204")
                await until(lambda: len(listener.of("call_state")) == 2)
            # The bridge is down: one caller hangs up, another calls in; nobody hears events.
            ari.vanish(gone)
            arrived = ari.start_call("0900000205")
            assert ari.events_dropped >= 1
            async with running_bridge(bridge_settings, tickets, hub, ari):
                await until(lambda: listener.of("call_ended", gone))
                await until(lambda: listener.of("call_started", arrived))
                ari.hang_up(stays)
                ari.hang_up(arrived)
                await until(lambda: len(listener.of("call_ended")) == 3)
        await hub.close()
        return listener, {"gone": gone, "stays": stays, "arrived": arrived}

    listener, ids = asyncio.run(scenario())
    outcomes = {}
    for name, call_id in ids.items():
        (started,) = listener.of("call_started", call_id)
        outcomes[name] = tickets.get(started["ticket"]["id"]).call_outcome
    assert outcomes == {"gone": "answered", "stays": "answered", "arrived": "answered"}
    (gone_start,) = listener.of("call_started", ids["gone"])
    assert tickets.get(gone_start["ticket"]["id"]).recording_uri  # attached though unseen
    assert listener.of("call_ended", ids["gone"])[0]["reconciled"] is True


def test_a_dropped_websocket_reconnects_and_calls_go_on(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    async def scenario() -> tuple[Listener, int]:
        hub = hub_for(bridge_settings)
        async with (
            Listener(hub) as listener,
            running_bridge(bridge_settings, tickets, hub, ari) as bridge,
        ):
            before = ari.start_call("0900000206")
            await until(lambda: listener.of("call_state", before))
            ari.drop_connections()
            await until(lambda: bridge.stream.connections >= 2)
            await asyncio.sleep(0.1)
            ari.hang_up(before)
            after = ari.start_call("0900000207")
            ari.hang_up(after)
            await until(lambda: len(listener.of("call_ended")) == 2)
            connections = bridge.stream.connections
        await hub.close()
        return listener, connections

    listener, connections = asyncio.run(scenario())
    assert connections >= 2
    assert len(listener.of("call_started")) == 2


def test_bad_input_is_logged_and_survived(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    async def scenario() -> tuple[Listener, Any]:
        hub = hub_for(bridge_settings)
        async with (
            Listener(hub) as listener,
            running_bridge(bridge_settings, tickets, hub, ari) as bridge,
        ):
            call_id = ari.start_call("0900000208")
            await until(lambda: listener.of("call_state", call_id))
            ari.send_raw("this is not JSON")
            ari.send_raw('{"no": "type"}')
            ari.send_event("TextMessageReceived", message={"from": "x", "to": "y", "body": "z"})
            ari.send_event(
                "ChannelDtmfReceived",
                digit="5",
                duration_ms=90,
                channel=ari.channels[call_id].to_ari() | {"id": "999.999"},
            )
            ari.send_event("StasisStart", args=[])  # no channel
            ari.hang_up(call_id)
            await until(lambda: listener.of("call_ended", call_id))
            stats = dict(bridge.controller.stats)
        await hub.close()
        return listener, stats

    listener, stats = asyncio.run(scenario())
    assert stats["bad_messages"] == 3
    assert stats["unknown_events"] == 1
    assert stats["unknown_channel_events"] == 1
    ticket = tickets.get(listener.of("call_started")[0]["ticket"]["id"])
    assert ticket.call_outcome == "answered"


def test_wrong_credentials_are_retried_not_fatal(
    ari: FakeAriServer, tickets: Any, bridge_settings: BridgeSettings
) -> None:
    from pydantic import SecretStr

    from telephony_bridge.bridge import TelephonyBridge

    settings = bridge_settings.model_copy(update={"ari_password": SecretStr("wrong")})

    async def scenario() -> int:
        hub = hub_for(settings)
        bridge = TelephonyBridge(settings, intake=tickets, hub=hub)
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop))
        await until(lambda: bridge.stream.disconnections >= 3)
        stop.set()
        await task
        await bridge.aclose()
        await hub.close()
        return bridge.stream.connections

    assert asyncio.run(scenario()) == 0
    assert ari.auth_failures >= 3
