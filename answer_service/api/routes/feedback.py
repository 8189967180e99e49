"""Operators' feedback on suggestions, and the supervisors' answer-quality review.

Feedback comes from the hotline's staff; the review is for supervisors and admins. Both sign in
with the ticket system's bearer tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from answer_service.quality import QualityStore, Verdict
from tickets.api.deps import StaffUser, SupervisorUser

router = APIRouter(prefix="/v1", tags=["quality"])

InteractionId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


def get_quality(request: Request) -> QualityStore:
    store: QualityStore = request.app.state.quality
    return store


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interaction_id: InteractionId
    verdict: Verdict
    procedure_code: str = Field("", max_length=64, description="The right procedure, if known.")
    comment: str = Field("", max_length=2_000)


class FeedbackOut(BaseModel):
    id: int
    interaction_id: str
    at: datetime
    verdict: Verdict
    procedure_code: str
    comment: str
    by: str


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interaction_id: InteractionId
    score: int = Field(ge=1, le=5)
    note: str = Field("", max_length=2_000)


class InteractionOut(BaseModel):
    id: str
    at: datetime
    kind: str
    channel: str
    question: str
    route: str
    confidence: float
    answered: bool
    handover_reason: str
    procedure_codes: list[str]
    reply: str
    took_ms: float


class GapOut(BaseModel):
    question: str
    count: int
    last_seen: datetime
    best_confidence: float
    routes: dict[str, int]


Days = Annotated[int, Query(ge=1, le=366, description="How many days back.")]


def _since(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@router.post("/feedback", status_code=status.HTTP_201_CREATED)
def add_feedback(body: FeedbackIn, request: Request, user: StaffUser) -> FeedbackOut:
    """Mark a suggestion or answer useful, wrong or missing (the right one was not offered)."""
    row = get_quality(request).add_feedback(
        body.interaction_id,
        body.verdict,
        procedure_code=body.procedure_code.strip(),
        comment=body.comment.strip(),
        by=user.username,
    )
    return FeedbackOut.model_validate(row)


@router.get("/quality/interactions/{interaction_id}")
def interaction(interaction_id: str, request: Request, _: SupervisorUser) -> InteractionOut:
    """One recorded suggestion or answer."""
    return InteractionOut.model_validate(get_quality(request).interaction(interaction_id))


@router.get("/quality/summary")
def summary(request: Request, _: SupervisorUser, days: Days = 30) -> dict[str, Any]:
    """Interactions, answered share, feedback counts and rates, ratings; overall and per day."""
    return get_quality(request).summary(since=_since(days), until=datetime.now(UTC))


@router.get("/quality/gaps")
def gaps(
    request: Request,
    _: SupervisorUser,
    days: Days = 30,
    below: Annotated[float, Query(ge=0, le=1)] = 0.75,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[GapOut]:
    """Knowledge gaps: questions answered with low confidence, handed over or marked missing."""
    found = get_quality(request).gaps(since=_since(days), below=below, limit=limit)
    return [GapOut.model_validate(g, from_attributes=True) for g in found]


@router.get("/quality/sample")
def sample(
    request: Request,
    _: SupervisorUser,
    days: Days = 30,
    n: Annotated[int, Query(ge=1, le=200)] = 20,
    seed: Annotated[int | None, Query(description="Repeatable draw.")] = None,
) -> list[InteractionOut]:
    """A random sample of answered interactions that nobody rated yet."""
    rows = get_quality(request).sample(n=n, since=_since(days), seed=seed)
    return [InteractionOut.model_validate(r) for r in rows]


@router.post("/quality/ratings", status_code=status.HTTP_204_NO_CONTENT)
def rate(body: RatingIn, request: Request, user: SupervisorUser) -> None:
    """A supervisor's rating of one answer, 1 (wrong) to 5 (exemplary)."""
    get_quality(request).rate(body.interaction_id, body.score, note=body.note, by=user.username)
