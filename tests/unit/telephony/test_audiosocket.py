"""AudioSocket frames: encoding, reading, and a session that survives malformed frames."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from telephony_bridge.audiosocket import (
    KIND_AUDIO,
    KIND_ERROR,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketServer,
    Frame,
    check_frame,
    encode_frame,
    read_frame,
)
from telephony_bridge.errors import AudioFrameError
from telephony_bridge.recognizer import ScriptedTestRecognizer, TranscriptSegment

CALL = uuid.UUID("12345678-1234-5678-1234-567812345678")


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


class NullWriter:
    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


class TestFrames:
    def test_encode_is_kind_length_payload(self) -> None:
        assert encode_frame(KIND_AUDIO, b"\x01\x02") == b"\x10\x00\x02\x01\x02"
        assert encode_frame(KIND_HANGUP) == b"\x00\x00\x00"

    def test_encode_refuses_oversized_payload(self) -> None:
        with pytest.raises(AudioFrameError, match="65535"):
            encode_frame(KIND_AUDIO, bytes(70_000))

    def test_read_frames_then_clean_end(self) -> None:
        async def scenario() -> list[Frame | None]:
            data = encode_frame(KIND_UUID, CALL.bytes) + encode_frame(KIND_AUDIO, b"ab")
            reader = reader_of(data)
            return [await read_frame(reader) for _ in range(3)]

        first, second, end = asyncio.run(scenario())
        assert first == Frame(KIND_UUID, CALL.bytes)
        assert second == Frame(KIND_AUDIO, b"ab")
        assert end is None

    async def read_one(self, data: bytes) -> Frame | None:
        return await read_frame(reader_of(data))

    @pytest.mark.parametrize("data", [b"\x10\x00", b"\x10\x00\x04ab"])
    def test_truncated_frame_raises(self, data: bytes) -> None:
        with pytest.raises(AudioFrameError, match="stream ended inside"):
            asyncio.run(self.read_one(data))

    @pytest.mark.parametrize(
        ("frame", "have_uuid", "message"),
        [
            (Frame(0x42, b""), True, "unknown frame kind 0x42"),
            (Frame(KIND_UUID, b"short"), False, "not 16"),
            (Frame(KIND_AUDIO, b"ab"), False, "before the UUID"),
            (Frame(KIND_AUDIO, b"abc"), True, "not 16-bit"),
        ],
    )
    def test_unusable_frames(self, frame: Frame, have_uuid: bool, message: str) -> None:
        with pytest.raises(AudioFrameError, match=message):
            check_frame(frame, have_uuid=have_uuid)


class TestSession:
    def run_session(self, data: bytes) -> tuple[AudioSocketServer, list[tuple[str, str]]]:
        script = {
            str(CALL): [
                TranscriptSegment(text="Tôi muốn hỏi", final=False, end_ms=10),
                TranscriptSegment(text="Tôi muốn hỏi thủ tục.", end_ms=20),
                TranscriptSegment(text="Xin cảm ơn.", end_ms=10_000),
            ]
        }
        got: list[tuple[str, str]] = []

        async def sink(media_uuid: str, segment: TranscriptSegment) -> None:
            got.append((media_uuid, segment.text))

        server = AudioSocketServer(ScriptedTestRecognizer(script), sink, sample_rate=8_000)

        async def serve() -> None:
            await server._serve(reader_of(data), NullWriter())  # type: ignore[arg-type]

        asyncio.run(serve())
        return server, got

    def test_segments_follow_audio_and_bad_frames_are_skipped(self) -> None:
        ten_ms = bytes(160)  # 8 kHz, 16-bit mono
        data = (
            encode_frame(KIND_AUDIO, ten_ms)  # before the UUID: skipped
            + encode_frame(KIND_UUID, CALL.bytes)
            + encode_frame(KIND_AUDIO, ten_ms)
            + encode_frame(0x42, b"junk")  # unknown kind: skipped
            + encode_frame(KIND_AUDIO, b"odd")  # not 16-bit: skipped
            + encode_frame(KIND_ERROR, b"\x01")
            + encode_frame(KIND_AUDIO, ten_ms)
            + encode_frame(KIND_HANGUP)
        )
        server, got = self.run_session(data)
        assert server.bad_frames == 3
        # 10 ms releases the first segment, 20 ms the second, hang-up flushes the last.
        assert [text for _, text in got] == ["Tôi muốn hỏi", "Tôi muốn hỏi thủ tục.", "Xin cảm ơn."]
        assert {media for media, _ in got} == {str(CALL)}

    def test_truncated_stream_still_flushes_the_session(self) -> None:
        data = encode_frame(KIND_UUID, CALL.bytes) + b"\x10\x01\x40abc"
        server, got = self.run_session(data)
        assert server.bad_frames == 1
        assert len(got) == 3
