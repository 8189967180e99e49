"""The speech-recognizer seam: call audio in, transcript segments out.

No Vietnamese speech-recognition weights ship with the platform, so nothing here recognizes
speech. A real recognizer plugs in by implementing ``Recognizer`` (see docs/asterisk.md, "Plugging
in a recognizer"): ``open`` starts a session per call, ``feed`` takes 16-bit signed-linear mono
PCM as it arrives and returns the segments that became available, ``close`` flushes the rest.

``ScriptedTestRecognizer`` is for tests and benchmarks only: it replays segments that were
written down next to the test audio, releasing each one when the call has sent as much audio as
the script says the segment ends at. It proves the audio path and the timing, not recognition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

SENTENCE_END = (".", "?", "!", "…")


class TranscriptSegment(BaseModel):
    """One piece of a call's transcript.

    ``final`` segments are settled text; a non-final (interim) segment replaces the previous
    interim one, as streaming recognizers revise their guess.
    """

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4_000)
    speaker: str = Field("citizen", pattern="^(citizen|operator)$")
    final: bool = True
    start_ms: int | None = Field(None, ge=0)
    end_ms: int | None = Field(None, ge=0)

    @field_validator("text")
    @classmethod
    def _printable(cls, text: str) -> str:
        # The ticket log cannot store NUL (PostgreSQL refuses it); refuse it here, with a 422,
        # rather than accept the segment and then fail to keep it in the ticket.
        if "\x00" in text:
            raise ValueError("text must not contain NUL characters")
        if not text.strip():
            raise ValueError("text must not be blank")
        return text

    @property
    def ends_sentence(self) -> bool:
        """A final segment, or one ending in sentence punctuation."""
        return self.final or self.text.rstrip().endswith(SENTENCE_END)


class RecognizerSession(Protocol):
    """Recognition of one call's audio."""

    async def feed(self, pcm: bytes) -> list[TranscriptSegment]:
        """Take the next PCM chunk; return segments that are now available."""

    async def close(self) -> list[TranscriptSegment]:
        """The call's audio ended; return what is left."""


class Recognizer(Protocol):
    """Opens a recognition session per call."""

    def open(self, media_uuid: str, sample_rate: int) -> RecognizerSession:
        """Start recognizing the audio of the call whose AudioSocket UUID is ``media_uuid``."""


@dataclass
class _ScriptedSession:
    script: list[TranscriptSegment]
    bytes_per_ms: float
    received: int = 0
    released: int = 0

    async def feed(self, pcm: bytes) -> list[TranscriptSegment]:
        """Take audio; release the segments the audio has now reached."""
        self.received += len(pcm)
        heard_ms = self.received / self.bytes_per_ms
        ready: list[TranscriptSegment] = []
        while self.released < len(self.script):
            segment = self.script[self.released]
            if (segment.end_ms or 0) > heard_ms:
                break
            ready.append(segment)
            self.released += 1
        return ready

    async def close(self) -> list[TranscriptSegment]:
        """Release what is left of the script."""
        rest = self.script[self.released :]
        self.released = len(self.script)
        return rest


class ScriptedTestRecognizer:
    """A test recognizer that replays written-down segments in step with the audio received.

    Not speech recognition: the segments are the text the test audio was synthesized from.

    Args:
        scripts: Media UUID → the segments of that call, each with ``end_ms`` (the audio time
            at which it is released). Calls without a script produce no segments.
    """

    def __init__(self, scripts: Mapping[str, Sequence[TranscriptSegment]]) -> None:
        self._scripts = {key: list(value) for key, value in scripts.items()}
        self.sessions: dict[str, _ScriptedSession] = {}

    def add_script(self, media_uuid: str, segments: Sequence[TranscriptSegment]) -> None:
        """Script a call whose media UUID became known only when the call started."""
        self._scripts[media_uuid] = list(segments)

    def open(self, media_uuid: str, sample_rate: int) -> RecognizerSession:
        """Start replaying the script of ``media_uuid``."""
        session = _ScriptedSession(
            script=self._scripts.get(media_uuid, []), bytes_per_ms=sample_rate * 2 / 1000
        )
        self.sessions[media_uuid] = session
        return session
