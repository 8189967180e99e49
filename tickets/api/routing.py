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

import json
import logging
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from search.errors import ErrorCode, PlatformError
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


def georeport_error(
    status: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    """An error as GeoReport v2 clients expect it: ``[{"code": <status>, "description": …}]``."""
    return JSONResponse(
        status_code=status, content=[{"code": status, "description": description}], headers=headers
    )


def _validation_description(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("body", "query")
        )
        problems.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


class Open311Route(TicketsRoute):
    """The ticket route, with errors in the GeoReport v2 shape that civic tools parse."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except PlatformError as exc:
                logger.warning("Open311 request refused: %s %s", exc.error_code.code, exc.detail)
                return georeport_error(exc.error_code.http_status, exc.detail)
            except RequestValidationError as exc:
                return georeport_error(
                    ErrorCode.INVALID_INPUT.http_status, _validation_description(exc)
                )
            except HTTPException as exc:
                return georeport_error(exc.status_code, str(exc.detail), exc.headers)
            if response.status_code < 400 or not isinstance(response, JSONResponse):
                return response
            # Refusals the ticket route answers itself (NUL, 401, 429), in the same shape.
            content = json.loads(bytes(response.body))
            detail = content.get("detail", "") if isinstance(content, dict) else str(content)
            kept = {
                name: value
                for name, value in response.headers.items()
                if name.lower() in ("retry-after", "www-authenticate")
            }
            return georeport_error(response.status_code, str(detail), kept)

        return handle
