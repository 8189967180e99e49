"""Test audio and an AudioSocket client: Vietnamese speech from espeak-ng, resampled by sox.

The audio is synthesized, not recorded, so no personal voice data is involved; the text it was
made from is the script the test recognizer replays (there are no Vietnamese ASR weights here).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

from telephony_bridge.audiosocket import KIND_AUDIO, KIND_HANGUP, KIND_UUID, encode_frame

TOOLS_MISSING = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def synthesize(text: str, folder: Path, *, rate: int = 16_000) -> bytes:
    """Signed 16-bit mono PCM at ``rate`` of ``text`` read by espeak-ng's Vietnamese voice."""
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:8]
    wav = folder / f"{name}.wav"
    raw = folder / f"{name}.raw"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "170", "-w", str(wav), text], check=True)
    subprocess.run(
        [
            "sox",
            str(wav),
            "-r",
            str(rate),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
            str(raw),
        ],
        check=True,
    )
    return raw.read_bytes()


def duration_ms(pcm: bytes, rate: int = 16_000) -> int:
    return len(pcm) * 1000 // (2 * rate)


async def stream_call(
    host: str,
    port: int,
    media_uuid: str,
    pcm: bytes,
    *,
    rate: int = 16_000,
    frame_ms: int = 20,
    speed: float = 0.0,
    junk_after: int | None = None,
) -> None:
    """Play ``pcm`` to an AudioSocket receiver the way Asterisk does, then hang up.

    Args:
        speed: 1.0 paces frames in real time, 0 sends as fast as the socket takes them.
        junk_after: Send malformed frames after this many audio frames (bad-input tests).
    """
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(encode_frame(KIND_UUID, uuid.UUID(media_uuid).bytes))
    step = rate * 2 * frame_ms // 1000
    for index, offset in enumerate(range(0, len(pcm), step)):
        if junk_after is not None and index == junk_after:
            writer.write(encode_frame(0x42, b"not a kind"))
            writer.write(encode_frame(KIND_AUDIO, b"\x00\x01\x02"))  # not 16-bit
        writer.write(encode_frame(KIND_AUDIO, pcm[offset : offset + step]))
        await writer.drain()
        if speed:
            await asyncio.sleep(frame_ms / 1000 / speed)
    writer.write(encode_frame(KIND_HANGUP))
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader
