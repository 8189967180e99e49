"""The Redis hub on the real Redis: order, topic prefixes, and junk on a topic."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from telephony_bridge.hub import RedisHub

pytestmark = pytest.mark.integration


def test_messages_arrive_in_order_and_junk_is_skipped(redis_url: str, hub_prefix: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        hub = RedisHub(redis_url, prefix=hub_prefix)
        other = RedisHub(redis_url, prefix=hub_prefix + "other:")
        mine = await hub.subscribe("events")
        theirs = await other.subscribe("events")
        raw = aioredis.Redis.from_url(redis_url)
        await hub.publish("events", {"n": 1})
        await raw.publish(hub_prefix + "events", b"\xff not json")
        await raw.publish(hub_prefix + "events", b"[1, 2]")
        for n in range(2, 50):
            await hub.publish("events", {"n": n})
        got: list[dict[str, Any]] = []

        async def read() -> None:
            async for message in mine:
                got.append(message)
                if len(got) == 49:
                    return

        await asyncio.wait_for(read(), 10)
        await other.publish("events", {"n": "elsewhere"})
        elsewhere: list[dict[str, Any]] = []
        async for message in theirs:
            elsewhere.append(message)
            break
        for closing in (mine, theirs):
            await closing.close()
        await raw.aclose()
        await hub.close()
        await other.close()
        return got, elsewhere

    got, elsewhere = asyncio.run(scenario())
    assert [m["n"] for m in got] == list(range(1, 50))
    assert elsewhere == [{"n": "elsewhere"}]
