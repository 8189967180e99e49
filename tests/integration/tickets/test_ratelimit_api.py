"""Rate limits of the public endpoints: 429 with Retry-After, in memory and in the real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tests.utils.tickets_api import PASSWORD, api_client, bootstrap_user, fast_password_hashing
from tickets.api import create_tickets_app
from tickets.ratelimit import (
    MemoryCounterStore,
    RateLimit,
    RateLimiter,
    RedisCounterStore,
    open_rate_limiter,
)
from tickets.service import TicketService
from tickets.settings import TicketSettings
from tickets.workflow import Role

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is needed (bash scripts/start-services.sh): {exc}")
    finally:
        client.close()
    return REDIS_URL


def test_token_endpoint_answers_429_with_retry_after(ticket_service: TicketService) -> None:
    ticket_service.settings = TicketSettings(
        database_url="sqlite://", rate_limit_burst=3, rate_limit_per_minute=5
    )
    with api_client(ticket_service) as client:
        user = bootstrap_user(ticket_service, Role.OPERATOR)
        statuses = [
            client.post(
                "/v1/auth/token", json={"username": user.username, "password": "sai"}
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        # Even the right password waits until the window ends.
        refused = client.post(
            "/v1/auth/token", json={"username": user.username, "password": PASSWORD}
        )
        assert refused.status_code == 429
        assert refused.json()["error_code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60

        # Open311 counts on its own: five reads, then 429.
        codes = [client.get("/open311/v2/services.json").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]


def test_limits_in_redis_are_shared_by_app_instances(
    ticket_service: TicketService, redis_url: str
) -> None:
    scope = f"open311-test-{uuid.uuid4().hex[:8]}"
    rule = RateLimit(scope, limit=4, window_seconds=30)
    first = RateLimiter(RedisCounterStore(redis_url))
    second = RateLimiter(RedisCounterStore(redis_url))
    for limiter in (first, second, first, second):
        limiter.check(rule, "127.0.0.1")
    from tickets.errors import RateLimited

    with pytest.raises(RateLimited) as caught:
        first.check(rule, "127.0.0.1")
    assert 1 <= caught.value.retry_after <= 30
    keys = redis.Redis.from_url(redis_url).keys(f"hotline:tickets:ratelimit:{scope}:*")
    assert len(keys) == 1

    # Two apps on the same Redis share the Open311 budget.
    ticket_service.settings = TicketSettings(database_url="sqlite://", rate_limit_per_minute=3)
    shared = f"open311-app-{uuid.uuid4().hex[:8]}"
    codes: list[int] = []
    for _ in range(2):
        limiter = open_rate_limiter(redis_url)
        with api_client(ticket_service, rate_limiter=limiter) as client:
            client.app.state.ticket_rate_limits["open311"] = RateLimit(shared, 3, 60)  # type: ignore[attr-defined]
            codes += [client.get("/open311/v2/services.json").status_code for _ in range(2)]
    assert codes == [200, 200, 200, 429]


def test_unreachable_redis_falls_back_to_memory(ticket_service: TicketService) -> None:
    # Nothing listens on port 1 of the loopback: every Redis call fails at once.
    limiter = RateLimiter(RedisCounterStore("redis://127.0.0.1:1/0", fallback=MemoryCounterStore()))
    rule = RateLimit("fallback", limit=2, window_seconds=60)
    limiter.check(rule, "127.0.0.1")
    limiter.check(rule, "127.0.0.1")
    from tickets.errors import RateLimited

    with pytest.raises(RateLimited):
        limiter.check(rule, "127.0.0.1")


def test_forwarded_for_does_not_reset_the_sign_in_limit(ticket_service: TicketService) -> None:
    # What uvicorn does with proxy headers from a trusted peer: the client address becomes
    # whatever X-Forwarded-For says. The per-account limit still counts every guess.
    ticket_service.settings = TicketSettings(database_url="sqlite://", rate_limit_burst=3)
    app = create_tickets_app(ticket_service, rate_limiter=RateLimiter(MemoryCounterStore()))
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="*")
    with fast_password_hashing(), TestClient(proxied, raise_server_exceptions=False) as client:
        user = bootstrap_user(ticket_service, Role.OPERATOR)
        statuses = []
        for attempt in range(6):
            response = client.post(
                "/v1/auth/token",
                json={"username": user.username.upper(), "password": f"sai-{attempt}"},
                headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}"},
            )
            statuses.append(response.status_code)
        assert statuses == [401, 401, 401, 429, 429, 429]
        # Another account is not held up by the guesses at this one.
        other = bootstrap_user(ticket_service, Role.OPERATOR)
        fine = client.post(
            "/v1/auth/token",
            json={"username": other.username, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.99"},
        )
        assert fine.status_code == 200, fine.text


def test_redis_url_setting_puts_the_counters_in_redis(
    ticket_service: TicketService, redis_url: str
) -> None:
    scope = f"open311-settings-{uuid.uuid4().hex[:8]}"
    ticket_service.settings = TicketSettings(
        database_url="sqlite://", redis_url=redis_url, rate_limit_per_minute=2
    )
    with api_client(ticket_service, rate_limiter=None) as client:
        limiter = client.app.state.ticket_rate_limiter  # type: ignore[attr-defined]
        assert isinstance(limiter.store, RedisCounterStore)
        client.app.state.ticket_rate_limits["open311"] = RateLimit(scope, 2, 60)  # type: ignore[attr-defined]
        codes = [client.get("/open311/v2/services.json").status_code for _ in range(3)]
        limiter.store.close()
    assert codes == [200, 200, 429]
    keys = redis.Redis.from_url(redis_url).keys(f"hotline:tickets:ratelimit:{scope}:*")
    assert len(keys) == 1
