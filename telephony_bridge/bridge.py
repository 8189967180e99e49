"""The bridge process: ARI events → ``CallController``, hub commands → transfers, live audio.

``serve()`` is the entry point (``python -m telephony_bridge``): it opens the ticket intake, the
hub, the local state store and the ARI clients from ``BridgeSettings`` and runs until stopped.
``TelephonyBridge`` is the same thing with its parts passed in, for tests and for running the
bridge inside the answer service (``embedded_bridge``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime, timedelta

from telephony_bridge.ari_client import AriEventStream, AriRestClient, backoff_delays
from telephony_bridge.audiosocket import AudioSocketServer
from telephony_bridge.calls import CallController, run_commands
from telephony_bridge.hub import CallHub, open_hub
from telephony_bridge.recognizer import Recognizer
from telephony_bridge.settings import BridgeSettings
from telephony_bridge.state import CallStateStore
from tickets.intake import TicketIntake

logger = logging.getLogger(__name__)


class TelephonyBridge:
    """Runs a ``CallController`` on the ARI event stream.

    Args:
        settings: ARI address, credentials, application and rules.
        intake: Where calls become tickets.
        hub: Where call events go and commands come from.
        store: Local call state; opened at ``settings.state_path`` when not given.
        recognizer: Receives live audio when ``settings.audiosocket_port`` is set.
    """

    def __init__(
        self,
        settings: BridgeSettings,
        *,
        intake: TicketIntake,
        hub: CallHub,
        store: CallStateStore | None = None,
        recognizer: Recognizer | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.store = store or CallStateStore(settings.state_path)
        password = settings.ari_password.get_secret_value()
        self.ari = AriRestClient(settings.ari_url, settings.ari_username, password)
        receiving = recognizer is not None and bool(settings.audiosocket_port)
        media_host = settings.audiosocket_external_host if receiving else ""
        if settings.audiosocket_external_host and not receiving:
            # Asterisk would stream every call's audio to a port where nobody listens.
            logger.warning(
                "live audio is off: AUDIOSOCKET_EXTERNAL_HOST is set but %s; no externalMedia "
                "channels are requested",
                "no recognizer is plugged in" if recognizer is None else "AUDIOSOCKET_PORT is 0",
            )
        self.controller = CallController(
            ari=self.ari,
            intake=intake,
            store=self.store,
            hub=hub,
            app=settings.ari_app,
            record_calls=settings.record_calls,
            recording_format=settings.recording_format,
            recording_uri_prefix=settings.recording_uri_prefix,
            agency_endpoints=settings.agency_endpoints,
            dtmf_transfer=settings.dtmf_transfer,
            media_host=media_host,
            media_format=settings.audiosocket_format,
        )
        self.stream = AriEventStream(
            settings.ari_url,
            settings.ari_username,
            password,
            settings.ari_app,
            on_connect=self.controller.reconcile,
            delays=lambda: backoff_delays(
                settings.reconnect_initial_seconds, settings.reconnect_max_seconds
            ),
        )
        self.audio: AudioSocketServer | None = None
        if recognizer is not None and settings.audiosocket_port:
            rate = 16_000 if settings.audiosocket_format == "slin16" else 8_000
            self.audio = AudioSocketServer(
                recognizer, self.controller.publish_segment, sample_rate=rate
            )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Handle events until ``stop`` is set (forever when not given)."""
        stop = stop or asyncio.Event()
        if self.audio is not None:
            port = await self.audio.start(
                self.settings.audiosocket_host, self.settings.audiosocket_port
            )
            logger.info("AudioSocket receiver on port %d", port)
        tasks = [
            asyncio.create_task(run_commands(self.controller, self.hub)),
            asyncio.create_task(self._consume()),
            asyncio.create_task(self._reconcile_periodically()),
            asyncio.create_task(stop.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.controller.drain()
            if self.audio is not None:
                await self.audio.stop()

    async def _reconcile_periodically(self) -> None:
        """Reconcile now and then, not only after reconnecting.

        A ticket write that failed (the database was briefly away) leaves its call active in
        the state store; once Asterisk no longer has the channel, this finishes it.
        """
        while True:
            await asyncio.sleep(self.settings.reconcile_seconds)
            if self.stream.connected:
                try:
                    await self.controller.reconcile()
                except Exception:
                    logger.exception("periodic reconciliation failed")
            # Ended calls live on in their tickets; the local store keeps a day of them.
            self.store.prune_ended(datetime.now() - timedelta(days=1))

    async def _consume(self) -> None:
        async for raw in self.stream.messages():
            self.controller.submit(raw)

    async def aclose(self) -> None:
        """Release the ARI client and the state store."""
        await self.ari.aclose()
        self.store.close()


def configure_logging() -> None:
    """Plain log lines on stderr; chatty libraries capped at WARNING."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("httpx", "httpcore", "websockets"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def serve_async(settings: BridgeSettings | None = None) -> None:
    """Open everything from settings and run the bridge until SIGINT or SIGTERM."""
    from tickets import open_intake  # the ticket service, on its configured database

    settings = settings or BridgeSettings()
    if not settings.redis_url:
        logger.warning(
            "HOTLINE_TELEPHONY_REDIS_URL is not set: call events stay inside this process"
        )
    hub = open_hub(settings.redis_url, prefix=settings.redis_prefix)
    bridge = TelephonyBridge(settings, intake=open_intake(), hub=hub)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await bridge.run(stop)
    finally:
        await bridge.aclose()
        if settings.redis_url:
            await hub.close()


def serve(settings: BridgeSettings | None = None) -> None:
    """Run the telephony bridge in the foreground (the ``hotline bridge`` command)."""
    configure_logging()
    asyncio.run(serve_async(settings))
