"""The knowledge loop: proposed curated answers and the editors' review of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from pydantic import ConfigDict, Field

from tickets.api.deps import EditorUser, StaffUser, TicketServiceDep
from tickets.api.routes.tickets import expected_version
from tickets.api.routing import TicketsRoute
from tickets.knowledge import ProposalStatus
from tickets.schemas import ProposalOut, ReviewDecision

router = APIRouter(prefix="/v1/knowledge/proposals", tags=["knowledge"], route_class=TicketsRoute)

ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ReviewRequest(ReviewDecision):
    """An editor's decision and the version of the proposal it was made on."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, ge=1, le=2**31 - 1)


@router.get("")
def list_proposals(
    _user: StaffUser,
    service: TicketServiceDep,
    status: Annotated[ProposalStatus | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ProposalOut]:
    """Proposals, newest first (editors filter on ``status=proposed``)."""
    return service.list_proposals(status=status, offset=offset, limit=limit)


@router.get("/{proposal_id}")
def get_proposal(
    proposal_id: ProposalId, _user: StaffUser, service: TicketServiceDep
) -> ProposalOut:
    """One proposal."""
    return service.get_proposal(proposal_id)


@router.post("/{proposal_id}/review")
def review_proposal(
    proposal_id: ProposalId,
    body: ReviewRequest,
    user: EditorUser,
    service: TicketServiceDep,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> ProposalOut:
    """Approve (optionally with edits), edit, or reject a proposal; approved ones go to
    ingestion as curated answers."""
    version = expected_version(body.version, if_match)
    decision = ReviewDecision(**body.model_dump(exclude={"version"}))
    return service.review_proposal(
        proposal_id, decision, actor=user.actor(), expected_version=version
    )
