"""The knowledge loop of the ticket service: proposals, reviews, approved answers.

Part of ``TicketService`` (a mixin); see ``tickets.knowledge`` for the rules.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from search.errors import ErrorCode
from tickets.errors import InvalidTransition, TicketError, TicketNotFound, VersionConflict
from tickets.knowledge import ApprovedTicketAnswer, ProposalStatus, answer_key_for
from tickets.models import AnswerProposal, Ticket
from tickets.schemas import MAX_ANSWER_CHARS, MAX_CONTENT_CHARS, Actor, ProposalOut, ReviewDecision
from tickets.service_base import (
    DESK_ROLES,
    EDITOR_ROLES,
    ServiceBase,
    redact_personal,
    require_text,
    valid_id,
)
from tickets.workflow import Status

logger = logging.getLogger(__name__)


class KnowledgeMixin(ServiceBase):
    """Answered tickets proposed, reviewed, and offered to ingestion when approved."""

    # ------------------------------------------------------------------ knowledge loop

    def propose_answer(
        self,
        ticket_id: int,
        *,
        actor: Actor | str,
        question: str | None = None,
        answer: str | None = None,
    ) -> ProposalOut:
        """Propose an answered ticket as a curated answer; logged on the ticket.

        ``question`` and ``answer`` default to the ticket's content and answer.

        Raises:
            InvalidTransition: the ticket has no answer yet.
            TicketError: the ticket already has a proposal waiting or approved (409).
        """
        act = Actor.of(actor)
        self._require(act, DESK_ROLES | EDITOR_ROLES, "propose curated answers")
        with self._write(ticket_id) as session:
            ticket = self._ticket(session, ticket_id, act)
            if ticket.status not in (Status.ANSWERED.value, Status.CLOSED.value) or not (
                ticket.answer
            ):
                raise InvalidTransition(
                    current=ticket.status,
                    requested="proposed",
                    allowed=[],
                    reason="only answered tickets can be proposed as curated answers",
                )
            live = session.scalar(
                select(AnswerProposal.id).where(
                    AnswerProposal.ticket_id == ticket_id,
                    AnswerProposal.status != ProposalStatus.REJECTED.value,
                )
            )
            if live is not None:
                raise TicketError(
                    f"ticket {ticket.number} already has proposal {live}; review that one",
                    error_code=ErrorCode.CONFLICT,
                )
            text_q = question if question is not None else ticket.content
            text_a = answer if answer is not None else ticket.answer
            require_text(text_q, "question", MAX_CONTENT_CHARS)
            require_text(text_a, "answer", MAX_ANSWER_CHARS)
            # The knowledge base is read by everyone: citizens' numbers and addresses stay out.
            text_q, text_a = redact_personal(text_q), redact_personal(text_a)
            proposal = AnswerProposal(
                ticket_id=ticket.id,
                question=text_q,
                answer=text_a,
                field=ticket.field,
                procedure_codes=list(ticket.procedure_codes or []),
                status=ProposalStatus.PROPOSED.value,
                proposed_by=act.username,
                proposed_at=self.now(),
            )
            session.add(proposal)
            session.flush()
            self._log(
                session,
                ticket,
                act,
                "propose_answer",
                field="proposal",
                new=f"{proposal.id}:{ProposalStatus.PROPOSED.value}",
            )
            return ProposalOut.model_validate(proposal)

    def review_proposal(
        self,
        proposal_id: int,
        review: ReviewDecision,
        *,
        actor: Actor | str,
        expected_version: int | None = None,
    ) -> ProposalOut:
        """An editor approves (with optional edits), edits, or rejects a proposal; logged.

        Raises:
            PermissionDenied: the actor is not an editor or admin.
            TicketNotFound: no such proposal.
            VersionConflict: ``expected_version`` is stale.
            InvalidTransition: the proposal was already approved or rejected.
        """
        act = Actor.of(actor)
        self._require(act, EDITOR_ROLES, "review curated answers")
        with self._write() as session:
            proposal = session.get(AnswerProposal, proposal_id) if valid_id(proposal_id) else None
            if proposal is None:
                raise TicketNotFound(f"no proposal with id {proposal_id}")
            if expected_version is not None and expected_version != proposal.version:
                raise VersionConflict(
                    f"proposal {proposal_id} was saved at version {expected_version}",
                    current_version=proposal.version,
                )
            if proposal.status != ProposalStatus.PROPOSED.value:
                raise TicketError(
                    f"proposal {proposal_id} is already {proposal.status}, so it cannot be "
                    f"given the decision {review.decision!r}; a reviewed proposal is final "
                    "(reopen its ticket to send an approved one back to review)",
                    error_code=ErrorCode.CONFLICT,
                )
            self._review(session, proposal, review, act)
            return ProposalOut.model_validate(proposal)

    def _review(
        self, session: Session, proposal: AnswerProposal, review: ReviewDecision, actor: Actor
    ) -> None:
        ticket = session.get(Ticket, proposal.ticket_id)
        assert ticket is not None  # a foreign key guarantees it
        edits = {
            "question": None if review.question is None else redact_personal(review.question),
            "answer": None if review.answer is None else redact_personal(review.answer),
            "field": review.field,
            "procedure_codes": review.procedure_codes,
        }
        for name, value in edits.items():
            if value is not None and getattr(proposal, name) != value:
                self._log(
                    session,
                    ticket,
                    actor,
                    "edit_proposal",
                    field=f"proposal.{name}",
                    old=getattr(proposal, name),
                    new=value,
                )
                setattr(proposal, name, value)
        if review.decision != "edit":
            status = (
                ProposalStatus.APPROVED if review.decision == "approve" else ProposalStatus.REJECTED
            )
            self._log(
                session,
                ticket,
                actor,
                f"{review.decision}_proposal",
                field="proposal",
                old=f"{proposal.id}:{proposal.status}",
                new=f"{proposal.id}:{status.value}",
                text=review.note,
            )
            proposal.status = status.value
            proposal.reviewed_by = actor.username
            proposal.reviewed_at = self.now()
            proposal.review_note = review.note
        session.flush()

    def _withdraw_approvals(self, session: Session, ticket: Ticket, actor: Actor) -> None:
        """Send the ticket's approved proposals back to review: its answer was found wrong.

        Ingestion reads approved proposals only, so a withdrawn one stops being served; an
        editor approves it again (edited) or rejects it.
        """
        approved = session.scalars(
            select(AnswerProposal).where(
                AnswerProposal.ticket_id == ticket.id,
                AnswerProposal.status == ProposalStatus.APPROVED.value,
            )
        )
        for proposal in approved:
            self._log(
                session,
                ticket,
                actor,
                "withdraw_proposal",
                field="proposal",
                old=f"{proposal.id}:{proposal.status}",
                new=f"{proposal.id}:{ProposalStatus.PROPOSED.value}",
                text="the ticket was reopened; review the answer again",
            )
            proposal.status = ProposalStatus.PROPOSED.value
            proposal.review_note = f"ticket {ticket.number} reopened; review the answer again"
            logger.info("Proposal %s back in review: ticket %s reopened", proposal.id, ticket.id)

    def get_proposal(self, proposal_id: int) -> ProposalOut:
        """One proposal.

        Raises:
            TicketNotFound: no such proposal.
        """
        with self._read() as session:
            proposal = session.get(AnswerProposal, proposal_id) if valid_id(proposal_id) else None
            if proposal is None:
                raise TicketNotFound(f"no proposal with id {proposal_id}")
            return ProposalOut.model_validate(proposal)

    def list_proposals(
        self, *, status: ProposalStatus | str | None = None, offset: int = 0, limit: int = 50
    ) -> list[ProposalOut]:
        """Proposals, newest first, optionally of one status."""
        query = select(AnswerProposal).order_by(AnswerProposal.id.desc())
        if status is not None:
            query = query.where(AnswerProposal.status == ProposalStatus(status).value)
        query = query.offset(max(offset, 0)).limit(max(1, min(limit, 500)))
        with self._read() as session:
            return [ProposalOut.model_validate(p) for p in session.scalars(query)]

    def approved_answers(self) -> list[ApprovedTicketAnswer]:
        """Every approved answer, for ``ingestion.connectors.curated.ApprovedTicketConnector``."""
        query = (
            select(AnswerProposal)
            .where(AnswerProposal.status == ProposalStatus.APPROVED.value)
            .order_by(AnswerProposal.id)
        )
        with self._read() as session:
            return [
                ApprovedTicketAnswer(
                    answer_key=answer_key_for(p.ticket_id),
                    # Redacted again: rows proposed before redaction existed may hold numbers.
                    question=redact_personal(p.question),
                    answer=redact_personal(p.answer),
                    field=p.field or "",
                    procedure_codes=tuple(p.procedure_codes or ()),
                    approved_by=p.reviewed_by or "",
                    approved_at=p.reviewed_at,
                )
                for p in session.scalars(query)
            ]
