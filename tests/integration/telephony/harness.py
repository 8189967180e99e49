"""Running the bridge in integration tests and the benchmark: in this loop or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telephony_bridge.bridge import TelephonyBridge
from telephony_bridge.hub import CallHub
from telephony_bridge.recognizer import Recognizer
from telephony_bridge.settings import BridgeSettings
from tests.utils.ari_server import FakeAriServer

AGENCY = "PCCC-HN"
AGENCY_ENDPOINT = "PJSIP/114@agency-trunk"


@contextlib.asynccontextmanager
async def running_bridge(
    settings: BridgeSettings,
    intake: Any,
    hub: CallHub,
    ari: FakeAriServer,
    recognizer: Recognizer | None = None,
) -> AsyncIterator[TelephonyBridge]:
    """A bridge running in this loop, connected to ``ari`` before the block starts."""
    bridge = TelephonyBridge(settings, intake=intake, hub=hub, recognizer=recognizer)
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    await until(lambda: ari.connected > 0 and bridge.stream.connections > 0)
    await asyncio.sleep(0.05)  # the reconciliation after connecting
    try:
        yield bridge
    finally:
        stop.set()
        await task
        await bridge.aclose()


async def until(predicate: Callable[[], object | Awaitable[object]], timeout: float = 10.0) -> None:
    """Wait for ``predicate`` to hold; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class BridgeThread:
    """A bridge on its own event loop in a thread, for tests whose main thread is synchronous
    (``TestClient``)."""

    def __init__(
        self,
        settings: BridgeSettings,
        intake: Any,
        ari: FakeAriServer,
        recognizer: Recognizer | None = None,
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.ari = ari
        self.recognizer = recognizer
        self.bridge: TelephonyBridge | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            from telephony_bridge.hub import open_hub

            hub = open_hub(self.settings.redis_url, prefix=self.settings.redis_prefix)
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with running_bridge(
                self.settings, self.intake, hub, self.ari, self.recognizer
            ) as bridge:
                self.bridge = bridge
                self._ready.set()
                await self._stop.wait()
            await hub.close()

        asyncio.run(main())

    def __enter__(self) -> BridgeThread:
        self._thread.start()
        assert self._ready.wait(15), "bridge did not connect"
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """The synchronous ``until``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
