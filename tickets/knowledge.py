"""The knowledge loop: answered tickets become curated answers once an editor approves them.

An operator (or supervisor) proposes an answered ticket; the proposal copies the question and the
answer so the editor can reword them without touching the ticket. The editor approves (possibly
with edits), edits and leaves it proposed, or rejects it with a note. Every step is written to the
ticket's processing log.

Approved proposals are offered to ingestion through ``TicketService.approved_answers()``, which
makes the service an ``ingestion.connectors.curated.AnsweredTicketSource``;
``ApprovedTicketConnector`` turns it into a connector of curated answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class ProposalStatus(str, Enum):
    """Where a proposal is in its review."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ApprovedTicketAnswer:
    """One approved answer, in the shape ``ApprovedAnswer`` asks for.

    ``answer_key`` is ``ticket-<ticket id>``: a ticket has at most one live proposal, so the key
    is stable across edits and unique across the source.
    """

    answer_key: str
    question: str
    answer: str
    field: str
    procedure_codes: Sequence[str]
    approved_by: str
    approved_at: datetime | None


def answer_key_for(ticket_id: int) -> str:
    """The curated-answer key of a ticket's approved answer."""
    return f"ticket-{ticket_id}"
