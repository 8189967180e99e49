"""Suggestions while a ticket is recorded: its field, procedures, duplicates and past answers.

Text is compared through the project's lexical tokens (``search.text.lexical``): accent-folded
syllables and syllable pairs, so "lam lai can cuoc" and "làm lại căn cước" match. Candidates are
narrowed in SQL on the folded ``tickets.search_text`` column and then scored in Python by the
cosine of their token sets.

Procedures come from a ``ProcedureSuggester``. ``SearchProcedureSuggester`` asks the project's
hybrid search (``search.engine.SearchEngine``, also reachable through
``answer_service.service.AnswerService.engine``); tests give a fake one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from search.text.lexical import LexicalAnalyzer
from tickets.models import Ticket
from tickets.schemas import ProcedureHit, Suggestions, TicketMatch
from tickets.workflow import PENDING_STATUSES, Status

if TYPE_CHECKING:
    from answer_service.service import AnswerService
    from search.engine import SearchEngine

MIN_SIMILARITY = 0.3
"""Below this cosine of token sets two texts are not taken for the same question."""
CANDIDATES_PER_GROUP = 400
_SQL_SYLLABLES = 8
_ANALYZER = LexicalAnalyzer(segment=False)


@runtime_checkable
class ProcedureSuggester(Protocol):
    """Finds the procedures a citizen's text is about."""

    def suggest_procedures(self, text: str, *, limit: int) -> list[ProcedureHit]:
        """The best matching procedures, best first, at most ``limit``."""


class SearchProcedureSuggester:
    """Procedures from the project's hybrid search.

    Args:
        engine: An open ``SearchEngine``.

    Usage example:
        ```python
        suggester = SearchProcedureSuggester.from_answer_service(answer_service)
        service = TicketService(engine, suggester=suggester)
        ```
    """

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    @classmethod
    def from_answer_service(cls, service: AnswerService) -> SearchProcedureSuggester:
        """The suggester over the search engine an ``AnswerService`` already holds."""
        return cls(service.engine)

    def suggest_procedures(self, text: str, *, limit: int) -> list[ProcedureHit]:
        """Procedure hits of a search for ``text``, best first."""
        result = self.engine.search(text, top_k=limit + 3)
        hits = [hit for hit in result.hits if hit.doc_kind == "procedure" and hit.code]
        return [
            ProcedureHit(code=h.code, title=h.title, field=h.field, score=round(h.score, 5))
            for h in hits[:limit]
        ]


def ticket_tokens(text: str) -> set[str]:
    """Accent-folded syllables and syllable pairs of ``text``, filler words left out."""
    return set(_ANALYZER.tokens(text, drop_stop_syllables=True).counts)


def similarity(first: set[str], second: set[str]) -> float:
    """Cosine of two token sets, from 0 (nothing shared) to 1 (the same tokens)."""
    if not first or not second:
        return 0.0
    return len(first & second) / math.sqrt(len(first) * len(second))


def suggest(
    session: Session,
    content: str,
    *,
    suggester: ProcedureSuggester | None,
    limit: int,
    exclude_ticket_id: int | None = None,
) -> Suggestions:
    """Everything the recording screen offers for ``content``."""
    tokens = ticket_tokens(content)
    procedures = suggester.suggest_procedures(content, limit=limit) if suggester else []
    similar_open = _matches(
        session, tokens, open_tickets=True, limit=limit, exclude=exclude_ticket_id
    )
    past = _matches(session, tokens, open_tickets=False, limit=limit, exclude=exclude_ticket_id)
    return Suggestions(
        field=_field_vote(procedures, past),
        procedures=procedures,
        similar_open=similar_open,
        past_answered=past,
    )


def _matches(
    session: Session, tokens: set[str], *, open_tickets: bool, limit: int, exclude: int | None
) -> list[TicketMatch]:
    syllables = sorted((t for t in tokens if " " not in t), key=lambda t: (-len(t), t))
    if not syllables:
        return []
    query = select(Ticket).where(
        or_(*(Ticket.search_text.like(f"%{s}%") for s in syllables[:_SQL_SYLLABLES])),
        Ticket.merged_into_id.is_(None),
    )
    if open_tickets:
        query = query.where(Ticket.status.in_(PENDING_STATUSES))
    else:
        query = query.where(
            Ticket.status.in_([Status.ANSWERED.value, Status.CLOSED.value]),
            Ticket.answer.is_not(None),
        )
    if exclude is not None:
        query = query.where(Ticket.id != exclude)
    query = query.order_by(Ticket.created_at.desc()).limit(CANDIDATES_PER_GROUP)
    scored = []
    for ticket in session.scalars(query):
        score = similarity(tokens, ticket_tokens(ticket.content))
        if score >= MIN_SIMILARITY:
            scored.append((score, ticket))
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return [
        TicketMatch(
            id=t.id,
            number=t.number,
            status=Status(t.status),
            field=t.field,
            summary=t.content.strip().splitlines()[0][:120] if t.content.strip() else "",
            answer=t.answer,
            score=round(score, 4),
            created_at=t.created_at,
        )
        for score, t in scored[:limit]
    ]


def _field_vote(procedures: Sequence[ProcedureHit], past: Sequence[TicketMatch]) -> str | None:
    """The field most supported by the procedures found (by rank) and similar answered tickets."""
    votes: dict[str, float] = defaultdict(float)
    for rank, hit in enumerate(procedures):
        if hit.field:
            votes[hit.field] += 1.0 / (rank + 1)
    for match in past:
        if match.field:
            votes[match.field] += match.score
    if not votes:
        return None
    return max(sorted(votes), key=lambda name: votes[name])
