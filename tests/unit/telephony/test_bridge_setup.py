"""The bridge's wiring: live audio is requested from Asterisk only when something receives it."""

from __future__ import annotations

import asyncio

from telephony_bridge.bridge import TelephonyBridge
from telephony_bridge.hub import InProcessHub
from telephony_bridge.recognizer import ScriptedTestRecognizer
from telephony_bridge.settings import BridgeSettings
from telephony_bridge.state import CallStateStore
from tests.unit.telephony.fake_intake import FakeIntake


def bridge_with(recognizer: ScriptedTestRecognizer | None, port: int) -> TelephonyBridge:
    settings = BridgeSettings(
        audiosocket_external_host="127.0.0.1:9092", audiosocket_port=port, redis_url=""
    )
    return TelephonyBridge(
        settings,
        intake=FakeIntake(),  # type: ignore[arg-type]
        hub=InProcessHub(),
        store=CallStateStore(":memory:"),
        recognizer=recognizer,
    )


def test_no_recognizer_no_external_media() -> None:
    bridge = bridge_with(None, 9092)
    assert bridge.audio is None
    assert bridge.controller.media_host == ""
    asyncio.run(bridge.aclose())


def test_receiver_off_no_external_media() -> None:
    bridge = bridge_with(ScriptedTestRecognizer({}), 0)
    assert bridge.controller.media_host == ""
    asyncio.run(bridge.aclose())


def test_recognizer_and_port_stream_audio() -> None:
    bridge = bridge_with(ScriptedTestRecognizer({}), 9092)
    assert bridge.audio is not None
    assert bridge.controller.media_host == "127.0.0.1:9092"
    asyncio.run(bridge.aclose())
