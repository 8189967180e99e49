"""The route class of the ticket API: headers on some errors, and no NUL characters.

The app's one error handler (``answer_service.errors``) turns every ``PlatformError`` into
``{"error_code", "detail"}`` but sets no headers. Two ticket errors need one: a 429 must say when
to come back (``Retry-After``) and a 401 which scheme to use (``WWW-Authenticate: Bearer``). This
route class answers those two itself, in the same JSON shape; every other error still goes to
the app's handler.

PostgreSQL cannot store the NUL character in text, and SQLite would store it; so that both
backends answer alike (and neither with a 500), a request whose query, path or body carries a
NUL is refused with 422 before any handler runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from search.errors import ErrorCode
from tickets.errors import AuthenticationFailed, RateLimited, TicketError

logger = logging.getLogger(__name__)


def _headers_for(exc: TicketError) -> dict[str, str]:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, exc.retry_after))}
    return {"WWW-Authenticate": "Bearer"}


_NUL_MARKS = (b"\x00", b"\\u0000")


async def _carries_nul(request: Request) -> bool:
    raw_query = request.scope.get("query_string", b"")
    raw_path = request.scope.get("raw_path") or request.scope.get("path", "").encode()
    if b"%00" in raw_query or b"%00" in raw_path or "\x00" in request.url.path:
        return True
    body = await request.body()  # buffered by the body-size middleware; read once, cached
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    return any(mark in body for mark in _NUL_MARKS) or (form and b"%00" in body)


class TicketsRoute(APIRoute):
    """An ``APIRoute`` that adds ``Retry-After`` to 429 and ``WWW-Authenticate`` to 401."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            if await _carries_nul(request):
                return JSONResponse(
                    status_code=ErrorCode.INVALID_INPUT.http_status,
                    content={
                        "error_code": ErrorCode.INVALID_INPUT.code,
                        "detail": "text may not contain the NUL character (U+0000)",
                    },
                )
            try:
                return await handler(request)
            except (RateLimited, AuthenticationFailed) as exc:
                logger.warning("request refused: %s %s", exc.error_code.code, exc.detail)
                return JSONResponse(
                    status_code=exc.error_code.http_status,
                    content={"error_code": exc.error_code.code, "detail": exc.detail},
                    headers=_headers_for(exc),
                )

        return handle
