"""Hybrid search."""

from __future__ import annotations

from fastapi import APIRouter

from answer_service.api.deps import ServiceDep
from answer_service.schemas import FacetsOut, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
def search(body: SearchIn, service: ServiceDep) -> SearchOut:
    """Procedures and answers for a question, best first, grouped by document."""
    return service.search(body.query, top_k=body.top_k, filters=body.filters)


@router.get("/facets")
def facets(service: ServiceDep) -> FacetsOut:
    """The fields, levels and agencies the index holds, which the search filters take."""
    return service.facets()
