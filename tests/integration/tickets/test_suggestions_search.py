"""Procedure suggestions from the real hybrid search, over the invented knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.answer_service.invented_kb import (
    DRIVING,
    SWIFTLET,
    build_knowledge_base,
    open_service,
)
from tests.utils.tickets import make_actor, make_ticket
from tickets.service import TicketService
from tickets.suggestions import SearchProcedureSuggester

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def suggester(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchProcedureSuggester]:
    data_dir: Path = tmp_path_factory.mktemp("tickets-kb") / "data"
    answer_service = open_service(build_knowledge_base(data_dir, embedder="none"))
    yield SearchProcedureSuggester.from_answer_service(answer_service)
    answer_service.engine.close()
    answer_service.catalog.close()


@pytest.mark.parametrize("ticket_db_url", ["sqlite"], indirect=True)
def test_search_finds_the_procedure_and_its_field(
    ticket_service: TicketService, suggester: SearchProcedureSuggester
) -> None:
    ticket_service.suggester = suggester
    operator = make_actor(ticket_service)
    past = make_ticket(ticket_service, operator, content="Tôi muốn cấp đổi giấy phép lái xe")
    ticket_service.classify(past.id, actor=operator)
    ticket_service.answer(past.id, text="Nộp hồ sơ tại Sở.", actor=operator)

    found = ticket_service.suggestions("cap doi giay phep lai xe", limit=3)
    codes = [p.code for p in found.procedures]
    assert codes and codes[0] == DRIVING
    assert SWIFTLET not in codes[:1]
    assert found.field == found.procedures[0].field
    assert [m.id for m in found.past_answered] == [past.id]
