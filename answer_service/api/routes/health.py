"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from answer_service.api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(service: ServiceDep) -> JSONResponse:
    """The index holds documents and can be queried."""
    try:
        points = service.engine.index.count()
    except Exception as exc:  # any backend failure means not ready
        return JSONResponse(status_code=503, content={"status": "unavailable", "detail": str(exc)})
    if points == 0:
        return JSONResponse(
            status_code=503, content={"status": "empty", "detail": "the index has no documents"}
        )
    return JSONResponse(content={"status": "ready", "points": points})
