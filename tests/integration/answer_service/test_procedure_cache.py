"""Parsed procedures are kept between requests, and a sync that changes one shows at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from invented_kb import INVENTED_PROCEDURES, SWIFTLET, open_service, write_invented_dump

from answer_service.schemas import SuggestIn
from ingestion.connectors.dump import ProcedureDumpConnector
from ingestion.knowledge_base import KnowledgeBase
from ingestion.settings import Settings
from search.errors import SearchError
from tests.utils.procedure_dump import procedure_record, write_dump


def sync(settings: Settings, dump: Path) -> None:
    kb = KnowledgeBase(settings, with_embedder=False)
    try:
        (report,) = kb.sync([ProcedureDumpConnector(dump)])
    finally:
        kb.close()
    assert report.status == "completed", report


def dump_with(path: Path, *, swiftlet_fee: str | None) -> Path:
    """The invented dump with the swiftlet licence's online fee changed, or without it."""
    records = []
    for invented in INVENTED_PROCEDURES:
        changes = dict(invented)
        code, name = changes.pop("ma_thu_tuc"), changes.pop("ten_thu_tuc")
        if code == SWIFTLET:
            if swiftlet_fee is None:
                continue
            changes["cach_thuc_thuc_hien"] = changes["cach_thuc_thuc_hien"].replace(
                "120,000", swiftlet_fee
            )
        records.append(
            procedure_record(code, name, detail_url=f"https://x.example/{code}", **changes)
        )
    return write_dump(path, records, compress=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    dump = write_invented_dump(tmp_path / "dump.jsonl.gz")
    settings = Settings(data_dir=tmp_path / "data", procedure_dump=dump, embedder="none")
    sync(settings, dump)
    return settings


def test_a_procedure_is_parsed_once_while_the_catalog_keeps_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = open_service(settings)
    try:
        reads: list[str] = []
        original = service.catalog.normalized

        def counted(doc_id: str):  # type: ignore[no-untyped-def]
            reads.append(doc_id)
            return original(doc_id)

        monkeypatch.setattr(service.catalog, "normalized", counted)
        first = service.facts(SWIFTLET)
        again = service.facts(SWIFTLET)
        assert again is first
        assert reads == [f"procedure:{SWIFTLET}"]
    finally:
        service.engine.close()
        service.catalog.close()


def test_a_sync_that_changes_a_procedure_shows_in_the_next_answer(
    settings: Settings, tmp_path: Path
) -> None:
    service = open_service(settings)
    try:
        before = service.facts(SWIFTLET).model_dump_json()
        assert "120" in before

        sync(settings, dump_with(tmp_path / "changed.jsonl.gz", swiftlet_fee="135,000"))
        after = service.facts(SWIFTLET).model_dump_json()
        assert "135" in after and "120" not in after

        sync(settings, dump_with(tmp_path / "removed.jsonl.gz", swiftlet_fee=None))
        with pytest.raises(SearchError, match="no procedure with code"):
            service.facts(SWIFTLET)
        assert service.procedures.by_doc_id(f"procedure:{SWIFTLET}") is None
    finally:
        service.engine.close()
        service.catalog.close()


def test_a_suggestion_checks_all_its_procedures_in_one_catalog_query(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = open_service(settings)
    try:
        asked: list[list[str]] = []
        original = service.catalog.content_hashes

        def counted(doc_ids: Sequence[str]) -> dict[str, str]:
            asked.append(list(doc_ids))
            return original(doc_ids)

        monkeypatch.setattr(service.catalog, "content_hashes", counted)
        out = service.suggest(SuggestIn(transcript="thủ tục cấp đổi thẻ, giấy phép", top_k=3))

        shown = [p.facts.code for p in out.procedures]
        assert len(shown) >= 2, shown
        assert len(asked) == 1
        assert {f"procedure:{code}" for code in shown} <= set(asked[0])
    finally:
        service.engine.close()
        service.catalog.close()


def test_a_procedure_a_sync_removed_is_left_out_of_the_next_suggestion(
    settings: Settings, tmp_path: Path
) -> None:
    service = open_service(settings)
    try:
        question = SuggestIn(transcript="giấy phép nuôi chim yến", top_k=3)
        assert SWIFTLET in [p.facts.code for p in service.suggest(question).procedures]

        # The index is a generation behind the catalog until the service reopens it: the hit
        # is still found, and the catalog says it is gone.
        sync(settings, dump_with(tmp_path / "removed.jsonl.gz", swiftlet_fee=None))
        assert SWIFTLET not in [p.facts.code for p in service.suggest(question).procedures]
        assert service.procedures.by_doc_ids([f"procedure:{SWIFTLET}"]) == {}
    finally:
        service.engine.close()
        service.catalog.close()
