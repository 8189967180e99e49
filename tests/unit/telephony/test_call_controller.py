"""CallController: ARI events to tickets and hub messages, transfers, recovery, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from telephony_bridge.calls import CallController
from telephony_bridge.errors import CallEnded, CallNotFound, TelephonyError
from telephony_bridge.hub import EVENTS_TOPIC
from telephony_bridge.state import CallStateStore
from tests.unit.telephony.ari_fakes import MockAri, channel, event
from tests.unit.telephony.fake_intake import FakeIntake
from tickets.errors import InvalidTransition
from tickets.intake import Channel as TicketChannel
from tickets.intake import Contact, ContactRequest

Make = Callable[..., tuple[CallController, FakeIntake]]
ID = "1700000000.1"


async def feed(controller: CallController, *raws: str) -> list[dict[str, Any]]:
    """Handle messages in order and return what was published."""
    subscription = await controller.hub.subscribe(EVENTS_TOPIC)
    for raw in raws:
        controller.submit(raw)
    await controller.drain()
    await subscription.close()
    return [m async for m in subscription]


def start(channel_id: str = ID, number: str = "0900000101") -> str:
    return event("StasisStart", channel=channel(channel_id, number), args=[])


def up(channel_id: str = ID) -> str:
    return event("ChannelStateChange", channel=channel(channel_id, state="Up"))


def end(channel_id: str = ID, at: str = "2026-12-04T10:01:01.000+0700") -> str:
    return event("StasisEnd", timestamp=at, channel=channel(channel_id))


class TestLifecycle:
    def test_a_call_becomes_a_ticket_with_duration_and_outcome(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        controller, intake = make_controller()
        finished = {
            "name": f"call-{ID}",
            "format": "wav",
            "state": "done",
            "target_uri": f"channel:{ID}",
            "duration": 55,
        }
        messages = asyncio.run(
            feed(
                controller,
                start(),
                up(),
                event("RecordingFinished", recording=finished),
                end(),
                event(
                    "ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=channel(ID)
                ),
            )
        )
        ticket = intake.tickets[1]
        assert ticket.request.thread_key == "0900000101"
        assert ticket.request.contact.phone == "0900000101"
        assert intake.actions(1) == ["recording", "call"]
        assert ticket.log[0][1]["uri"].endswith(f"call-{ID}.wav")
        assert ticket.log[0][1]["duration"] == 55.0
        assert ticket.log[1][1] == {
            "duration": 60.0,
            "outcome": "answered",
            "actor": "system:telephony",
        }
        kinds = [m["type"] for m in messages]
        assert kinds == ["call_started", "call_state", "recording_attached", "call_ended"]
        assert [m["seq"] for m in messages] == sorted(m["seq"] for m in messages)
        assert messages[0]["ticket"]["number"] == "1022-2026-000001"
        # answered, bridged and recorded through ARI
        posts = mock_ari.paths()
        assert posts[:4] == [
            f"/ari/channels/{ID}/answer",
            "/ari/bridges",
            "/ari/bridges/bridge-1/addChannel",
            f"/ari/channels/{ID}/record",
        ]

    def test_unanswered_call_is_abandoned(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        asyncio.run(feed(controller, start(), end()))
        assert intake.tickets[1].log[-1][1]["outcome"] == "abandoned"

    def test_repeat_caller_reuses_the_open_ticket_and_sees_history(
        self, make_controller: Make
    ) -> None:
        controller, intake = make_controller()
        old = intake.open_or_append(
            ContactRequest(
                channel=TicketChannel.ZALO,
                thread_key="zalo-1",
                content="Hỏi về hộ chiếu",
                contact=Contact(phone="0900000101"),
            )
        )
        intake.tickets[old.id].status = "closed"

        async def one_call_then_another() -> list[dict[str, Any]]:
            # Calls on two channels are handled concurrently: the second must come once the
            # first is over, as it does when a citizen calls back.
            first = await feed(controller, start("1.1"), end("1.1"))
            return first + await feed(controller, start("1.2"))

        messages = asyncio.run(one_call_then_another())
        assert len(intake.tickets) == 2  # the Zalo one and one for both calls
        first, second = [m for m in messages if m["type"] == "call_started"]
        assert (first["ticket"]["created"], second["ticket"]["created"]) == (True, False)
        # The screen-pop lists the caller's other tickets, not the one of this call.
        assert [t["number"] for t in second["screen_pop"]] == [old.number]
        assert second["screen_pop"][0]["channel"] == "zalo"

    def test_withheld_number_gets_one_ticket_per_call(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        asyncio.run(feed(controller, start("1.1", "anonymous"), start("1.2", "")))
        assert [t.request.thread_key for t in intake.tickets.values()] == ["1.1", "1.2"]

    def test_helper_channels_are_not_calls(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        media = channel("1.9", "", name="AudioSocket/127.0.0.1:9092-00000009")
        asyncio.run(feed(controller, event("StasisStart", channel=media, args=[])))
        assert intake.tickets == {} and controller.stats["helper_channels"] == 1

    def test_redelivered_start_makes_no_second_ticket(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        asyncio.run(feed(controller, start(), start()))
        assert len(intake.tickets) == 1 and controller.stats["duplicate_starts"] == 1

    def test_ari_failure_while_setting_up_keeps_the_call(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        mock_ari.fail["/record"] = 409
        controller, intake = make_controller()
        asyncio.run(feed(controller, start(), end()))
        assert controller.stats["ari_failures"] == 1
        assert intake.actions(1) == ["call"]


class TestBadInput:
    def test_bad_messages_are_counted_and_the_call_goes_on(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        messages = asyncio.run(
            feed(
                controller,
                start(),
                "{not json",
                event("StasisStart"),  # no channel
                event("BridgeVideoSourceChanged", bridge={"id": "b"}),
                event("ChannelDtmfReceived", digit="1", duration_ms=80, channel=channel("9.9")),
                event("ChannelHangupRequest", cause=16, channel=channel("9.9")),
                end(),
            )
        )
        assert controller.stats["bad_messages"] == 2
        assert controller.stats["unknown_events"] == 1
        assert controller.stats["unknown_channel_events"] == 2
        assert intake.actions(1) == ["call"]
        assert messages[-1]["type"] == "call_ended"

    def test_a_failing_intake_does_not_stop_other_calls(self, make_controller: Make) -> None:
        controller, intake = make_controller()

        def broken(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("database went away")

        asyncio.run(feed(controller, start("1.1")))
        intake.record_call = broken  # type: ignore[method-assign]
        asyncio.run(feed(controller, end("1.1"), start("1.2", "0900000102")))
        assert controller.stats["failed_events"] == 1
        assert len(intake.tickets) == 2

    def test_a_hub_that_is_down_costs_pushes_not_calls(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        controller, intake = make_controller()

        async def down(*_args: Any) -> None:
            raise ConnectionError("redis went away")

        controller.hub.publish = down  # type: ignore[method-assign]
        asyncio.run(feed(controller, start(), up(), end()))
        assert controller.stats["publish_failures"] == 3
        assert f"/ari/channels/{ID}/answer" in mock_ari.paths()  # the call was still answered
        assert intake.tickets[1].log[-1][1]["outcome"] == "answered"


class TestTransfer:
    def endpoints(self) -> dict[str, Any]:
        return {
            "agency_endpoints": {"PCCC-HN": "PJSIP/114@trunk"},
            "dtmf_transfer": {"9": "PCCC-HN"},
        }

    def test_dtmf_rule_redirects_and_logs_with_the_recording(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        controller, intake = make_controller(**self.endpoints())
        dtmf = event("ChannelDtmfReceived", digit="9", duration_ms=100, channel=channel(ID))
        messages = asyncio.run(feed(controller, start(), up(), dtmf, end()))
        assert (f"/ari/channels/{ID}/redirect") in mock_ari.paths()
        redirect = [p for m, path, p in mock_ari.requests if path.endswith("/redirect")][0]
        assert redirect == {"endpoint": "PJSIP/114@trunk"}
        assert intake.actions(1) == ["recording", "transfer", "call"]
        assert intake.tickets[1].log[1][1]["agency"] == "PCCC-HN"
        assert intake.tickets[1].log[-1][1]["outcome"] == "transferred"
        transferred = [m for m in messages if m["type"] == "call_transferred"][0]
        assert transferred["call"]["transferred_to"] == "PCCC-HN"

    def test_operator_transfer_errors(self, make_controller: Make) -> None:
        controller, _ = make_controller(**self.endpoints())

        async def scenario() -> None:
            with pytest.raises(CallNotFound):
                await controller.transfer("nope", agency_code="PCCC-HN", reason="r", actor="op")
            await feed(controller, start())
            with pytest.raises(TelephonyError, match="no transfer endpoint for agency 'XX'"):
                await controller.transfer(ID, agency_code="XX", reason="r", actor="op")
            await feed(controller, end())
            with pytest.raises(CallEnded):
                await controller.transfer(ID, agency_code="PCCC-HN", reason="r", actor="op")

        asyncio.run(scenario())

    def test_ticket_refusal_is_noted_and_the_call_still_goes(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        controller, intake = make_controller(**self.endpoints())
        intake.fail_transfer = InvalidTransition(
            current="closed", requested="transfer", allowed=["reopened"]
        )

        async def scenario() -> list[dict[str, Any]]:
            await feed(controller, start())
            subscription = await controller.hub.subscribe(EVENTS_TOPIC)
            await controller.handle_command(
                {
                    "type": "transfer",
                    "call_id": ID,
                    "agency_code": "PCCC-HN",
                    "reason": "cháy nhà",
                    "actor": "operator:thu",
                }
            )
            await subscription.close()
            return [m async for m in subscription]

        messages = asyncio.run(scenario())
        assert any(p.endswith("/redirect") for p in mock_ari.paths())
        assert "cannot move a ticket from 'closed'" in messages[0]["ticket_error"]
        kind, entry = intake.tickets[1].log[-1]
        assert kind == "entry" and "PCCC-HN" in entry["text"]

    def test_failed_command_is_published(self, make_controller: Make, mock_ari: MockAri) -> None:
        controller, _ = make_controller(**self.endpoints())
        mock_ari.fail["/redirect"] = 422

        async def scenario() -> list[dict[str, Any]]:
            await feed(controller, start())
            subscription = await controller.hub.subscribe(EVENTS_TOPIC)
            await controller.handle_command(
                {"type": "transfer", "call_id": ID, "agency_code": "PCCC-HN", "request_id": "r1"}
            )
            await controller.handle_command({"type": "reboot"})
            await subscription.close()
            return [m async for m in subscription]

        messages = asyncio.run(scenario())
        assert [m["type"] for m in messages] == ["transfer_failed"]
        assert "422" in messages[0]["detail"] and messages[0]["request_id"] == "r1"


class TestTranscriptLog:
    def test_final_segments_are_kept_in_the_ticket_log(self, make_controller: Make) -> None:
        controller, intake = make_controller()

        async def scenario() -> None:
            await feed(controller, start())
            segment = {"text": "Tôi hỏi về hộ chiếu.", "speaker": "citizen", "final": True}
            await controller.handle_command(
                {"type": "transcript", "call_id": ID, "segment": segment}
            )
            await controller.handle_command(
                {"type": "transcript", "call_id": ID, "segment": {"text": ""}}
            )  # invalid: skipped
            await controller.handle_command(
                {"type": "transcript", "call_id": "nope", "segment": segment}
            )

        asyncio.run(scenario())
        entries = [e for kind, e in intake.tickets[1].log if kind == "entry"]
        assert [e["text"] for e in entries] == ["Người gọi: Tôi hỏi về hộ chiếu."]
        assert entries[0]["kind"].value == "transcript"
        assert controller.stats["orphan_segments"] == 1


class TestRecovery:
    def test_restart_finishes_vanished_calls_and_adopts_new_ones(
        self, make_controller: Make, mock_ari: MockAri, tmp_path: Path
    ) -> None:
        path = tmp_path / "state.sqlite"
        first, intake = make_controller(store=CallStateStore(path))
        asyncio.run(feed(first, start("1.1"), up("1.1"), start("1.2")))
        first.store.close()

        # While the bridge was down: 1.1 hung up, 1.2 is still there and 1.3 came in.
        mock_ari.channels = [channel("1.2", state="Up"), channel("1.3", "0900000103")]
        second, _ = make_controller(store=CallStateStore(path))
        second.intake = intake

        async def scenario() -> list[dict[str, Any]]:
            subscription = await second.hub.subscribe(EVENTS_TOPIC)
            await second.reconcile()
            await subscription.close()
            return [m async for m in subscription]

        messages = asyncio.run(scenario())
        assert intake.tickets[1].log[-1][1]["outcome"] == "answered"
        # The recording of the call that ended unseen is attached all the same.
        recording = [entry for kind, entry in intake.tickets[1].log if kind == "recording"]
        assert recording and recording[0]["uri"].endswith("call-1.1.wav")
        assert [m["type"] for m in messages] == ["call_ended", "call_state", "call_started"]
        assert messages[0]["reconciled"] is True
        assert {r.channel_id for r in second.store.active()} == {"1.2", "1.3"}
        assert len(intake.tickets) == 2  # 1.1 and 1.2 share the caller's open ticket

    def test_a_failed_ticket_write_is_retried_by_reconciliation(
        self, make_controller: Make, mock_ari: MockAri
    ) -> None:
        controller, intake = make_controller()
        real_record_call = intake.record_call

        def down(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("database briefly away")

        asyncio.run(feed(controller, start(), up()))
        intake.record_call = down  # type: ignore[method-assign]
        asyncio.run(feed(controller, end()))
        assert controller.stats["failed_events"] == 1
        assert [r.channel_id for r in controller.store.active()] == [ID]

        intake.record_call = real_record_call  # type: ignore[method-assign]
        mock_ari.channels = []  # Asterisk no longer has the channel
        asyncio.run(controller.reconcile())
        assert controller.store.active() == []
        assert intake.tickets[1].log[-1][1]["outcome"] == "answered"


class TestResync:
    def test_calls_in_progress_are_published_again_on_request(self, make_controller: Make) -> None:
        controller, intake = make_controller()
        intake.open_or_append(
            ContactRequest(
                channel=TicketChannel.ZALO,
                thread_key="zalo-9",
                content="Hỏi về hộ chiếu",
                contact=Contact(phone="0900000102"),
                actor="t",
            )
        )
        other = "1700000000.2"

        async def scenario() -> list[dict[str, Any]]:
            await feed(controller, start(), start(other, "0900000102"), end())
            subscription = await controller.hub.subscribe(EVENTS_TOPIC)
            await controller.handle_command({"type": "resync", "call_id": ""})
            await subscription.close()
            return [m async for m in subscription]

        messages = asyncio.run(scenario())
        # The ended call is not sent again; the live one comes with its ticket and screen-pop.
        assert [(m["type"], m["call_id"]) for m in messages] == [("call_resync", other)]
        assert messages[0]["call"]["ticket"]["number"] == messages[0]["ticket"]["number"]
        assert [t["summary"] for t in messages[0]["screen_pop"]] == ["Hỏi về hộ chiếu"]
