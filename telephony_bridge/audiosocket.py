"""The AudioSocket receiver: live call audio from Asterisk, fed to a speech recognizer.

Asterisk's AudioSocket (the ``AudioSocket()`` dialplan application, or an ARI externalMedia
channel with ``encapsulation=audiosocket``) opens a TCP connection and sends frames::

    kind (1 byte) | payload length (2 bytes, big-endian) | payload

Kinds: ``0x00`` hang-up (no payload), ``0x01`` the call's UUID (16 bytes, the first frame),
``0x10`` signed-linear 16-bit mono audio (8 kHz for ``slin``, 16 kHz for ``slin16``),
``0xff`` an error code. Any other kind, a UUID of the wrong size, audio before the UUID or an
odd-sized audio payload is logged and skipped; the connection stays up and the call's other
audio still reaches the recognizer. A frame cut short by a closed connection ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telephony_bridge.errors import AudioFrameError
from telephony_bridge.recognizer import Recognizer, TranscriptSegment

logger = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
KNOWN_KINDS = frozenset({KIND_HANGUP, KIND_UUID, KIND_AUDIO, KIND_ERROR})


@dataclass(frozen=True)
class Frame:
    """One AudioSocket frame: its kind byte and payload."""

    kind: int
    payload: bytes


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket frame."""
    if not 0 <= kind <= 0xFF:
        raise AudioFrameError(f"frame kind must be one byte, got {kind}")
    if len(payload) > 0xFFFF:
        raise AudioFrameError(f"frame payload is at most 65535 bytes, got {len(payload)}")
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


def check_frame(frame: Frame, *, have_uuid: bool) -> None:
    """Raise ``AudioFrameError`` when a frame is well delimited but unusable."""
    if frame.kind not in KNOWN_KINDS:
        raise AudioFrameError(f"unknown frame kind 0x{frame.kind:02x}")
    if frame.kind == KIND_UUID and len(frame.payload) != 16:
        raise AudioFrameError(f"UUID frame carries {len(frame.payload)} bytes, not 16")
    if frame.kind == KIND_AUDIO:
        if not have_uuid:
            raise AudioFrameError("audio frame before the UUID frame")
        if len(frame.payload) % 2:
            raise AudioFrameError(f"audio payload of {len(frame.payload)} bytes is not 16-bit")


async def read_frame(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame, or ``None`` at a clean end of stream.

    Raises:
        AudioFrameError: The stream ended inside a frame.
    """
    try:
        header = await reader.readexactly(3)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise AudioFrameError(
            f"stream ended inside a frame header ({len(exc.partial)} bytes)"
        ) from exc
    length = int.from_bytes(header[1:3], "big")
    try:
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise AudioFrameError(
            f"stream ended inside a frame: {len(exc.partial)} of {length} payload bytes"
        ) from exc
    return Frame(kind=header[0], payload=payload)


SegmentSink = Callable[[str, TranscriptSegment], Awaitable[None]]


class AudioSocketServer:
    """A TCP server that reads AudioSocket sessions and hands audio to a recognizer.

    Args:
        recognizer: Turns a call's audio into transcript segments.
        on_segment: Awaited with (media UUID, segment) for every segment the recognizer emits.
        sample_rate: 8000 for ``slin``, 16000 for ``slin16``.
    """

    def __init__(
        self, recognizer: Recognizer, on_segment: SegmentSink, *, sample_rate: int = 16_000
    ) -> None:
        self._recognizer = recognizer
        self._on_segment = on_segment
        self._sample_rate = sample_rate
        self._server: asyncio.Server | None = None
        self.bad_frames = 0
        self.sessions = 0

    async def start(self, host: str, port: int) -> int:
        """Listen; return the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening; sessions in progress end with their connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        media_uuid: str | None = None
        session = None
        try:
            while True:
                try:
                    frame = await read_frame(reader)
                except AudioFrameError as exc:
                    self.bad_frames += 1
                    logger.warning("AudioSocket %s: %s", media_uuid or "?", exc.detail)
                    break
                if frame is None or frame.kind == KIND_HANGUP:
                    break
                try:
                    check_frame(frame, have_uuid=media_uuid is not None)
                except AudioFrameError as exc:
                    self.bad_frames += 1
                    logger.warning("AudioSocket %s: %s; frame skipped", media_uuid, exc.detail)
                    continue
                if frame.kind == KIND_UUID:
                    if media_uuid is None:
                        media_uuid = str(uuid.UUID(bytes=frame.payload))
                        session = self._recognizer.open(media_uuid, self._sample_rate)
                        logger.info("AudioSocket session %s opened", media_uuid)
                elif frame.kind == KIND_ERROR:
                    logger.warning(
                        "AudioSocket %s: Asterisk sent error %s", media_uuid, frame.payload.hex()
                    )
                elif session is not None:
                    for segment in await session.feed(frame.payload):
                        await self._on_segment(media_uuid or "", segment)
        finally:
            if session is not None:
                for segment in await session.close():
                    await self._on_segment(media_uuid or "", segment)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
