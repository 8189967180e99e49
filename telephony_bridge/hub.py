"""The hub: how the bridge process and the answer service tell each other about calls.

The operator consoles only talk to the answer service, while Asterisk only talks to the bridge.
The two meet on two topics: ``EVENTS_TOPIC`` (bridge → answer service: call started with its
screen-pop, state changes, DTMF, recordings, transcript segments from the recognizer, call ended)
and ``COMMANDS_TOPIC`` (answer service → bridge: transfer this call).

Two backends: ``RedisHub`` (Redis pub/sub; bridge and answer service in separate processes) and
``InProcessHub`` (both in one process: the embedded default). Messages are JSON objects.

Pub/sub delivers to whoever listens at that moment; nothing here is the record of a call. The
record is the ticket (written by the bridge through the intake) and the bridge's state store,
so a subscriber that was away misses pushes, never calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

logger = logging.getLogger(__name__)

EVENTS_TOPIC = "hotline:calls:events"
COMMANDS_TOPIC = "hotline:calls:commands"

Message = dict[str, Any]


class Subscription(Protocol):
    """Messages of one topic, in order, from the moment of subscribing."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def close(self) -> None:
        """Stop; no more messages are delivered."""


class CallHub(Protocol):
    """Publish and subscribe JSON messages on a topic."""

    async def publish(self, topic: str, message: Message) -> None:
        """Send a JSON object to everyone subscribed to ``topic``."""

    async def subscribe(self, topic: str) -> Subscription:
        """Start receiving ``topic``; returns once the subscription is in place."""

    async def close(self) -> None:
        """Stop; no more messages are delivered."""


class _QueueSubscription:
    def __init__(self, on_close: Any) -> None:
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            yield message

    async def close(self) -> None:
        """Stop; no more messages are delivered."""
        self._on_close(self)
        self.queue.put_nowait(None)


class InProcessHub:
    """A hub for a bridge and an answer service that share one event loop."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[_QueueSubscription]] = {}

    async def publish(self, topic: str, message: Message) -> None:
        # A round trip through JSON keeps both backends equally strict about the payload.
        """Send a JSON object to everyone subscribed to ``topic``."""
        decoded = json.loads(json.dumps(message, default=str))
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.queue.put_nowait(decoded)

    async def subscribe(self, topic: str) -> Subscription:
        """Start receiving ``topic``; returns once the subscription is in place."""
        subscription = _QueueSubscription(lambda s: self._subscribers.get(topic, set()).discard(s))
        self._subscribers.setdefault(topic, set()).add(subscription)
        return subscription

    async def close(self) -> None:
        """Stop; no more messages are delivered."""
        for subscriptions in self._subscribers.values():
            for subscription in list(subscriptions):
                await subscription.close()
        self._subscribers.clear()


class _RedisSubscription:
    def __init__(self, pubsub: Any, topic: str) -> None:
        self._pubsub = pubsub
        self._topic = topic
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[Message]:
        while not self._closed:
            try:
                raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception:  # the connection went away: log it and let the caller re-subscribe
                if self._closed:
                    return
                logger.warning("redis subscription to %s failed", self._topic, exc_info=True)
                raise
            if raw is None:
                continue
            try:
                message = json.loads(raw["data"])
            except (ValueError, TypeError):
                logger.warning("hub message on %s is not JSON; skipped", self._topic)
                continue
            if isinstance(message, dict):
                yield message
            else:
                logger.warning("hub message on %s is not an object; skipped", self._topic)

    async def close(self) -> None:
        """Stop; no more messages are delivered."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._pubsub.unsubscribe(self._topic)
            await self._pubsub.aclose()


class RedisHub:
    """A hub on Redis pub/sub, for a bridge and answer-service workers in separate processes.

    Args:
        url: ``redis://host:port/db``.
        prefix: Put before every topic, so tests and deployments sharing a Redis stay apart.
    """

    def __init__(self, url: str, *, prefix: str = "") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._prefix = prefix

    async def publish(self, topic: str, message: Message) -> None:
        """Send a JSON object to everyone subscribed to ``topic``."""
        await self._redis.publish(self._prefix + topic, json.dumps(message, default=str))

    async def subscribe(self, topic: str) -> Subscription:
        """Start receiving ``topic``; returns once the subscription is in place."""
        pubsub = self._redis.pubsub()
        # subscribe() returns once Redis confirmed, so nothing published afterwards is missed.
        await pubsub.subscribe(self._prefix + topic)
        return _RedisSubscription(pubsub, self._prefix + topic)

    async def close(self) -> None:
        """Stop; no more messages are delivered."""
        await self._redis.aclose()


_default_hub: InProcessHub | None = None


def open_hub(redis_url: str = "", *, prefix: str = "") -> CallHub:
    """Redis when a URL is given, else the process-wide in-process hub (embedded mode)."""
    global _default_hub
    if redis_url:
        return RedisHub(redis_url, prefix=prefix)
    if _default_hub is None:
        _default_hub = InProcessHub()
    return _default_hub
