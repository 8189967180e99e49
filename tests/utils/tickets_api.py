"""Helpers for tests of the ticket HTTP API: an app on a test database, users that sign in.

Every name and number here is invented (phones are 0900000xxx).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tickets.api import create_tickets_app
from tickets.auth import AuthStore, UserCreate, set_password_hasher
from tickets.ratelimit import MemoryCounterStore, RateLimiter
from tickets.schemas import UserOut
from tickets.service import TicketService
from tickets.workflow import Role

PASSWORD = "mat-khau-thu-nghiem-1"
"""The password of every user these helpers create (invented, test only)."""

_counter = itertools.count(1)


@dataclass(frozen=True)
class SignedIn:
    """A user, its bearer token and the headers that carry it."""

    user: UserOut
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer …``."""
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def api_client(service: TicketService, **app_kwargs: object) -> Iterator[TestClient]:
    """A ``TestClient`` on the ticket API over ``service``, its start-up run.

    Rate limits count in memory, fresh for each client, so tests do not meet each other's
    counters; ``test_ratelimit*`` tests set their own limiter. Passwords are hashed with
    ``FAST_HASHER`` meanwhile.
    """
    app_kwargs.setdefault("rate_limiter", RateLimiter(MemoryCounterStore()))
    app = create_tickets_app(service, **app_kwargs)  # type: ignore[arg-type]
    with fast_password_hashing(), TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bootstrap_user(
    service: TicketService,
    role: Role,
    *,
    username: str | None = None,
    agency_code: str | None = None,
) -> UserOut:
    """A user created straight in the store, as ``hotline tickets create-user`` does."""
    number = next(_counter)
    return AuthStore(service.engine).create_user(
        UserCreate(
            username=username or f"{role.value.replace('_', '-')}-{number}",
            full_name=f"Người dùng thử {number}",
            role=role,
            agency_code=agency_code,
            password=PASSWORD,
        )
    )


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """A bearer token for ``username`` from ``POST /v1/auth/token``."""
    response = client.post("/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def signed_in_user(
    client: TestClient,
    service: TicketService,
    role: Role,
    *,
    agency_code: str | None = None,
    username: str | None = None,
) -> SignedIn:
    """A new user of ``role`` with a token from the API."""
    user = bootstrap_user(service, role, agency_code=agency_code, username=username)
    return SignedIn(user=user, token=sign_in(client, user.username))


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id with small parameters: the same code path, without seconds per hash in tests."""


@contextmanager
def fast_password_hashing() -> Iterator[None]:
    """Hash passwords with ``FAST_HASHER`` inside the block."""
    previous = set_password_hasher(FAST_HASHER)
    try:
        yield
    finally:
        set_password_hasher(previous)
