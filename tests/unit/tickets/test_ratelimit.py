"""Fixed-window counting in memory, with a clock the test moves."""

from __future__ import annotations

import pytest

from tickets.errors import RateLimited
from tickets.ratelimit import MemoryCounterStore, RateLimit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_limit_then_429_with_retry_after_then_a_new_window(self) -> None:
        clock = Clock()
        limiter = RateLimiter(MemoryCounterStore(clock))
        rule = RateLimit("open311", limit=3, window_seconds=60)
        for _ in range(3):
            limiter.check(rule, "127.0.0.1")
        clock.now += 20
        with pytest.raises(RateLimited) as caught:
            limiter.check(rule, "127.0.0.1")
        assert caught.value.retry_after == 40
        assert caught.value.error_code.http_status == 429
        clock.now += 40
        limiter.check(rule, "127.0.0.1")

    def test_clients_and_scopes_count_apart(self) -> None:
        limiter = RateLimiter(MemoryCounterStore(Clock()))
        token = RateLimit("token", limit=1, window_seconds=60)
        open311 = RateLimit("open311", limit=1, window_seconds=60)
        limiter.check(token, "10.0.0.1")
        limiter.check(token, "10.0.0.2")
        limiter.check(open311, "10.0.0.1")
        with pytest.raises(RateLimited):
            limiter.check(token, "10.0.0.1")

    def test_rules_refuse_nonsense(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            RateLimit("x", limit=0, window_seconds=60)
        with pytest.raises(ValueError, match="window"):
            RateLimit("x", limit=1, window_seconds=0)

    def test_memory_stays_bounded(self) -> None:
        clock = Clock()
        store = MemoryCounterStore(clock)
        for n in range(10_050):
            store.hit(f"k{n}", 1)
            if n == 5_000:
                clock.now += 5
        assert len(store._windows) < 10_050
