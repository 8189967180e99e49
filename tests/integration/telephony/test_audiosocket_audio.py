"""Live audio end to end, embedded mode: Vietnamese speech over AudioSocket → recognizer →
transcript → suggestion, with bridge and live assist sharing one process and hub."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from telephony_bridge.hub import InProcessHub
from telephony_bridge.live import LiveCalls
from telephony_bridge.recognizer import ScriptedTestRecognizer, TranscriptSegment
from telephony_bridge.settings import BridgeSettings
from tests.integration.answer_service.invented_kb import SWIFTLET
from tests.integration.telephony.audio import TOOLS_MISSING, duration_ms, stream_call, synthesize
from tests.integration.telephony.harness import running_bridge, until
from tests.utils.ari_server import FakeAriServer
from tickets.intake import Contact

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(bool(TOOLS_MISSING), reason=f"needs {', '.join(TOOLS_MISSING)} installed"),
]

GREETING = "Xin chào tổng đài."
QUESTION = "Tôi muốn hỏi thủ tục cấp giấy phép nuôi chim yến."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_vietnamese_speech_reaches_the_operator_as_a_suggestion(
    ari: FakeAriServer,
    tickets: Any,
    answer_service: Any,
    bridge_settings: BridgeSettings,
    tmp_path: Path,
) -> None:
    greeting = synthesize(GREETING, tmp_path)
    question = synthesize(QUESTION, tmp_path)
    assert duration_ms(greeting) > 500 and duration_ms(question) > 1_500
    port = free_port()
    settings = bridge_settings.model_copy(
        update={
            "redis_url": "",  # embedded: in-process hub
            "audiosocket_port": port,
            "audiosocket_external_host": f"127.0.0.1:{port}",
        }
    )
    recognizer = ScriptedTestRecognizer({})

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        hub = InProcessHub()
        live = LiveCalls(hub, answer_service.suggest, debounce_ms=100)
        await live.start()
        async with running_bridge(settings, tickets, hub, ari, recognizer) as bridge:
            call_id = ari.start_call("0900000401")
            await until(lambda: ari.external_media)
            media = ari.external_media[0]
            assert media["encapsulation"] == "audiosocket" and media["format"] == "slin16"
            recognizer.add_script(
                media["data"],
                [
                    TranscriptSegment(text=GREETING, end_ms=duration_ms(greeting)),
                    TranscriptSegment(text=QUESTION, end_ms=duration_ms(greeting + question)),
                ],
            )
            await until(lambda: call_id in [c["call_id"] for c in live.calls()])
            async with live.listen(call_id) as queue:
                await stream_call(
                    "127.0.0.1", port, media["data"], greeting + question, speed=8.0, junk_after=10
                )
                seen: list[dict[str, Any]] = []
                while not any(m["type"] == "suggestion" and m["revision"] == 2 for m in seen):
                    seen.append(await asyncio.wait_for(queue.get(), 20))
            assert bridge.audio is not None
            bad_frames = bridge.audio.bad_frames
            ari.hang_up(call_id)
            await until(lambda: live.get(call_id).ended)
        await live.stop()
        return seen, bad_frames

    seen, bad_frames = asyncio.run(scenario())
    transcripts = [m["segment"]["text"] for m in seen if m["type"] == "transcript"]
    assert transcripts == [GREETING, QUESTION]
    last = [m for m in seen if m["type"] == "suggestion"][-1]
    assert last["suggestion"]["procedures"][0]["facts"]["code"] == SWIFTLET
    assert bad_frames == 2  # the unknown kind and the odd-sized audio; the call went on
    (ticket,) = tickets.history_for_contact(Contact(phone="0900000401"))
    texts = [e.text or "" for e in tickets.events(ticket.id)]
    assert any(QUESTION in text for text in texts)  # logged by the bridge itself
