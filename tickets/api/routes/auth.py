"""Sign-in and the signed-in user: ``/v1/auth/token`` and ``/v1/me``."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tickets.api.deps import (
    AuthStoreDep,
    CurrentUser,
    bearer_token,
    get_rate_limiter,
    rate_limited,
)
from tickets.api.routing import TicketsRoute
from tickets.ratelimit import RateLimit
from tickets.schemas import UserOut

router = APIRouter(tags=["auth"], route_class=TicketsRoute)


def account_key(username: str) -> str:
    """What the per-account sign-in limit counts by: a digest of the case-folded username.

    A digest keeps usernames out of the counter store's keys.
    """
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


class TokenRequest(BaseModel):
    """A username and password, exchanged for a bearer token."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field("", max_length=128, description="A label for the token, e.g. the desk.")


class TokenResponse(BaseModel):
    """A new bearer token; the token is shown only this once."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut


@router.post(
    "/v1/auth/token",
    dependencies=[Depends(rate_limited("token"))],
    responses={401: {"description": "Wrong username or password"}, 429: {}},
)
def create_token(body: TokenRequest, auth: AuthStoreDep, request: Request) -> TokenResponse:
    """Exchange a username and password for a bearer token (rate limited per client address
    and per account)."""
    rules: dict[str, RateLimit] = request.app.state.ticket_rate_limits
    get_rate_limiter(request).check(rules["token-account"], account_key(body.username))
    issued = auth.issue_token(body.username, body.password, name=body.name)
    return TokenResponse(access_token=issued.token, expires_at=issued.expires_at, user=issued.user)


@router.delete("/v1/auth/token", status_code=204)
def revoke_token(
    _user: CurrentUser, token: Annotated[str, Depends(bearer_token)], auth: AuthStoreDep
) -> Response:
    """Revoke the token this request was made with (sign out)."""
    auth.revoke_token(token)
    return Response(status_code=204)


@router.get("/v1/me")
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return user
