"""Dependencies of the ticket routes: the service, the signed-in user, roles and rate limits.

Every ticket route declares the roles it admits with one of the ``Annotated`` aliases below
(``StaffUser``, ``AdminUser`` …), so the role check is visible in the route's signature and in the
OpenAPI schema (each one needs a bearer token). Agency scope is enforced by the service, which
answers 404 to a liaison asking for a ticket of another agency (see ``tickets.auth``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tickets.auth import AuthStore, role_names
from tickets.errors import AuthenticationFailed, PermissionDenied
from tickets.ratelimit import RateLimit, RateLimiter
from tickets.schemas import Actor, UserOut
from tickets.service import TicketService
from tickets.workflow import Role

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token.")


def get_ticket_service(request: Request) -> TicketService:
    """The ``TicketService`` opened at start-up."""
    service: TicketService = request.app.state.tickets
    return service


def get_auth_store(request: Request) -> AuthStore:
    """Users and tokens, on the ticket database."""
    store: AuthStore = request.app.state.ticket_auth
    return store


def get_rate_limiter(request: Request) -> RateLimiter:
    """The limiter of the public endpoints."""
    limiter: RateLimiter = request.app.state.ticket_rate_limiter
    return limiter


TicketServiceDep = Annotated[TicketService, Depends(get_ticket_service)]
AuthStoreDep = Annotated[AuthStore, Depends(get_auth_store)]


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token of the request.

    Raises:
        AuthenticationFailed: no ``Authorization: Bearer …`` header.
    """
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed("send a bearer token: Authorization: Bearer <token>")
    return credentials.credentials


def current_user(
    token: Annotated[str, Depends(bearer_token)], auth: AuthStoreDep, request: Request
) -> UserOut:
    """The signed-in user.

    Raises:
        AuthenticationFailed: unknown, expired or revoked token, or a disabled user.
    """
    user = auth.authenticate(token)
    request.state.ticket_user = user
    return user


def require_roles(*roles: Role) -> Callable[[UserOut], UserOut]:
    """A dependency that admits the signed-in user only with one of ``roles``."""
    allowed = frozenset(roles)

    def check(user: Annotated[UserOut, Depends(current_user)]) -> UserOut:
        if user.role not in allowed:
            raise PermissionDenied(
                f"role {user.role.value!r} may not do this; allowed roles: {role_names(allowed)}"
            )
        return user

    return check


def as_actor(user: UserOut) -> Actor:
    """The service's actor for a signed-in user."""
    return user.actor()


ANY_ROLE = (Role.OPERATOR, Role.EDITOR, Role.SUPERVISOR, Role.AGENCY_LIAISON, Role.ADMIN)
STAFF = (Role.OPERATOR, Role.EDITOR, Role.SUPERVISOR, Role.ADMIN)

CurrentUser = Annotated[UserOut, Depends(require_roles(*ANY_ROLE))]
"""Any signed-in user; agency liaisons are limited to their agency by the service."""
StaffUser = Annotated[UserOut, Depends(require_roles(*STAFF))]
"""The hotline's own staff: every role but agency liaison."""
DeskUser = Annotated[UserOut, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN))]
"""Those who take contacts and work tickets."""
WorkerUser = Annotated[
    UserOut,
    Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR, Role.AGENCY_LIAISON, Role.ADMIN)),
]
"""Those who move tickets along (liaisons on their agency's tickets only)."""
SupervisorUser = Annotated[UserOut, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
"""Supervisors and admins: statistics and the overdue list."""
EditorUser = Annotated[UserOut, Depends(require_roles(Role.EDITOR, Role.ADMIN))]
"""Editors and admins: the review of proposed curated answers."""
AdminUser = Annotated[UserOut, Depends(require_roles(Role.ADMIN))]
"""Admins only: users and agencies."""


def client_key(request: Request) -> str:
    """What a rate limit counts by: the client's address."""
    return request.client.host if request.client else "unknown"


def rate_limited(scope: str) -> Callable[[Request], None]:
    """A dependency that counts the request under the limit named ``scope``.

    The rules are built at start-up from the settings (``app.state.ticket_rate_limits``).
    """

    def check(request: Request) -> None:
        rules: dict[str, RateLimit] = request.app.state.ticket_rate_limits
        get_rate_limiter(request).check(rules[scope], client_key(request))

    return check
