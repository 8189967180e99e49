"""Agent-assist suggestions and grounded answers."""

from __future__ import annotations

from fastapi import APIRouter

from answer_service.api.deps import ServiceDep
from answer_service.schemas import AnswerIn, AnswerOut, SuggestIn, SuggestOut

router = APIRouter(prefix="/v1", tags=["answers"])


@router.post("/suggest")
def suggest(body: SuggestIn, service: ServiceDep) -> SuggestOut:
    """Suggestions for the operator from the conversation so far."""
    return service.suggest(body)


@router.post("/answer")
def answer(body: AnswerIn, service: ServiceDep) -> AnswerOut:
    """A grounded answer with citations, or a hand-over to an operator with the reason."""
    return service.answer(body.question)
