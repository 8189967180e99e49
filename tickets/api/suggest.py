"""The ticket suggester of the app: the answer service's own search engine, when it is open."""

from __future__ import annotations

from typing import Any

from tickets.suggestions import ProcedureSuggester, SearchProcedureSuggester


def suggester_for(answer_service: Any) -> ProcedureSuggester | None:
    """A ``SearchProcedureSuggester`` over the answer service's engine, or ``None`` without one.

    Args:
        answer_service: ``app.state.service`` of the answer service, if it was opened.
    """
    if answer_service is None or getattr(answer_service, "engine", None) is None:
        return None
    return SearchProcedureSuggester.from_answer_service(answer_service)
