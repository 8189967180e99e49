"""Reference data of the ticket service: holidays, agencies, users and API tokens.

Part of ``TicketService`` (a mixin); the queries live in ``tickets.directory``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from tickets import directory
from tickets.errors import TicketError, TicketNotFound
from tickets.models import User
from tickets.schemas import Actor, AgencyOut, HolidayIn, HolidayOut, UserOut
from tickets.service_base import ServiceBase, parse_role
from tickets.sla import merge_holidays
from tickets.workflow import Role

logger = logging.getLogger(__name__)


class AdminMixin(ServiceBase):
    """Holidays, agencies, users and tokens: what admins keep up to date."""

    def holidays(self, year: int) -> list[HolidayOut]:
        """The holidays used for ``year``, from the bundled file or the admin's override."""
        with self._read() as session:
            overrides = directory.holiday_overrides(session)
        merged = merge_holidays(self._bundled_holidays, overrides)
        return [
            HolidayOut(day=day, name=name, source=source)  # type: ignore[arg-type]
            for day, name, source in merged.get(year, [])
        ]

    def set_holidays(
        self, year: int, days: Sequence[HolidayIn], *, actor: Actor | str
    ) -> list[HolidayOut]:
        """Replace the holidays of ``year`` (admin); an empty list returns to the bundled file.

        Deadlines already set keep their value; new deadlines use the new days.

        Raises:
            PermissionDenied: the actor is not an admin.
            TicketError: a day of another year, or a repeated day.
        """
        act = Actor.of(actor)
        self._require(act, frozenset({Role.ADMIN}), "set public holidays")
        if not 1900 <= year <= 2200:
            raise TicketError(f"year must be between 1900 and 2200, got {year}")
        with self._write() as session:
            directory.replace_holidays(session, year, days)
        self._calendar = None
        logger.info("Holidays of %s set by %s (%s days)", year, act.username, len(days))
        return self.holidays(year)

    # ------------------------------------------------------------------ agencies and users

    def create_agency(
        self,
        *,
        code: str,
        name: str,
        phone: str | None = None,
        email: str | None = None,
        actor: Actor | str,
    ) -> AgencyOut:
        """Add an agency (admin).

        Raises:
            PermissionDenied: the actor is not an admin.
            TicketError: blank fields, or the code is taken (409).
        """
        act = Actor.of(actor)
        self._require(act, frozenset({Role.ADMIN, Role.SYSTEM}), "create agencies")
        with self._write() as session:
            return directory.create_agency(session, code=code, name=name, phone=phone, email=email)

    def update_agency(
        self,
        code: str,
        *,
        actor: Actor | str,
        name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        active: bool | None = None,
    ) -> AgencyOut:
        """Change an agency's name, phone, e-mail or active flag (admin); ``None`` keeps a value.

        Raises:
            PermissionDenied: the actor is not an admin.
            TicketNotFound: no such agency.
        """
        act = Actor.of(actor)
        self._require(act, frozenset({Role.ADMIN, Role.SYSTEM}), "change agencies")
        with self._write() as session:
            agency = directory.get_agency(session, code)
            if name is not None:
                if not name.strip():
                    raise TicketError("an agency's name must not be blank")
                agency.name = name.strip()
            if phone is not None:
                agency.phone = phone
            if email is not None:
                agency.email = email
            if active is not None:
                agency.active = active
            session.flush()
            return AgencyOut.model_validate(agency)

    def get_agency(self, code: str) -> AgencyOut:
        """One agency, active or not.

        Raises:
            TicketNotFound: no such agency.
        """
        with self._read() as session:
            return AgencyOut.model_validate(directory.get_agency(session, code))

    def list_agencies(self, *, include_inactive: bool = False) -> list[AgencyOut]:
        """Agencies by code; active ones only unless asked."""
        from tickets.models import Agency

        query = select(Agency).order_by(Agency.code)
        if not include_inactive:
            query = query.where(Agency.active)
        with self._read() as session:
            return [AgencyOut.model_validate(a) for a in session.scalars(query)]

    def create_user(
        self,
        *,
        username: str,
        role: Role | str,
        actor: Actor | str,
        full_name: str = "",
        agency_code: str | None = None,
        password_hash: str = "",
    ) -> UserOut:
        """Add a user (admin). ``password_hash`` comes hashed from ``tickets.auth``.

        Raises:
            PermissionDenied: the actor is not an admin.
            TicketError: a taken username (409), an unknown role, or a liaison without agency.
            UnknownAgency: the agency is unknown or inactive.
        """
        act = Actor.of(actor)
        self._require(act, frozenset({Role.ADMIN, Role.SYSTEM}), "create users")
        with self._write() as session:
            return directory.create_user(
                session,
                username=username,
                role=parse_role(role),
                full_name=full_name,
                agency_code=agency_code,
                password_hash=password_hash,
            )

    def update_user(
        self,
        user_id: int,
        *,
        actor: Actor | str,
        full_name: str | None = None,
        role: Role | str | None = None,
        agency_code: str | None = None,
        active: bool | None = None,
        password_hash: str | None = None,
    ) -> UserOut:
        """Change a user (admin; any user may change their own password hash).

        ``agency_code=""`` removes the agency; ``None`` keeps every value.

        Raises:
            PermissionDenied: the actor may not change this user.
            TicketNotFound: no such user.
            TicketError: a liaison left without agency, or an unknown role.
        """
        act = Actor.of(actor)
        only_password = (full_name, role, agency_code, active) == (None, None, None, None)
        if not (only_password and act.user_id == user_id):
            self._require(act, frozenset({Role.ADMIN, Role.SYSTEM}), "change users")
        with self._write() as session:
            user = directory.get_user(session, user_id)
            new_role = parse_role(role) if role is not None else Role(user.role)
            new_agency = user.agency_code if agency_code is None else (agency_code or None)
            directory.validate_user_fields(new_role, new_agency, session)
            user.role, user.agency_code = new_role.value, new_agency
            if full_name is not None:
                user.full_name = full_name.strip()
            if active is not None:
                user.active = active
            if password_hash is not None:
                user.password_hash = password_hash
            session.flush()
            return UserOut.model_validate(user)

    def get_user(self, user_id: int) -> UserOut:
        """One user.

        Raises:
            TicketNotFound: no such user.
        """
        with self._read() as session:
            return UserOut.model_validate(directory.get_user(session, user_id))

    def get_user_by_username(self, username: str) -> UserOut:
        """One user by login name.

        Raises:
            TicketNotFound: no such user.
        """
        with self._read() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise TicketNotFound(f"no user named {username!r}")
            return UserOut.model_validate(user)

    def credentials(self, username: str) -> tuple[UserOut, str] | None:
        """An active user and their password hash, for the login check; ``None`` if unknown."""
        with self._read() as session:
            user = session.scalar(select(User).where(User.username == username, User.active))
            if user is None:
                return None
            return UserOut.model_validate(user), user.password_hash

    def list_users(
        self, *, role: Role | str | None = None, agency_code: str | None = None
    ) -> list[UserOut]:
        """Users by username, optionally of one role or one agency."""
        query = select(User).order_by(User.username)
        if role is not None:
            query = query.where(User.role == parse_role(role).value)
        if agency_code is not None:
            query = query.where(User.agency_code == agency_code)
        with self._read() as session:
            return [UserOut.model_validate(u) for u in session.scalars(query)]

    def add_api_token(
        self, *, user_id: int, token_hash: str, name: str = "", expires_at: datetime
    ) -> int:
        """Store the SHA-256 (hex) of a new token for an active user; returns its row id.

        Raises:
            TicketError: a malformed hash, or an unknown or inactive user.
        """
        with self._write() as session:
            return directory.add_api_token(
                session, user_id=user_id, token_hash=token_hash, name=name, expires_at=expires_at
            )

    def actor_for_token(self, token_hash: str) -> Actor:
        """The actor behind a token's hash; records the token's last use.

        Raises:
            AuthenticationFailed: unknown, expired or revoked token, or inactive user.
        """
        with self._write() as session:
            user = directory.user_for_token(session, token_hash, self.now())
            return UserOut.model_validate(user).actor()

    def revoke_api_token(self, token_hash: str) -> bool:
        """Revoke a token by its hash; False when unknown or already revoked."""
        with self._write() as session:
            return directory.revoke_api_token(session, token_hash, self.now())
