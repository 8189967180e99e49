"""Suggestions while recording: field, procedures (from a fake search), duplicates, past answers.

These run on an SQLite file; the procedure search is a fake standing in for the hybrid search.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.utils.tickets import FixedClock, make_actor, make_ticket
from tickets.db import create_ticket_engine, migrate
from tickets.errors import TicketError
from tickets.schemas import ProcedureHit
from tickets.service import TicketService
from tickets.settings import TicketSettings
from tickets.sla import VIETNAM_TIME
from tickets.suggestions import (
    ProcedureSuggester,
    SearchProcedureSuggester,
    similarity,
    ticket_tokens,
)
from tickets.workflow import Status


class FakeSuggester:
    """Returns fixed procedure hits and remembers what it was asked."""

    def __init__(self, hits: list[ProcedureHit]) -> None:
        self.hits = hits
        self.asked: list[tuple[str, int]] = []

    def suggest_procedures(self, text: str, *, limit: int) -> list[ProcedureHit]:
        self.asked.append((text, limit))
        return self.hits[:limit]


CCCD = ProcedureHit(code="1.001234", title="Cấp lại thẻ Căn cước", field="Cư trú", score=0.9)
PASSPORT = ProcedureHit(code="2.000111", title="Cấp hộ chiếu", field="Xuất nhập cảnh", score=0.4)


@pytest.fixture
def service(tmp_path: Path) -> TicketService:
    url = f"sqlite:///{tmp_path / 'suggest.sqlite'}"
    migrate(url)
    return TicketService(
        create_ticket_engine(url),
        settings=TicketSettings(database_url=url),
        suggester=FakeSuggester([CCCD, PASSPORT]),
        clock=FixedClock(datetime(2026, 3, 2, 9, tzinfo=VIETNAM_TIME)),
    )


def test_folded_and_accented_texts_share_tokens() -> None:
    plain, accented = ticket_tokens("lam lai can cuoc"), ticket_tokens("Làm lại Căn Cước")
    assert plain == accented
    assert similarity(plain, accented) == pytest.approx(1.0)
    assert similarity(plain, ticket_tokens("đăng ký kết hôn")) == 0.0
    assert similarity(set(), plain) == 0.0


def test_duplicates_and_past_answers_without_accents(service: TicketService) -> None:
    operator = make_actor(service)
    open_dup = make_ticket(service, operator, content="Làm lại căn cước bị mất ở đâu?")
    answered = make_ticket(service, operator, content="Tôi muốn làm lại căn cước công dân")
    service.classify(answered.id, field="Cư trú", actor=operator)
    service.answer(answered.id, text="Nộp hồ sơ tại công an phường.", actor=operator)
    unrelated = make_ticket(service, operator, content="Đăng ký kết hôn với người nước ngoài")

    found = service.suggestions("lam lai can cuoc")
    assert [m.id for m in found.similar_open] == [open_dup.id]
    assert [m.id for m in found.past_answered] == [answered.id]
    assert found.past_answered[0].answer == "Nộp hồ sơ tại công an phường."
    assert found.past_answered[0].status is Status.ANSWERED
    assert unrelated.id not in {m.id for m in found.similar_open}
    assert [p.code for p in found.procedures] == ["1.001234", "2.000111"]
    assert found.field == "Cư trú"

    own = service.suggestions("Làm lại căn cước bị mất ở đâu?", exclude_ticket_id=open_dup.id)
    assert own.similar_open == []


def test_merged_tickets_are_not_offered(service: TicketService) -> None:
    operator = make_actor(service)
    target = make_ticket(service, operator, content="làm lại căn cước")
    source = make_ticket(service, operator, content="làm lại căn cước gấp")
    service.merge(source.id, into_id=target.id, actor=operator)
    found = service.suggestions("làm lại căn cước")
    assert [m.id for m in found.similar_open] == [target.id]


def test_limit_and_bad_input(service: TicketService) -> None:
    service.suggestions("hộ chiếu", limit=1)
    assert service.suggester.asked[-1] == ("hộ chiếu", 1)  # type: ignore[union-attr]
    with pytest.raises(TicketError):
        service.suggestions("   ")
    with pytest.raises(TicketError):
        service.suggestions("x" * 20_001)


def test_without_suggester_field_comes_from_past_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    migrate(url)
    service = TicketService(create_ticket_engine(url), settings=TicketSettings(database_url=url))
    operator = make_actor(service)
    ticket = make_ticket(service, operator, content="Cấp giấy phép xây dựng nhà ở")
    service.classify(ticket.id, field="Xây dựng", actor=operator)
    service.answer(ticket.id, text="Nộp tại UBND quận.", actor=operator)
    found = service.suggestions("cap giay phep xay dung")
    assert found.procedures == [] and found.field == "Xây dựng"


def test_search_backed_suggester_keeps_procedures_only() -> None:
    hits = [
        SimpleNamespace(doc_kind="curated_answer", code="", title="x", field="f", score=0.99),
        SimpleNamespace(doc_kind="procedure", code="1.1", title="Thủ tục A", field="F1", score=0.8),
        SimpleNamespace(doc_kind="procedure", code="1.2", title="Thủ tục B", field="F2", score=0.5),
    ]
    asked: list[tuple[str, int]] = []

    class FakeEngine:
        def search(self, query: str, *, top_k: int) -> SimpleNamespace:
            asked.append((query, top_k))
            return SimpleNamespace(hits=hits)

    suggester = SearchProcedureSuggester(FakeEngine())  # type: ignore[arg-type]
    assert isinstance(suggester, ProcedureSuggester)
    found = suggester.suggest_procedures("thủ tục", limit=1)
    assert [(h.code, h.field) for h in found] == [("1.1", "F1")]
    assert asked == [("thủ tục", 4)]
    answer_service = SimpleNamespace(engine=FakeEngine())
    via_service = SearchProcedureSuggester.from_answer_service(answer_service)  # type: ignore[arg-type]
    assert via_service.engine is answer_service.engine
