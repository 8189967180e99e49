"""The live side of calls inside the answer service: call state, transcripts, suggestions.

``LiveCalls`` listens to the bridge's call events on the hub, keeps each live call's state for
the operator consoles, and fans every event out to the consoles that follow the call (server-sent
events or a WebSocket, see ``answer_service/api/routes/calls.py``).

``CallAssist`` turns a call's growing transcript into suggestions from
``AnswerService.suggest``. Each new segment bumps the call's transcript *revision*. Work starts
after ``debounce`` seconds without a new segment, or at once when a segment ends a sentence
(final recognizer results count as ended). At most one suggestion is computed per call at a
time; segments that arrive meanwhile are folded into the next run, so intermediate revisions
are skipped rather than queued. Every pushed suggestion carries the revision it answers; the
console replaces an older one with it.

A rule may transfer a call by itself: when a suggestion's route is in ``route_transfer``
(e.g. ``emergency_114`` → the fire service), a transfer command goes to the bridge once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from answer_service.schemas import SuggestIn, SuggestOut, Turn
from search.errors import PlatformError
from telephony_bridge.errors import CallEnded, CallNotFound, TelephonyError
from telephony_bridge.hub import COMMANDS_TOPIC, EVENTS_TOPIC, CallHub, Message, Subscription
from telephony_bridge.recognizer import TranscriptSegment

logger = logging.getLogger(__name__)

# The suggestion follows what the citizen is asking now: the newest segment and those just
# before it up to this many characters, not the whole call. A long call would otherwise blur
# the question and slow every search (three joined questions take twice as long as one).
CONTEXT_CHARS = 240
LISTENER_QUEUE = 1_000
# Segments of a call shown to the operator with the call (the newest ones); the ticket keeps all.
TRANSCRIPT_SHOWN = 30

SuggestFn = Callable[[SuggestIn], SuggestOut]
PublishFn = Callable[[Message], Awaitable[None]]


class CallAssist:
    """Debounced, revision-stamped suggestions for one call.

    Args:
        call_id: The call.
        suggest: ``AnswerService.suggest`` (synchronous; run in a worker thread).
        publish: Awaited with every suggestion message.
        debounce: Seconds of quiet before work starts on an unfinished sentence.
        top_k: Procedures per suggestion.
        limiter: Shared by all calls: how many suggestions are computed at once. The work is
            CPU-bound, so more threads than cores only slow every call down together.
    """

    def __init__(
        self,
        call_id: str,
        suggest: SuggestFn,
        publish: PublishFn,
        *,
        debounce: float = 0.25,
        top_k: int = 3,
        limiter: asyncio.Semaphore | None = None,
    ) -> None:
        self.call_id = call_id
        self._limiter = limiter or asyncio.Semaphore(1)
        self._suggest = suggest
        self._publish = publish
        self._debounce = debounce
        self._top_k = top_k
        self.revision = 0
        self.answered_revision = 0
        self.computed = 0
        self.skipped_revisions = 0
        self._final: list[TranscriptSegment] = []
        self._interim: TranscriptSegment | None = None
        self._received: dict[int, float] = {}
        self._last_change = 0.0
        self._urgent = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the call's suggestion task."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the call's suggestion task; work in progress is dropped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, segment: TranscriptSegment) -> int:
        """Take a segment; return the new transcript revision."""
        if segment.final:
            self._final.append(segment)
            self._interim = None
        else:
            self._interim = segment
        self.revision += 1
        now = time.perf_counter()
        self._received[self.revision] = now
        self._last_change = now
        self._urgent = segment.ends_sentence
        self._wake.set()
        return self.revision

    def transcript(self, limit: int = TRANSCRIPT_SHOWN) -> list[dict[str, Any]]:
        """The newest segments, oldest first, the pending interim guess last."""
        segments = self._final[-limit:] + ([self._interim] if self._interim else [])
        return [s.model_dump(include={"text", "speaker", "final"}) for s in segments[-limit:]]

    def conversation(self) -> list[Turn]:
        """The recent transcript as answer-service turns (see ``CONTEXT_CHARS``)."""
        segments = self._final + ([self._interim] if self._interim else [])
        recent: list[Turn] = []
        size = 0
        for segment in reversed(segments):
            if recent and size + len(segment.text) > CONTEXT_CHARS:
                break
            recent.append(Turn(speaker=segment.speaker, text=segment.text))
            size += len(segment.text)
        return recent[::-1]

    async def _quiet(self) -> None:
        """Return when the transcript has been quiet long enough, or a sentence ended."""
        while not self._urgent:
            remaining = self._last_change + self._debounce - time.perf_counter()
            if remaining <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await self._quiet()
            self._wake.clear()
            self._urgent = False
            async with self._limiter:
                await self._answer()

    async def _answer(self) -> None:
        """Compute and publish the suggestion for the newest revision, if it has none yet."""
        revision = self.revision
        if revision == self.answered_revision:
            return
        self.skipped_revisions += max(0, revision - self.answered_revision - 1)
        request = SuggestIn(conversation=self.conversation(), top_k=self._top_k)
        try:
            suggestion = await asyncio.to_thread(self._suggest, request)
        except PlatformError as exc:
            # e.g. only the operator has spoken so far: nothing to suggest yet.
            logger.debug("no suggestion for call %s: %s", self.call_id, exc.detail)
            self.answered_revision = revision
            return
        except Exception:
            logger.exception("suggestion for call %s failed", self.call_id)
            self.answered_revision = revision
            return
        self.answered_revision = revision
        self.computed += 1
        received = self._received.pop(revision, time.perf_counter())
        for old in [r for r in self._received if r < revision]:
            del self._received[old]
        await self._publish(
            {
                "type": "suggestion",
                "call_id": self.call_id,
                "revision": revision,
                "latest_revision": self.revision,
                "latency_ms": round((time.perf_counter() - received) * 1000, 2),
                "suggestion": suggestion.model_dump(mode="json"),
            }
        )


@dataclass
class LiveCall:
    """What the answer service knows of a call in progress (or just ended)."""

    call_id: str
    snapshot: dict[str, Any]
    assist: CallAssist | None = None
    ended: bool = False
    screen_pop: list[dict[str, Any]] = field(default_factory=list)
    last_suggestion: Message | None = None
    transfer_requested: bool = False

    def public(self) -> dict[str, Any]:
        """The call as the console sees it."""
        return {
            **self.snapshot,
            "ended": self.ended,
            "screen_pop": self.screen_pop,
            "revision": self.assist.revision if self.assist else 0,
            "answered_revision": self.assist.answered_revision if self.assist else 0,
            "transcript": self.assist.transcript() if self.assist else [],
            "last_suggestion": self.last_suggestion,
        }


class LiveCalls:
    """Live calls for the operator consoles, fed by the hub.

    Args:
        hub: Where the bridge publishes call events and takes commands.
        suggest: ``AnswerService.suggest``.
        debounce_ms: Quiet time before a suggestion for an unfinished sentence.
        route_transfer: Answer-service route → agency code, for automatic transfers.
        agencies: Agency codes the bridge can transfer to; empty: not checked here.
        max_parallel: Suggestions computed at once across all calls.
        keep_ended: How many ended calls stay visible.
    """

    def __init__(
        self,
        hub: CallHub,
        suggest: SuggestFn,
        *,
        debounce_ms: int = 250,
        route_transfer: Mapping[str, str] | None = None,
        agencies: Iterable[str] = (),
        max_parallel: int = 2,
        keep_ended: int = 500,
    ) -> None:
        self._limiter = asyncio.Semaphore(max_parallel)
        self._agencies = frozenset(agencies)
        self.hub = hub
        self._suggest = suggest
        self._debounce = debounce_ms / 1000
        self._route_transfer = dict(route_transfer or {})
        self._keep_ended = keep_ended
        self._calls: OrderedDict[str, LiveCall] = OrderedDict()
        self._listeners: dict[str | None, set[asyncio.Queue[Message]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self.dropped = 0

    async def start(self) -> None:
        """Subscribe to the hub (returns once subscribed) and follow it in the background.

        Calls already in progress are asked for once subscribed: a (re)started answer service
        would otherwise show operators no call until the next event of each one.
        """
        self._subscription = await self.hub.subscribe(EVENTS_TOPIC)
        self._task = asyncio.get_running_loop().create_task(self._follow())
        await self._ask_for_calls()

    async def _ask_for_calls(self) -> None:
        """Ask the bridge to publish every call in progress again (``call_resync``)."""
        try:
            await self.hub.publish(COMMANDS_TOPIC, {"type": "resync", "call_id": ""})
        except Exception as exc:  # the hub is down: calls appear with their next event
            logger.warning("cannot ask the bridge for calls in progress: %r", exc)

    async def stop(self) -> None:
        """Unsubscribe and stop every call's live assist."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._subscription is not None:
            await self._subscription.close()
        for call in self._calls.values():
            if call.assist is not None:
                await call.assist.close()

    async def _follow(self) -> None:
        delay = 0.5
        while True:
            try:
                assert self._subscription is not None
                async for message in self._subscription:
                    delay = 0.5
                    try:
                        await self.apply(message)
                    except Exception:
                        logger.exception("call event %s not applied", message.get("type"))
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub subscription lost; re-subscribing in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                with contextlib.suppress(Exception):
                    self._subscription = await self.hub.subscribe(EVENTS_TOPIC)
                    await self._ask_for_calls()  # what went on while the hub was away

    # ----------------------------------------------------------------- events from the bridge

    async def apply(self, message: Message) -> None:
        """Update the call a hub message is about and pass the message on to its listeners."""
        call_id = message.get("call_id")
        kind = message.get("type")
        if not isinstance(call_id, str) or not isinstance(kind, str):
            logger.warning("hub message without call_id or type; skipped")
            return
        call = self._calls.get(call_id)
        snapshot = message.get("call")
        if call is None:
            if not isinstance(snapshot, dict):
                logger.warning("%s for unknown call %s; skipped", kind, call_id)
                return
            # Also covers an answer service that started while the call was already going.
            call = self._open(call_id, snapshot)
        if isinstance(snapshot, dict):
            call.snapshot = snapshot
        if kind in ("call_started", "call_resync"):
            call.screen_pop = list(message.get("screen_pop") or [])
        elif kind == "transcript":
            await self._segment_from_bridge(call, message)
            return
        elif kind == "call_ended":
            await self._end(call)
        await self._emit(call_id, message)

    def _open(self, call_id: str, snapshot: dict[str, Any]) -> LiveCall:
        call = LiveCall(call_id=call_id, snapshot=snapshot)
        if snapshot.get("ended_at") is None:
            call.assist = CallAssist(
                call_id,
                self._suggest,
                self._on_suggestion,
                debounce=self._debounce,
                limiter=self._limiter,
            )
            call.assist.start()
        else:
            call.ended = True
        self._calls[call_id] = call
        return call

    async def _segment_from_bridge(self, call: LiveCall, message: Message) -> None:
        try:
            segment = TranscriptSegment.model_validate(message.get("segment"))
        except ValueError:
            logger.warning("bad transcript segment for call %s; skipped", call.call_id)
            return
        if not call.ended:
            # The bridge logs its recognizer's segments in the ticket itself.
            await self._take_segment(call, segment, log=False)

    async def _end(self, call: LiveCall) -> None:
        call.ended = True
        if call.assist is not None:
            await call.assist.close()
        ended = [c for c in self._calls.values() if c.ended]
        for old in ended[: max(0, len(ended) - self._keep_ended)]:
            self._calls.pop(old.call_id, None)

    async def _on_suggestion(self, message: Message) -> None:
        call = self._calls.get(message["call_id"])
        if call is None or call.ended:
            return
        call.last_suggestion = message
        await self._emit(call.call_id, message)
        route = message["suggestion"].get("route", "")
        agency = self._route_transfer.get(route)
        if agency and not call.transfer_requested and not call.snapshot.get("transferred_to"):
            await self.request_transfer(
                call.call_id, agency_code=agency, reason=f"route {route}", actor=f"rule:{route}"
            )

    # ----------------------------------------------------------------- operator requests

    def calls(self) -> list[dict[str, Any]]:
        """Calls in progress, as the console sees them."""
        return [c.public() for c in self._calls.values() if not c.ended]

    def get(self, call_id: str) -> LiveCall:
        """A call in progress or recently ended; ``CallNotFound`` otherwise."""
        call = self._calls.get(call_id)
        if call is None:
            raise CallNotFound(f"no live call {call_id!r}")
        return call

    def _live(self, call_id: str) -> LiveCall:
        call = self.get(call_id)
        if call.ended:
            raise CallEnded(f"call {call_id!r} has ended")
        return call

    async def add_segments(self, call_id: str, segments: list[TranscriptSegment]) -> int:
        """Add transcript segments to a live call; return the new revision."""
        call = self._live(call_id)
        revision = 0
        for segment in segments:
            revision = await self._take_segment(call, segment)
        return revision

    async def _take_segment(
        self, call: LiveCall, segment: TranscriptSegment, *, log: bool = True
    ) -> int:
        assert call.assist is not None
        revision = call.assist.add(segment)
        if log and segment.final:
            # Final segments go into the ticket's log, written by the bridge.
            await self.hub.publish(
                COMMANDS_TOPIC,
                {"type": "transcript", "call_id": call.call_id, "segment": segment.model_dump()},
            )
        await self._emit(
            call.call_id,
            {
                "type": "transcript",
                "call_id": call.call_id,
                "revision": revision,
                "segment": segment.model_dump(),
            },
        )
        return revision

    async def request_transfer(
        self, call_id: str, *, agency_code: str, reason: str, actor: str
    ) -> str:
        """Ask the bridge to transfer a live call; the outcome arrives as a call event."""
        call = self._live(call_id)
        if self._agencies and agency_code not in self._agencies:
            known = ", ".join(sorted(self._agencies))
            raise TelephonyError(f"no transfer endpoint for agency {agency_code!r}; known: {known}")
        call.transfer_requested = True
        request_id = uuid.uuid4().hex
        await self.hub.publish(
            COMMANDS_TOPIC,
            {
                "type": "transfer",
                "call_id": call_id,
                "agency_code": agency_code,
                "reason": reason,
                "actor": actor,
                "request_id": request_id,
            },
        )
        return request_id

    # ----------------------------------------------------------------- listeners

    @contextlib.asynccontextmanager
    async def listen(self, call_id: str | None = None) -> AsyncIterator[asyncio.Queue[Message]]:
        """A queue of the messages of one call (or of all calls when ``call_id`` is None)."""
        queue: asyncio.Queue[Message] = asyncio.Queue(LISTENER_QUEUE)
        self._listeners.setdefault(call_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._listeners.get(call_id, set()).discard(queue)

    async def _emit(self, call_id: str, message: Message) -> None:
        for key in (call_id, None):
            for queue in list(self._listeners.get(key, ())):
                if queue.full():
                    # A console that stopped reading loses its oldest pushes, not the call.
                    self.dropped += 1
                    queue.get_nowait()
                queue.put_nowait(message)
