"""Who may call the ticket API: passwords, bearer tokens, roles and agency scope.

Passwords are hashed with Argon2id (``argon2-cffi``, its default parameters) and re-hashed on
login when those parameters change. A login hands out an opaque bearer token: 32 random bytes,
URL-safe, prefixed ``htk_`` so it is easy to spot in a leaked log. Only its SHA-256 is stored, so
a copy of the database gives no usable token; a plain hash is enough because the token has 256
bits of entropy (nothing to brute-force, unlike a password). Tokens expire after the configured
lifetime and can be revoked; a disabled user's tokens stop working at once.

Roles (one per user):

    operator        takes contacts, creates and works tickets, proposes curated answers
    editor          reviews proposed answers (approve, edit, reject); reads tickets
    supervisor      reads every ticket, statistics and the overdue list; transfers and closes
    agency_liaison  sees and answers only the tickets transferred to its own agency
    admin           everything, plus users and agencies

Agency scope: a liaison asking for a ticket of another agency gets **404**, exactly as for a
ticket that does not exist, so that ticket numbers of other agencies cannot be probed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tickets import directory
from tickets.errors import AuthenticationFailed, TicketError, TicketNotFound
from tickets.models import ApiToken, User, utcnow
from tickets.schemas import ShortText, UserOut
from tickets.workflow import Role

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "htk_"

_hasher = PasswordHasher()


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use ``hasher`` for new hashes from now on; returns the one it replaces.

    Existing hashes keep verifying (their parameters are part of the stored string) and are
    re-hashed with the new parameters at the next login. Tests use cheaper parameters this way.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this when a user does not exist keeps the answer time the same for
    # "no such user" and "wrong password".
    return _hasher.hash("not a password of anyone")


# The roles a person can have; ``system`` is for channels and jobs, never for a login.
USER_ROLES: frozenset[Role] = frozenset(Role) - {Role.SYSTEM}
# Roles that work on tickets of every agency (the hotline's own staff).
HOTLINE_ROLES: frozenset[Role] = frozenset(
    {Role.OPERATOR, Role.EDITOR, Role.SUPERVISOR, Role.ADMIN}
)


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` in PHC string form."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` (no such user) never matches."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A fresh opaque bearer token (shown once to its owner, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_names(roles: Iterable[Role]) -> str:
    """``"operator, admin"``: for error messages that say who may do something."""
    return ", ".join(sorted(role.value for role in roles))


MIN_PASSWORD_CHARS = 10


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the secret itself (shown once) and when it stops working."""

    token: str
    expires_at: datetime
    user: UserOut


class UserCreate(BaseModel):
    """A new user, as an admin (or the first-admin command) creates it."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: ShortText = Field("", max_length=255)
    role: Role
    agency_code: str | None = Field(None, min_length=1, max_length=64)
    password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=256)

    @model_validator(mode="after")
    def _liaison_has_agency(self) -> UserCreate:
        _check_role_and_agency(self.role, self.agency_code)
        return self


class UserUpdate(BaseModel):
    """What an admin may change on a user; unset fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    full_name: ShortText | None = Field(None, max_length=255)
    role: Role | None = None
    agency_code: str | None = Field(None, min_length=1, max_length=64)
    password: str | None = Field(None, min_length=MIN_PASSWORD_CHARS, max_length=256)
    active: bool | None = None


def _check_role_and_agency(role: Role, agency_code: str | None) -> None:
    if role is Role.SYSTEM:
        raise ValueError("role 'system' is for channels and jobs; a user cannot have it")
    if role is Role.AGENCY_LIAISON and not agency_code:
        raise ValueError("an agency_liaison needs an agency_code")
    if role is not Role.AGENCY_LIAISON and agency_code:
        raise ValueError("only an agency_liaison belongs to an agency; leave agency_code empty")


