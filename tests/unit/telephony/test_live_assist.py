"""Live assist: debounced, revision-stamped suggestions and the live call registry."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from answer_service.schemas import SuggestIn, SuggestOut
from search.errors import SearchError
from telephony_bridge.errors import CallEnded, CallNotFound
from telephony_bridge.hub import COMMANDS_TOPIC, InProcessHub
from telephony_bridge.live import CallAssist, LiveCalls
from telephony_bridge.recognizer import TranscriptSegment


class RecordingSuggester:
    """Answers every request with the route it is told and remembers what it was asked."""

    def __init__(self, route: str = "procedure", delay: float = 0.0) -> None:
        self.route = route
        self.delay = delay
        self.asked: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, request: SuggestIn) -> SuggestOut:
        with self.lock:
            self.asked.append([t.text for t in request.conversation])
        time.sleep(self.delay)
        if not any(t.speaker == "citizen" for t in request.conversation):
            raise SearchError("conversation has no citizen words yet")
        return SuggestOut(
            route=self.route,
            route_reason="test",
            procedures=[],
            curated_answers=[],
            suggested_reply="",
            confidence=1.0,
            took_ms=0.0,
        )


def seg(text: str, final: bool = False, speaker: str = "citizen") -> TranscriptSegment:
    return TranscriptSegment(text=text, final=final, speaker=speaker)


async def assist_run(
    suggester: RecordingSuggester, steps: list[Any], debounce: float = 0.05
) -> tuple[CallAssist, list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []

    async def publish(message: dict[str, Any]) -> None:
        published.append(message)

    assist = CallAssist("c1", suggester, publish, debounce=debounce)
    assist.start()
    for step in steps:
        if isinstance(step, float):
            await asyncio.sleep(step)
        else:
            assist.add(step)
    await asyncio.sleep(min(debounce * 4, 0.3) + suggester.delay * 3)
    await assist.close()
    return assist, published


class TestCallAssist:
    def test_interim_burst_is_debounced_into_one_suggestion(self) -> None:
        suggester = RecordingSuggester()
        steps = [seg("tôi"), 0.01, seg("tôi muốn"), 0.01, seg("tôi muốn làm hộ chiếu")]
        assist, published = asyncio.run(assist_run(suggester, steps))
        assert suggester.asked == [["tôi muốn làm hộ chiếu"]]  # interim replaces interim
        assert [m["revision"] for m in published] == [3]
        assert assist.skipped_revisions == 2

    def test_sentence_end_does_not_wait_for_quiet(self) -> None:
        suggester = RecordingSuggester()
        steps = [seg("Cho tôi hỏi thủ tục đăng ký kết hôn.", final=True), 0.02]
        _, published = asyncio.run(assist_run(suggester, steps, debounce=5.0))
        assert [m["revision"] for m in published] == [1]
        assert published[0]["latency_ms"] < 1_000

    def test_segments_during_work_fold_into_the_next_run(self) -> None:
        suggester = RecordingSuggester(delay=0.15)
        steps = [
            seg("Câu một.", final=True),
            0.03,
            seg("Câu hai.", final=True),
            0.01,
            seg("Câu ba.", final=True),
        ]
        _, published = asyncio.run(assist_run(suggester, steps))
        assert [m["revision"] for m in published] == [1, 3]  # revision 2 skipped
        assert published[0]["latest_revision"] == 3
        assert suggester.asked[-1] == ["Câu một.", "Câu hai.", "Câu ba."]

    def test_the_query_is_the_recent_transcript(self) -> None:
        async def scenario() -> list[list[str]]:
            async def publish(_message: dict[str, Any]) -> None:
                pass

            assist = CallAssist("c1", RecordingSuggester(), publish)
            windows = []
            for text in ("a" * 200, "b" * 30, "c" * 30, "d" * 500):
                assist.add(seg(text, final=True))
                windows.append([t.text[0] for t in assist.conversation()])
            assist.add(seg("e" * 10))  # interim: last, replaced by the next interim
            windows.append([t.text[0] for t in assist.conversation()])
            return windows

        windows = asyncio.run(scenario())
        assert windows == [["a"], ["a", "b"], ["b", "c"], ["d"], ["e"]]

    def test_operator_only_transcript_publishes_nothing(self) -> None:
        suggester = RecordingSuggester()
        steps = [seg("Tổng đài 1022 xin nghe.", final=True, speaker="operator")]
        assist, published = asyncio.run(assist_run(suggester, steps))
        assert published == [] and assist.answered_revision == 1


def started(call_id: str = "c1", **extra: Any) -> dict[str, Any]:
    call = {
        "call_id": call_id,
        "caller": {"name": "", "number": "0900000101"},
        "state": "Ring",
        "ended_at": None,
        "transferred_to": None,
        **extra,
    }
    return {
        "type": "call_started",
        "call_id": call_id,
        "call": call,
        "screen_pop": [{"number": "1022-2026-000009"}],
    }


class TestLiveCalls:
    def test_registry_follows_events_and_refuses_bad_requests(self) -> None:
        async def scenario() -> None:
            live = LiveCalls(InProcessHub(), RecordingSuggester(), debounce_ms=10)
            with pytest.raises(CallNotFound):
                await live.add_segments("c1", [seg("a")])
            await live.apply({"type": "call_state", "call_id": "ghost"})  # no snapshot: skipped
            await live.apply({"call_id": "c1"})  # no type: skipped
            await live.apply(started())
            assert live.get("c1").screen_pop == [{"number": "1022-2026-000009"}]
            async with live.listen("c1") as queue:
                revision = await live.add_segments("c1", [seg("Hỏi về hộ chiếu.", final=True)])
                assert revision == 1
                first = await asyncio.wait_for(queue.get(), 1)
                second = await asyncio.wait_for(queue.get(), 1)
            assert (first["type"], second["type"]) == ("transcript", "suggestion")
            assert second["revision"] == 1
            await live.apply(
                {
                    "type": "call_ended",
                    "call_id": "c1",
                    "call": {**started()["call"], "ended_at": "2026-12-04T10:00:00"},
                }
            )
            with pytest.raises(CallEnded):
                await live.add_segments("c1", [seg("a")])
            with pytest.raises(CallEnded):
                await live.request_transfer("c1", agency_code="X", reason="r", actor="op")
            assert live.calls() == []
            await live.stop()

        asyncio.run(scenario())

    def test_emergency_route_asks_the_bridge_to_transfer_once(self) -> None:
        async def scenario() -> list[dict[str, Any]]:
            hub = InProcessHub()
            commands = await hub.subscribe(COMMANDS_TOPIC)
            live = LiveCalls(
                hub,
                RecordingSuggester(route="emergency_114"),
                debounce_ms=10,
                route_transfer={"emergency_114": "PCCC-HN"},
            )
            await live.apply(started())
            await live.add_segments("c1", [seg("Nhà tôi đang cháy!", final=True)])
            await asyncio.sleep(0.1)
            await live.add_segments("c1", [seg("Cháy to lắm!", final=True)])
            await asyncio.sleep(0.1)
            await live.stop()
            await commands.close()
            return [m async for m in commands]

        commands = asyncio.run(scenario())
        transfers = [c for c in commands if c["type"] == "transfer"]
        assert len(transfers) == 1
        assert transfers[0]["agency_code"] == "PCCC-HN"
        assert transfers[0]["actor"] == "rule:emergency_114"
        # Both final segments also went to the bridge, for the ticket's log.
        logged = [c["segment"]["text"] for c in commands if c["type"] == "transcript"]
        assert logged == ["Nhà tôi đang cháy!", "Cháy to lắm!"]

    def test_slow_listener_loses_oldest_pushes_not_the_call(self) -> None:
        async def scenario() -> tuple[int, int]:
            live = LiveCalls(InProcessHub(), RecordingSuggester(), debounce_ms=10_000)
            await live.apply(started())
            async with live.listen(None) as queue:
                for i in range(1_005):
                    await live.apply({"type": "dtmf", "call_id": "c1", "digit": str(i % 10)})
                size = queue.qsize()
            await live.stop()
            return size, live.dropped

        size, dropped = asyncio.run(scenario())
        assert size == 1_000 and dropped == 5


class TestCallTranscriptForTheConsole:
    def test_public_call_carries_its_newest_segments_interim_last(self) -> None:
        async def scenario() -> dict[str, Any]:
            live = LiveCalls(InProcessHub(), RecordingSuggester(), debounce_ms=10)
            await live.apply(started())
            await live.add_segments("c1", [seg("Xin chào tổng đài.", final=True)])
            await live.add_segments("c1", [seg("Tôi hỏi về hộ", final=False)])
            public = live.get("c1").public()
            await live.stop()
            return public

        public = asyncio.run(scenario())
        assert public["transcript"] == [
            {"text": "Xin chào tổng đài.", "speaker": "citizen", "final": True},
            {"text": "Tôi hỏi về hộ", "speaker": "citizen", "final": False},
        ]
        assert public["answered_revision"] <= public["revision"] == 2

    def test_only_the_newest_segments_are_shown(self) -> None:
        assist = CallAssist("c1", RecordingSuggester(), lambda _m: asyncio.sleep(0))
        for index in range(40):
            assist.add(seg(f"câu số {index}", final=True))
        shown = assist.transcript(limit=5)
        assert [s["text"] for s in shown] == [f"câu số {i}" for i in range(35, 40)]


@pytest.mark.parametrize("text", ["a\x00b", "   ", "\n\t"])
def test_segments_the_ticket_log_cannot_keep_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        TranscriptSegment(text=text)


class TestRestartOfTheAnswerService:
    def test_start_asks_the_bridge_for_calls_and_resync_shows_them(self) -> None:
        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            hub = InProcessHub()
            commands = await hub.subscribe(COMMANDS_TOPIC)
            live = LiveCalls(hub, RecordingSuggester(), debounce_ms=10)
            await live.start()
            resync = {**started(), "type": "call_resync"}
            await live.apply(resync)
            shown = live.calls()
            await live.stop()
            await commands.close()
            return [m async for m in commands], shown

        commands, shown = asyncio.run(scenario())
        assert commands == [{"type": "resync", "call_id": ""}]
        assert [c["call_id"] for c in shown] == ["c1"]
        assert shown[0]["screen_pop"] == [{"number": "1022-2026-000009"}]
