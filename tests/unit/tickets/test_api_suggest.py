"""The app's ticket suggester is the answer service's own search engine, when there is one."""

from __future__ import annotations

from types import SimpleNamespace

from tickets.api.suggest import suggester_for
from tickets.suggestions import SearchProcedureSuggester


def test_suggester_wraps_the_answer_services_engine() -> None:
    engine = object()
    suggester = suggester_for(SimpleNamespace(engine=engine))
    assert isinstance(suggester, SearchProcedureSuggester)
    assert suggester.engine is engine


def test_no_answer_service_means_no_procedure_suggestions() -> None:
    assert suggester_for(None) is None
    assert suggester_for(SimpleNamespace(engine=None)) is None