class AuthStore:
    """Users and their tokens in the ticket database.

    Args:
        engine: The ticket database (the one ``TicketService`` uses).
        token_lifetime: How long an issued token works.
        clock: The current aware time; tests pass a fixed one.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        token_lifetime: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.token_lifetime = token_lifetime
        self._clock = clock

    # Users -----------------------------------------------------------------------------------

    def create_user(self, new: UserCreate) -> UserOut:
        """Store a user with a hashed password.

        Raises:
            TicketError: the username is taken (409).
            UnknownAgency: the agency is not configured or not active (422).
        """
        with self._sessions.begin() as session:
            return directory.create_user(
                session,
                username=new.username,
                role=new.role,
                full_name=new.full_name,
                agency_code=new.agency_code,
                password_hash=hash_password(new.password),
            )

    def update_user(self, user_id: int, change: UserUpdate) -> UserOut:
        """Change a user; disabling one or changing the password revokes its tokens.

        Raises:
            TicketNotFound: no such user.
            TicketError: the role and agency do not fit together, or the agency is unknown.
        """
        with self._sessions.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise TicketNotFound(f"no user with id {user_id}")
            role = change.role or Role(user.role)
            agency = (
                change.agency_code
                if "agency_code" in change.model_fields_set
                else (user.agency_code)
            )
            if (
                change.role is not None
                and role is not Role.AGENCY_LIAISON
                and ("agency_code" not in change.model_fields_set)
            ):
                agency = None
            try:
                _check_role_and_agency(role, agency)
            except ValueError as exc:
                raise TicketError(str(exc)) from exc
            if agency:
                directory.active_agency(session, agency)
            user.role, user.agency_code = role.value, agency
            if change.full_name is not None:
                user.full_name = change.full_name
            revoke = False
            if change.password is not None:
                user.password_hash = hash_password(change.password)
                revoke = True
            if change.active is not None:
                revoke = revoke or (user.active and not change.active)
                user.active = change.active
            if revoke:
                self._revoke_all(session, user.id)
            return UserOut.model_validate(user)

    def list_users(self) -> list[UserOut]:
        """Every user, by username."""
        with self._sessions() as session:
            users = session.scalars(select(User).order_by(User.username)).all()
            return [UserOut.model_validate(user) for user in users]

    def get_user(self, user_id: int) -> UserOut:
        """One user.

        Raises:
            TicketNotFound: no such user.
        """
        with self._sessions() as session:
            user = session.get(User, user_id)
            if user is None:
                raise TicketNotFound(f"no user with id {user_id}")
            return UserOut.model_validate(user)

    def count_admins(self) -> int:
        """How many active admins exist (the first-admin command checks it)."""
        with self._sessions() as session:
            query = select(func.count(User.id)).where(
                User.role == Role.ADMIN.value, User.active.is_(True)
            )
            return int(session.scalar(query) or 0)

    # Tokens ----------------------------------------------------------------------------------

    def issue_token(self, username: str, password: str, *, name: str = "") -> IssuedToken:
        """Check a password and issue a bearer token.

        Raises:
            AuthenticationFailed: unknown user, wrong password or disabled user (one message
                for all three, so that usernames cannot be probed).
        """
        now = self._clock()
        with self._sessions.begin() as session:
            user = session.scalar(
                select(User)
                .where(func.lower(User.username) == username.strip().lower())
                .order_by(User.id)
                .limit(1)
            )
            valid = verify_password(user.password_hash if user else None, password)
            if user is None or not valid or not user.active:
                logger.warning("failed login")
                raise AuthenticationFailed("wrong username or password")
            if password_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            token, expires_at = new_token(), now + self.token_lifetime
            token_id = directory.add_api_token(
                session,
                user_id=user.id,
                token_hash=hash_token(token),
                name=name,
                expires_at=expires_at,
            )
            record = session.get(ApiToken, token_id)
            if record is not None:  # just added in this session; the clock may be a test's
                record.created_at = now
            return IssuedToken(
                token=token, expires_at=expires_at, user=UserOut.model_validate(user)
            )

    def authenticate(self, token: str) -> UserOut:
        """The user a bearer token belongs to.

        Raises:
            AuthenticationFailed: unknown, expired or revoked token, or a disabled user.
        """
        with self._sessions.begin() as session:
            user = directory.user_for_token(session, hash_token(token), self._clock())
            return UserOut.model_validate(user)

    def revoke_token(self, token: str) -> None:
        """Revoke one token (logout); an unknown or already revoked token is left as it is."""
        with self._sessions.begin() as session:
            directory.revoke_api_token(session, hash_token(token), self._clock())

    def _revoke_all(self, session: Session, user_id: int) -> None:
        now = self._clock()
        tokens = session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        )
        for record in tokens:
            record.revoked_at = now
