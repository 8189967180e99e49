"""Refuse request bodies over a size limit with 413, whether declared or streamed.

A check of the ``Content-Length`` header alone lets a chunked body of any size through to the
JSON parser. This middleware also reads the body itself, stops at the limit, and hands the
buffered body on to the app; every route takes a small JSON body, so buffering costs nothing.
Starlette's own ``max_body_size`` is not used because it replaces the answer with a plain-text
413 whenever the header declares too much, and clients match on ``{"error_code", "detail"}``.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search.errors import ErrorCode


class BodySizeLimitMiddleware:
    """ASGI middleware: 413 ``payload_too_large`` for a body over ``limit`` bytes.

    Args:
        app: The wrapped application.
        limit: The largest body accepted, in bytes.
        larger: Paths that take larger bodies, with their own limit (a whole dictionary).
    """

    def __init__(self, app: ASGIApp, *, limit: int, larger: dict[str, int] | None = None) -> None:
        limits = [limit, *(larger or {}).values()]
        if any(n < 0 for n in limits):
            raise ValueError(f"limits must be non-negative numbers of bytes, got {limits}")
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.limit)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            detail = f"request body is {declared} bytes; the limit is {limit}"
            await _too_large(detail)(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                detail = f"request body is over the limit of {limit} bytes"
                await _too_large(detail)(scope, receive, send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)

        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body only a disconnect can come

        await self.app(scope, replay, send)


def _too_large(detail: str) -> JSONResponse:
    return JSONResponse(
        status_code=ErrorCode.PAYLOAD_TOO_LARGE.http_status,
        content={"error_code": ErrorCode.PAYLOAD_TOO_LARGE.code, "detail": detail},
    )
