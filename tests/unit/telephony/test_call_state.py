"""The bridge's local call state survives a restart of the process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from telephony_bridge.hub import InProcessHub
from telephony_bridge.state import CallRecord, CallStateStore


def record(channel_id: str, **extra: object) -> CallRecord:
    return CallRecord(
        channel_id=channel_id,
        caller_number="0900000101",
        caller_name="",
        started_at=datetime(2026, 12, 4, 3, 0, tzinfo=UTC),
        **extra,
    )  # type: ignore[arg-type]


class TestCallStateStore:
    def test_records_survive_reopening(self, tmp_path: Path) -> None:
        path = tmp_path / "calls.sqlite"
        store = CallStateStore(path)
        store.save(record("1.1", ticket_id=7, dtmf=["9"]))
        ended = record("1.2")
        ended.ended_at = datetime(2026, 12, 4, 3, 5, tzinfo=UTC)
        store.save(ended)
        store.close()

        again = CallStateStore(path)
        active = again.active()
        assert [r.channel_id for r in active] == ["1.1"]
        assert active[0].ticket_id == 7 and active[0].dtmf == ["9"]
        assert active[0].started_at == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
        assert again.get("1.2") is not None and not again.get("1.2").active  # type: ignore[union-attr]
        assert again.prune_ended(datetime.now() + timedelta(seconds=1)) == 1
        assert again.get("1.2") is None

    def test_saving_twice_updates(self) -> None:
        store = CallStateStore(":memory:")
        first = record("1.1")
        store.save(first)
        first.state = "Up"
        store.save(first)
        assert store.get("1.1").state == "Up"  # type: ignore[union-attr]


class TestInProcessHub:
    def test_subscribers_get_messages_in_order_until_closed(self) -> None:
        import asyncio

        async def scenario() -> list[dict[str, object]]:
            hub = InProcessHub()
            subscription = await hub.subscribe("t")
            await hub.publish("t", {"n": 1})
            await hub.publish("other", {"n": 99})
            await hub.publish("t", {"n": 2, "when": datetime(2026, 1, 1, tzinfo=UTC)})
            await subscription.close()
            await hub.publish("t", {"n": 3})
            return [m async for m in subscription]

        got = asyncio.run(scenario())
        assert got == [{"n": 1}, {"n": 2, "when": "2026-01-01 00:00:00+00:00"}]
