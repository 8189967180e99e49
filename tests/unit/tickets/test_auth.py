"""Passwords and tokens: Argon2id hashes, opaque tokens stored only as SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tickets.auth import (
    TOKEN_PREFIX,
    UserCreate,
    UserUpdate,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    set_password_hasher,
    verify_password,
)
from tickets.workflow import Role

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _fast_hasher() -> Iterator[None]:
    previous = set_password_hasher(FAST)
    yield
    set_password_hasher(previous)


class TestPasswords:
    def test_hash_is_argon2id_and_verifies(self) -> None:
        stored = hash_password("mat-khau-thu-1")
        assert stored.startswith("$argon2id$")
        assert "mat-khau-thu-1" not in stored
        assert verify_password(stored, "mat-khau-thu-1")
        assert not verify_password(stored, "mat-khau-thu-2")

    def test_same_password_hashes_differently(self) -> None:
        assert hash_password("mat-khau-thu-1") != hash_password("mat-khau-thu-1")

    def test_missing_or_broken_hash_never_matches(self) -> None:
        assert not verify_password(None, "anything-at-all")
        assert not verify_password("", "anything-at-all")
        assert not verify_password("$argon2id$broken", "anything-at-all")

    def test_other_parameters_ask_for_a_rehash(self) -> None:
        stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
        old = stronger.hash("mat-khau-thu-1")
        assert password_needs_rehash(old)
        assert not password_needs_rehash(hash_password("mat-khau-thu-1"))
        assert password_needs_rehash("not a hash")


class TestTokens:
    def test_token_is_opaque_random_and_prefixed(self) -> None:
        tokens = {new_token() for _ in range(50)}
        assert len(tokens) == 50
        assert all(t.startswith(TOKEN_PREFIX) and len(t) >= 40 for t in tokens)

    def test_stored_form_is_sha256_hex(self) -> None:
        token = new_token()
        assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
        assert len(hash_token(token)) == 64 and token not in hash_token(token)


class TestUserInput:
    def test_liaison_needs_an_agency_and_others_have_none(self) -> None:
        with pytest.raises(ValueError, match="agency_code"):
            UserCreate(username="lien-lac", role=Role.AGENCY_LIAISON, password="x" * 12)
        with pytest.raises(ValueError, match="agency_code"):
            UserCreate(username="dieu-hanh", role=Role.OPERATOR, agency_code="A", password="x" * 12)

    def test_system_role_short_password_and_odd_usernames_are_refused(self) -> None:
        with pytest.raises(ValueError, match="system"):
            UserCreate(username="he-thong", role=Role.SYSTEM, password="x" * 12)
        with pytest.raises(ValueError):
            UserCreate(username="ngan", role=Role.OPERATOR, password="short")
        with pytest.raises(ValueError):
            UserCreate(username="có dấu cách", role=Role.OPERATOR, password="x" * 12)
        with pytest.raises(ValueError):
            UserUpdate(password="short")
        with pytest.raises(ValueError):
            UserUpdate(unknown=True)  # type: ignore[call-arg]
