"""Users, for admins: ``/v1/users``."""

from __future__ import annotations

from fastapi import APIRouter, Path

from search.errors import ErrorCode
from tickets.api.deps import AdminUser, AuthStoreDep
from tickets.api.routing import TicketsRoute
from tickets.auth import UserCreate, UserUpdate
from tickets.errors import TicketError
from tickets.schemas import UserOut
from tickets.workflow import Role

router = APIRouter(prefix="/v1/users", tags=["users"], route_class=TicketsRoute)

UserId = Path(ge=1, le=2**31 - 1)


@router.get("")
def list_users(_admin: AdminUser, auth: AuthStoreDep) -> list[UserOut]:
    """Every user, by username."""
    return auth.list_users()


@router.post("", status_code=201)
def create_user(body: UserCreate, _admin: AdminUser, auth: AuthStoreDep) -> UserOut:
    """Create a user with a password (at least 10 characters)."""
    return auth.create_user(body)


@router.get("/{user_id}")
def get_user(_admin: AdminUser, auth: AuthStoreDep, user_id: int = UserId) -> UserOut:
    """One user."""
    return auth.get_user(user_id)


@router.patch("/{user_id}")
def update_user(
    body: UserUpdate, admin: AdminUser, auth: AuthStoreDep, user_id: int = UserId
) -> UserOut:
    """Change a user; disabling it or setting a new password revokes its tokens.

    Admins cannot disable or demote themselves, so the last admin never locks everyone out.
    """
    demoted = body.role is not None and body.role is not Role.ADMIN
    if user_id == admin.id and (body.active is False or demoted):
        raise TicketError(
            "you cannot disable or demote yourself; ask another admin",
            error_code=ErrorCode.CONFLICT,
        )
    return auth.update_user(user_id, body)
