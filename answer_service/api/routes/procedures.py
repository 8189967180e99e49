"""Procedures by code."""

from __future__ import annotations

from fastapi import APIRouter, Path

from answer_service.api.deps import ServiceDep
from answer_service.facts import KeyFacts
from ingestion.models import Procedure

router = APIRouter(prefix="/v1/procedures", tags=["procedures"])

CODE_PATTERN = r"^[0-9]\.[0-9]{6}(\.[A-Za-z0-9]{1,6})?$"


@router.get("/{code}")
def get_procedure(
    service: ServiceDep, code: str = Path(pattern=CODE_PATTERN, max_length=20)
) -> Procedure:
    """The normalized procedure."""
    return service.procedure(code)


@router.get("/{code}/facts")
def get_facts(
    service: ServiceDep, code: str = Path(pattern=CODE_PATTERN, max_length=20)
) -> KeyFacts:
    """The procedure's key facts, as the operator console shows them."""
    return service.facts(code)
