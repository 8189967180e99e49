"""Agent-assist suggestions and grounded answers; each is recorded for quality review."""

from __future__ import annotations

from fastapi import APIRouter, Request

from answer_service.api.deps import ServiceDep
from answer_service.api.routes.feedback import get_quality
from answer_service.quality import Interaction
from answer_service.schemas import AnswerIn, AnswerOut, SuggestIn, SuggestOut

router = APIRouter(prefix="/v1", tags=["answers"])


def suggestion_interaction(body: SuggestIn, out: SuggestOut) -> Interaction:
    """The quality record of one suggestion (typed, or live during a call)."""
    citizen = " ".join(t.text for t in body.conversation if t.speaker == "citizen")
    return Interaction(
        kind="suggest",
        channel=body.channel,
        question=f"{citizen} {body.transcript}".strip()[-2_000:],
        route=out.route,
        confidence=out.confidence,
        answered=bool(out.procedures or out.route_guidance),
        procedure_codes=tuple(p.facts.code for p in out.procedures),
        reply=out.suggested_reply,
        took_ms=out.took_ms,
    )


@router.post("/suggest")
def suggest(body: SuggestIn, service: ServiceDep, request: Request) -> SuggestOut:
    """Suggestions for the operator from the conversation so far."""
    out = service.suggest(body)
    out.interaction_id = get_quality(request).record(suggestion_interaction(body, out))
    return out


@router.post("/answer")
def answer(body: AnswerIn, service: ServiceDep, request: Request) -> AnswerOut:
    """A grounded answer with citations; or two or three procedures for the citizen to choose
    from by code; or a hand-over to an operator with the reason."""
    out = service.answer(body.question)
    out.interaction_id = get_quality(request).record(
        Interaction(
            kind="answer",
            channel=body.channel,
            question=body.question,
            route=out.route,
            confidence=out.confidence,
            answered=out.answered,
            handover_reason=out.handover_reason,
            procedure_codes=tuple(
                dict.fromkeys(
                    [c.code for c in out.citations if c.code] + [o.code for o in out.options]
                )
            ),
            reply=out.text,
            took_ms=out.took_ms,
        )
    )
    return out
