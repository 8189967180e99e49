"""Agencies, users, API tokens and holiday overrides: the reference data of the ticket system.

Plain functions on a session; ``TicketService`` wraps them with its role checks and transactions.
Passwords are hashed by the HTTP layer (``tickets.auth``); only the hash reaches this module, and
of a token only its SHA-256.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, extract, func, select
from sqlalchemy.orm import Session

from tickets.errors import AuthenticationFailed, TicketError, TicketNotFound, UnknownAgency
from tickets.models import Agency, ApiToken, Holiday, User
from tickets.schemas import MAX_ID, AgencyOut, HolidayIn, UserOut
from tickets.workflow import Role

logger = logging.getLogger(__name__)

_TOKEN_HASH_CHARS = 64


def active_agency(session: Session, code: str) -> Agency:
    """The agency ``code`` if it exists and is active.

    Raises:
        UnknownAgency: no such agency, or it is inactive.
    """
    agency = session.get(Agency, code)
    if agency is None or not agency.active:
        shown = 10
        known = list(
            session.scalars(
                select(Agency.code).where(Agency.active).order_by(Agency.code).limit(shown + 1)
            )
        )
        total = session.scalar(select(func.count()).select_from(Agency).where(Agency.active))
        listed = ", ".join(known[:shown]) or "none configured"
        if (total or 0) > shown:
            listed = f"{listed} and {total - shown} more (GET /v1/agencies lists them)"
        raise UnknownAgency(f"unknown or inactive agency {code[:64]!r}; active agencies: {listed}")
    return agency


def create_agency(
    session: Session, *, code: str, name: str, phone: str | None, email: str | None
) -> AgencyOut:
    """Add an agency.

    Raises:
        TicketError: the code or the name is blank, or the code is taken (409).
    """
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise TicketError("an agency needs a code and a name")
    if len(code) > 64 or len(name) > 255:
        raise TicketError("agency code is at most 64 characters and its name at most 255")
    if session.get(Agency, code) is not None:
        raise _conflict(f"an agency with code {code!r} already exists")
    agency = Agency(code=code, name=name, phone=phone, email=email, active=True)
    session.add(agency)
    session.flush()
    return AgencyOut.model_validate(agency)


def get_agency(session: Session, code: str) -> Agency:
    """The agency ``code``, active or not.

    Raises:
        TicketNotFound: there is none.
    """
    agency = session.get(Agency, code)
    if agency is None:
        raise TicketNotFound(f"no agency with code {code!r}")
    return agency


def validate_user_fields(role: Role, agency_code: str | None, session: Session) -> None:
    """An agency liaison needs an active agency; other roles may name one or not.

    Raises:
        TicketError: a liaison without an agency.
        UnknownAgency: the agency is unknown or inactive.
    """
    if role is Role.SYSTEM:
        raise TicketError("the system role is for channels and jobs, not for users")
    if role is Role.AGENCY_LIAISON and not agency_code:
        raise TicketError("an agency liaison needs an agency_code")
    if agency_code:
        active_agency(session, agency_code)


def create_user(
    session: Session,
    *,
    username: str,
    role: Role,
    full_name: str,
    agency_code: str | None,
    password_hash: str,
) -> UserOut:
    """Add a user.

    Raises:
        TicketError: a blank or taken username (409), or a liaison without an agency.
        UnknownAgency: the agency is unknown or inactive.
    """
    # Usernames are case-insensitive: "Tuan.Nguyen" and "tuan.nguyen" are one person.
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise TicketError("username must be 1 to 64 characters")
    validate_user_fields(role, agency_code, session)
    if session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        raise _conflict(f"the username {username!r} is taken")
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role.value,
        agency_code=agency_code or None,
        password_hash=password_hash,
        active=True,
    )
    session.add(user)
    session.flush()
    logger.info("User %s created with role %s", user.id, role.value)
    return UserOut.model_validate(user)


def get_user(session: Session, user_id: int) -> User:
    """The user ``user_id``.

    Raises:
        TicketNotFound: there is none.
    """
    user = session.get(User, user_id) if 1 <= user_id <= MAX_ID else None
    if user is None:
        raise TicketNotFound(f"no user with id {user_id}")
    return user


def add_api_token(
    session: Session, *, user_id: int, token_hash: str, name: str, expires_at: datetime
) -> int:
    """Store a token's hash for ``user_id``; returns the token's row id.

    Raises:
        TicketError: the hash is not a hex SHA-256, or the user is unknown or inactive.
    """
    if len(token_hash) != _TOKEN_HASH_CHARS or any(c not in "0123456789abcdef" for c in token_hash):
        raise TicketError("token_hash must be a lower-case hex SHA-256 (64 characters)")
    user = get_user(session, user_id)
    if not user.active:
        raise TicketError(f"user {user_id} is inactive")
    token = ApiToken(user_id=user_id, token_hash=token_hash, name=name[:128], expires_at=expires_at)
    session.add(token)
    session.flush()
    return token.id


def user_for_token(session: Session, token_hash: str, now: datetime) -> User:
    """The active user owning an unexpired, unrevoked token; marks the token used.

    Raises:
        AuthenticationFailed: unknown, expired or revoked token, or inactive user.
    """
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise AuthenticationFailed("invalid, expired or revoked token")
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise AuthenticationFailed("the token's user is inactive")
    token.last_used_at = now
    return user


def revoke_api_token(session: Session, token_hash: str, now: datetime) -> bool:
    """Revoke a token; returns False when it was unknown or already revoked."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = now
    return True


def holiday_overrides(session: Session) -> dict[int, list[tuple[date, str]]]:
    """Admin-set holidays by year."""
    years: dict[int, list[tuple[date, str]]] = {}
    for holiday in session.scalars(select(Holiday).order_by(Holiday.day)):
        years.setdefault(holiday.day.year, []).append((holiday.day, holiday.name))
    return years


def replace_holidays(session: Session, year: int, days: Sequence[HolidayIn]) -> None:
    """Make ``days`` the holidays of ``year``, replacing the bundled list and older overrides.

    Raises:
        TicketError: a day of another year, or the same day twice.
    """
    wrong = [d.day.isoformat() for d in days if d.day.year != year]
    if wrong:
        raise TicketError(f"holidays for {year} include days of another year: {wrong}")
    seen = [d.day for d in days]
    if len(seen) != len(set(seen)):
        raise TicketError(f"holidays for {year} list the same day twice")
    session.execute(delete(Holiday).where(extract("year", Holiday.day) == year))
    session.add_all(Holiday(day=d.day, name=d.name.strip()) for d in days)


def _conflict(detail: str) -> TicketError:
    from search.errors import ErrorCode

    return TicketError(detail, error_code=ErrorCode.CONFLICT)
