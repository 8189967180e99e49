"""The same client against a real Asterisk, when one is configured (``ARI_URL``).

Set ``ARI_URL`` (e.g. ``http://127.0.0.1:8088``), ``ARI_USERNAME``, ``ARI_PASSWORD`` and
``ARI_APP`` (the Stasis application of the dialplan, see docs/asterisk.md).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from telephony_bridge.ari_client import AriEventStream, AriRestClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("ARI_URL"), reason="ARI_URL is not set"),
]


def credentials() -> tuple[str, str, str, str]:
    return (
        os.environ["ARI_URL"],
        os.environ.get("ARI_USERNAME", "hotline"),
        os.environ.get("ARI_PASSWORD", ""),
        os.environ.get("ARI_APP", "hotline1022"),
    )


def test_rest_lists_channels_in_the_documented_shape() -> None:
    url, user, password, _ = credentials()

    async def scenario() -> None:
        client = AriRestClient(url, user, password)
        try:
            for channel in await client.list_channels():  # parsing checks the shape
                assert channel.id and channel.dialplan.context
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_event_stream_connects_and_reconciles() -> None:
    url, user, password, app = credentials()
    connected = asyncio.Event()

    async def on_connect() -> None:
        connected.set()

    async def scenario() -> int:
        stream = AriEventStream(url, user, password, app, on_connect=on_connect)

        async def read() -> None:
            async for _ in stream.messages():
                pass

        task = asyncio.create_task(read())
        try:
            await asyncio.wait_for(connected.wait(), 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return stream.connections

    assert asyncio.run(scenario()) == 1
