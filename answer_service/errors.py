"""The one place where errors become HTTP answers: ``{"error_code", "detail"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from search.errors import ErrorCode, PlatformError

logger = logging.getLogger(__name__)


def _clean_validation_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    # Echoing a 100 kB input back would be unkind; keep location, message and type only.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, exc: PlatformError) -> JSONResponse:
        status = exc.error_code.http_status
        log = logger.error if status >= 500 else logger.warning
        log("request failed: %s %s", exc.error_code.code, exc.detail)
        return JSONResponse(
            status_code=status, content={"error_code": exc.error_code.code, "detail": exc.detail}
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "error_code": ErrorCode.INVALID_INPUT.code,
                "detail": _clean_validation_errors(exc),
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: ErrorCode.BAD_REQUEST.code,
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        if detail == "There was an error parsing the body":  # Starlette's words for it
            detail = (
                "the request body could not be read: send UTF-8 JSON (or form fields where "
                "the endpoint takes a form)"
            )
        return JSONResponse(
            status_code=exc.status_code, content={"error_code": code, "detail": detail}
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return JSONResponse(
            status_code=500,
            content={"error_code": ErrorCode.INTERNAL.code, "detail": "internal error"},
        )
