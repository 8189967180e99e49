"""Hybrid search."""

from __future__ import annotations

from fastapi import APIRouter

from answer_service.api.deps import ServiceDep
from answer_service.schemas import SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
def search(body: SearchIn, service: ServiceDep) -> SearchOut:
    """Procedures and answers for a question, best first, grouped by document."""
    return service.search(body.query, top_k=body.top_k, filters=body.filters)
