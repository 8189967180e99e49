"""Rate limits for the endpoints anyone can reach: Open311 and token creation.

Both are open to the internet by design (civic tools post Open311 requests with an api_key,
operators log in with a password), so both are what a flood or a password-guessing script hits
first. A fixed window per (scope, client) is enough here: the limits are generous for people and
tight for scripts, and a fixed window costs one ``INCR`` per request.

The counters live in Redis when a URL is configured, so that every worker process of the answer
service shares them; without Redis (the embedded default, a single process) they live in memory.
When a configured Redis cannot be reached the limiter falls back to memory and logs a warning:
limits keep working per process instead of the endpoints failing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict

from tickets.errors import RateLimited

logger = logging.getLogger(__name__)

KEY_PREFIX = "hotline:tickets:ratelimit"


@dataclass(frozen=True)
class RateLimit:
    """``limit`` requests per ``window_seconds`` for one scope (e.g. ``"open311"``)."""

    scope: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"rate limit for {self.scope!r} must be at least 1, got {self.limit}")
        if self.window_seconds < 1:
            raise ValueError(
                f"rate-limit window for {self.scope!r} must be at least 1 s, "
                f"got {self.window_seconds}"
            )


class CounterStore(Protocol):
    """Counts hits in fixed windows."""

    def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Count one hit; return the count in the current window and the seconds it has left."""


class MemoryCounterStore:
    """Counters in this process; used without Redis and as the fallback when Redis is down."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= window_seconds:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 10_000:
                self._forget_expired(now, window_seconds)
        return count, window_seconds - (now - started)

    def _forget_expired(self, now: float, window_seconds: int) -> None:
        # Bounded memory under a spray of client addresses: drop windows that are over.
        expired = [k for k, (t, _) in self._windows.items() if now - t >= window_seconds]
        for key in expired:
            del self._windows[key]


class RedisCounterStore:
    """Counters in Redis, shared by every worker process.

    Args:
        url: A ``redis://`` URL.
        fallback: Where to count while Redis cannot be reached.
    """

    def __init__(self, url: str, *, fallback: MemoryCounterStore | None = None) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = fallback or MemoryCounterStore()
        self._warned = False

    def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        import redis

        try:
            pipe = self._client.pipeline()
            pipe.incr(key)
            pipe.expire(key, window_seconds, nx=True)
            pipe.pttl(key)
            count, _, ttl_ms = pipe.execute()
        except redis.RedisError as exc:
            if not self._warned:
                logger.warning("rate limits fall back to this process: Redis failed: %s", exc)
                self._warned = True
            return self._fallback.hit(key, window_seconds)
        self._warned = False
        left = ttl_ms / 1000 if isinstance(ttl_ms, int) and ttl_ms > 0 else window_seconds
        return int(count), float(left)

    def close(self) -> None:
        self._client.close()


class RateLimiter:
    """Checks requests against per-scope limits.

    Args:
        store: Where the counters live.
    """

    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def check(self, rule: RateLimit, client: str) -> None:
        """Count one request of ``client`` under ``rule``.

        Raises:
            RateLimited: The client is over the limit in the current window (429); its
                ``retry_after`` says how many seconds the window still lasts.
        """
        key = f"{KEY_PREFIX}:{rule.scope}:{client}"
        count, left = self.store.hit(key, rule.window_seconds)
        if count > rule.limit:
            retry_after = max(1, math.ceil(left))
            logger.warning("rate limit %s reached by a client", rule.scope)
            raise RateLimited(
                f"too many requests: {rule.limit} per {rule.window_seconds} s are allowed here; "
                f"retry after {retry_after} s",
                retry_after=retry_after,
            )


class RateLimitSettings(BaseSettings):
    """Where the counters live: ``HOTLINE_TICKETS_REDIS_URL`` (empty: in this process)."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_TICKETS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    redis_url: str = ""


def open_rate_limiter(redis_url: str | None = None) -> RateLimiter:
    """A limiter on Redis when ``redis_url`` (or ``HOTLINE_TICKETS_REDIS_URL``) is set, in memory
    otherwise."""
    redis_url = redis_url or RateLimitSettings().redis_url
    if redis_url:
        return RateLimiter(RedisCounterStore(redis_url))
    return RateLimiter(MemoryCounterStore())
