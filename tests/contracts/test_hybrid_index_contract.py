"""Contract of ``HybridIndex``: every backend passes the same tests.

Backends: ``EdgeHybridIndex`` (qdrant-edge, in ``tmp_path``) and ``ServerHybridIndex`` on
qdrant-client's local mode (``:memory:``, or ``tmp_path`` where persistence is tested). No Qdrant
server runs here. Vectors are small and hand-made; no model is loaded.
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from search.errors import ConfigurationError, IndexBackendError, SearchError
from search.index import (
    EdgeHybridIndex,
    HybridIndex,
    IndexBackend,
    IndexFilter,
    ServerHybridIndex,
    open_index,
)
from search.index.protocol import HEAD_SECTIONS
from search.models import Chunk, IndexPoint, ScoredChunk, Section, SparseVector

DENSE_SIZE = 4
COLLECTION = "chunks"
BACKENDS = ["edge", "local"]

# Sparse term ids of the hand-made corpus.
T_PROCEDURE = 1  # "thủ tục": in most chunks
T_PASSPORT = 10  # "hộ chiếu"
T_BIRTH = 11  # "khai sinh"
T_FEE = 20  # "lệ phí"
T_COPY = 30  # "bản sao"
T_DECREE = 40  # "nghị định"
T_HOTLINE = 50  # "tổng đài"
ALL_TERMS = [T_PROCEDURE, T_PASSPORT, T_BIRTH, T_FEE, T_COPY, T_DECREE, T_HOTLINE]


def point_id_of(chunk_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, chunk_id))


def make_point(
    chunk_id: str,
    *,
    doc_id: str,
    terms: dict[int, float],
    dense: Sequence[float] | None,
    doc_kind: str = "procedure",
    section: Section = Section.STEPS,
    code: str = "",
    field: str = "",
    levels: Sequence[str] = (),
    agency: str = "",
    text: str = "",
    subjects: Sequence[str] = (),
) -> IndexPoint:
    chunk = Chunk(
        chunk_id=chunk_id,
        doc_id=doc_id,
        doc_kind=doc_kind,
        section=section,
        title=f"Tiêu đề {chunk_id}",
        text=text or f"Nội dung {chunk_id}",
        code=code,
        field=field,
        levels=list(levels),
        agency=agency,
        source_url=f"https://dichvucong.gov.vn/{chunk_id}",
        subjects=list(subjects),
        embed=dense is not None,
    )
    return IndexPoint(
        point_id=point_id_of(chunk_id),
        chunk=chunk,
        dense=list(dense) if dense is not None else None,
        sparse=SparseVector(indices=list(terms), values=list(terms.values())),
    )


def corpus() -> list[IndexPoint]:
    """Six chunks of four documents; ``passport#steps`` has no dense vector."""
    passport = {"doc_id": "procedure:1.001", "code": "1.001", "field": "Xuất nhập cảnh"}
    birth = {"doc_id": "procedure:2.002", "code": "2.002", "field": "Hộ tịch"}
    return [
        make_point(
            "passport#overview",
            **passport,
            section=Section.OVERVIEW,
            levels=["Cấp tỉnh"],
            agency="Bộ Công an",
            subjects=["Công dân Việt Nam", "Tổ chức (không bao gồm doanh nghiệp, HTX)"],
            dense=[1, 0, 0, 0],
            terms={T_PROCEDURE: 1.0, T_PASSPORT: 2.0},
        ),
        make_point(
            "passport#steps",
            **passport,
            section=Section.STEPS,
            levels=["Cấp tỉnh"],
            agency="Bộ Công an",
            dense=None,
            terms={T_PROCEDURE: 1.0, T_PASSPORT: 1.0, T_FEE: 1.0},
        ),
        make_point(
            "birth#overview",
            **birth,
            section=Section.OVERVIEW,
            levels=["Cấp xã", "Cấp huyện"],
            dense=[0, 1, 0, 0],
            terms={T_PROCEDURE: 1.0, T_BIRTH: 2.0},
        ),
        make_point(
            "birth#dossier",
            **birth,
            section=Section.DOSSIER,
            levels=["Cấp xã"],
            dense=[0, 0.9, 0.1, 0],
            terms={T_BIRTH: 1.0, T_COPY: 1.0},
        ),
        make_point(
            "policy#body",
            doc_id="policy:nd-123",
            doc_kind="policy",
            section=Section.BODY,
            field="Hộ tịch",
            dense=[0, 0, 1, 0],
            terms={T_PROCEDURE: 1.0, T_DECREE: 1.0},
        ),
        make_point(
            "answer#42",
            doc_id="answer:42",
            doc_kind="curated_answer",
            section=Section.ANSWER,
            levels=["Cấp tỉnh", "Cấp huyện"],
            dense=[0, 0, 0, 1],
            terms={T_PASSPORT: 1.0, T_HOTLINE: 1.0},
        ),
    ]


def chunk_ids(results: Sequence[ScoredChunk]) -> list[str]:
    return [result.chunk.chunk_id for result in results]


def sparse(terms: dict[int, float]) -> SparseVector:
    return SparseVector(indices=list(terms), values=list(terms.values()))


def every_term() -> SparseVector:
    return sparse(dict.fromkeys(ALL_TERMS, 1.0))


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HybridIndex]:
    """An empty collection of dense size 4 on each backend."""
    if request.param == "edge":
        opened: HybridIndex = EdgeHybridIndex(tmp_path / "edge")
    else:
        opened = ServerHybridIndex(QdrantClient(":memory:"), COLLECTION, serialize_calls=True)
    opened.ensure_collection(dense_size=DENSE_SIZE)
    yield opened
    opened.close()


@pytest.fixture
def filled(index: HybridIndex) -> HybridIndex:
    index.upsert(corpus())
    return index


@pytest.fixture(params=BACKENDS)
def open_on_disk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], HybridIndex]]:
    """Opens the backend through ``open_index`` on the same storage each time it is called."""
    opened: list[HybridIndex] = []

    def open_() -> HybridIndex:
        index = open_index(backend=request.param, path=tmp_path, collection_name=COLLECTION)
        opened.append(index)
        return index

    yield open_
    for index in opened:
        index.close()


class TestCollection:
    def test_index_satisfies_protocol(self, index: HybridIndex) -> None:
        assert isinstance(index, HybridIndex)

    def test_ensure_collection_is_idempotent(self, filled: HybridIndex) -> None:
        filled.ensure_collection(dense_size=DENSE_SIZE)
        filled.ensure_collection(dense_size=DENSE_SIZE)

        assert filled.count() == len(corpus())
        assert chunk_ids(filled.query_dense([1, 0, 0, 0], limit=1)) == ["passport#overview"]

    def test_ensure_collection_with_another_size_raises(self, filled: HybridIndex) -> None:
        with pytest.raises(IndexBackendError, match="dense size"):
            filled.ensure_collection(dense_size=8)

        assert filled.count() == len(corpus())

    def test_ensure_collection_with_bad_size_raises(self, index: HybridIndex) -> None:
        with pytest.raises(ConfigurationError):
            index.ensure_collection(dense_size=0)

    def test_missing_collection_raises(self, open_on_disk: Callable[[], HybridIndex]) -> None:
        index = open_on_disk()

        with pytest.raises(IndexBackendError):
            index.count()
        with pytest.raises(IndexBackendError):
            index.query_sparse(every_term(), limit=3)

    def test_closed_index_raises(self, index: HybridIndex) -> None:
        index.close()
        index.close()

        with pytest.raises(IndexBackendError, match="closed"):
            index.count()


class TestUpsert:
    def test_upsert_then_count(self, index: HybridIndex) -> None:
        assert index.count() == 0

        index.upsert(corpus())

        assert index.count() == 6
        assert index.count(IndexFilter(doc_id=["procedure:1.001"])) == 2
        assert index.count(IndexFilter()) == 6

    def test_upsert_nothing_is_a_no_op(self, index: HybridIndex) -> None:
        index.upsert([])

        assert index.count() == 0

    def test_upsert_same_ids_replaces_points(self, filled: HybridIndex) -> None:
        replacement = make_point(
            "passport#overview",
            doc_id="procedure:1.001",
            code="1.001",
            dense=None,
            terms={T_HOTLINE: 3.0},
            text="Nội dung đã sửa",
        )

        filled.upsert([replacement])
        filled.upsert([replacement])

        assert filled.count() == 6
        assert filled.document_point_ids("procedure:1.001") == {
            point_id_of("passport#overview"),
            point_id_of("passport#steps"),
        }
        assert filled.document_chunks("procedure:1.001")[0] == replacement.chunk
        # The vectors are replaced too: the old dense vector and old terms are gone.
        assert "passport#overview" not in chunk_ids(filled.query_dense([1, 0, 0, 0], limit=10))
        assert "passport#overview" not in chunk_ids(
            filled.query_sparse(sparse({T_BIRTH: 1.0, T_PASSPORT: 1.0}), limit=10)
        )
        top = filled.query_sparse(sparse({T_HOTLINE: 1.0}), limit=1)
        assert chunk_ids(top) == ["passport#overview"]
        assert top[0].chunk.text == "Nội dung đã sửa"

    def test_a_replaced_chunk_is_read_anew_after_a_query_read_it(self, filled: HybridIndex) -> None:
        # A reader may keep the chunks its queries read; a write must not leave them stale.
        query = sparse({T_PASSPORT: 1.0})
        before = filled.query_sparse(query, limit=10)
        dense_before = filled.query_dense([1, 0, 0, 0], limit=10)
        assert "passport#overview" in chunk_ids(before)
        assert "passport#overview" in chunk_ids(dense_before)
        replacement = make_point(
            "passport#overview",
            doc_id="procedure:1.001",
            code="1.001",
            dense=[1, 0, 0, 0],
            terms={T_PASSPORT: 2.0},
            section=Section.OVERVIEW,
            text="Nội dung mới sau đồng bộ",
        )

        filled.upsert([replacement])

        for found in (
            filled.query_sparse(query, limit=10),
            filled.query_dense([1, 0, 0, 0], limit=10),
        ):
            overview = next(h for h in found if h.chunk.chunk_id == "passport#overview")
            assert overview.chunk.text == "Nội dung mới sau đồng bộ"
            assert overview.chunk.section is Section.OVERVIEW

    def test_a_deleted_document_leaves_no_cached_chunk(self, filled: HybridIndex) -> None:
        assert "passport#steps" in chunk_ids(filled.query_sparse(every_term(), limit=100))

        filled.delete_document("procedure:1.001")

        found = chunk_ids(filled.query_sparse(every_term(), limit=100))
        assert "passport#steps" not in found
        assert "passport#overview" not in found

    def test_wrong_dense_size_raises(self, index: HybridIndex) -> None:
        bad = make_point("bad", doc_id="d", dense=[1, 0, 0], terms={T_FEE: 1.0})

        with pytest.raises(IndexBackendError):
            index.upsert([bad])
        with pytest.raises(IndexBackendError):
            index.query_dense([1, 0, 0], limit=3)

    @pytest.mark.parametrize(
        ("indices", "values"),
        [([1, 2], [1.0]), ([3, 3], [1.0, 1.0]), ([-1], [1.0]), ([4], [math.nan])],
        ids=["length-mismatch", "repeated-index", "negative-index", "nan-value"],
    )
    def test_malformed_sparse_vector_raises_and_leaves_index_usable(
        self, filled: HybridIndex, indices: list[int], values: list[float]
    ) -> None:
        bad = make_point("bad", doc_id="d", dense=None, terms={})
        bad.sparse = SparseVector(indices=indices, values=values)

        with pytest.raises(SearchError):
            filled.upsert([bad])
        with pytest.raises(SearchError):
            filled.query_sparse(bad.sparse, limit=3)

        assert filled.count() == 6
        assert chunk_ids(filled.query_sparse(sparse({T_DECREE: 1.0}), limit=3)) == ["policy#body"]

    def test_limit_below_one_raises(self, filled: HybridIndex) -> None:
        with pytest.raises(SearchError, match="limit"):
            filled.query_dense([1, 0, 0, 0], limit=0)
        with pytest.raises(SearchError, match="limit"):
            filled.query_hybrid(dense=[1, 0, 0, 0], sparse=every_term(), limit=0)


class TestQueries:
    def test_dense_query_ranks_by_cosine(self, filled: HybridIndex) -> None:
        results = filled.query_dense([0, 1, 0.05, 0], limit=2)

        assert chunk_ids(results) == ["birth#overview", "birth#dossier"]
        assert results[0].score == pytest.approx(1 / math.hypot(1, 0.05), rel=1e-4)
        assert results[0].score > results[1].score

    def test_points_without_dense_vector_are_found_by_sparse_and_hybrid_only(
        self, filled: HybridIndex
    ) -> None:
        by_dense = chunk_ids(filled.query_dense([1, 1, 1, 1], limit=100))
        by_sparse = chunk_ids(filled.query_sparse(sparse({T_FEE: 1.0}), limit=100))
        by_hybrid = chunk_ids(
            filled.query_hybrid(dense=[1, 1, 1, 1], sparse=sparse({T_FEE: 1.0}), limit=100)
        )

        assert sorted(by_dense) == [
            "answer#42",
            "birth#dossier",
            "birth#overview",
            "passport#overview",
            "policy#body",
        ]
        assert by_sparse == ["passport#steps"]
        assert "passport#steps" in by_hybrid

    def test_sparse_scoring_applies_idf(self, index: HybridIndex) -> None:
        common = [
            make_point(f"common#{i}", doc_id=f"common:{i}", dense=None, terms={T_PROCEDURE: 1.0})
            for i in range(5)
        ]
        rare = make_point("rare", doc_id="rare", dense=None, terms={T_DECREE: 1.0})
        index.upsert([*common, rare])

        results = index.query_sparse(sparse({T_PROCEDURE: 1.0, T_DECREE: 1.0}), limit=10)

        # Both terms have weight 1 in the query and in the points; only IDF tells them apart.
        assert chunk_ids(results)[0] == "rare"
        assert results[0].score > results[1].score
        points, with_rare, with_common = 6, 1, 5
        idf_rare = math.log(1 + (points - with_rare + 0.5) / (with_rare + 0.5))
        idf_common = math.log(1 + (points - with_common + 0.5) / (with_common + 0.5))
        assert results[0].score == pytest.approx(idf_rare, rel=1e-4)
        assert [r.score for r in results[1:]] == pytest.approx([idf_common] * 5, rel=1e-4)

    def test_hybrid_returns_points_found_by_either_prefetch(self, filled: HybridIndex) -> None:
        # Dense alone finds answer#42 first; sparse alone finds only policy#body.
        results = filled.query_hybrid(
            dense=[0, 0, 0, 1], sparse=sparse({T_DECREE: 1.0}), limit=10, prefetch_limit=1
        )

        assert sorted(chunk_ids(results)) == ["answer#42", "policy#body"]

    def test_hybrid_ranks_points_found_by_both_first(self, filled: HybridIndex) -> None:
        results = filled.query_hybrid(
            dense=[1, 0.1, 0, 0], sparse=sparse({T_PASSPORT: 1.0}), limit=10, prefetch_limit=3
        )

        assert chunk_ids(results)[0] == "passport#overview"
        assert results[0].score > max(r.score for r in results[1:])
        assert set(chunk_ids(results)) >= {"passport#steps", "answer#42", "birth#overview"}

    def test_hybrid_without_dense_is_the_sparse_query(self, filled: HybridIndex) -> None:
        query = sparse({T_PASSPORT: 1.0, T_BIRTH: 0.5})

        hybrid = filled.query_hybrid(dense=None, sparse=query, limit=4)
        alone = filled.query_sparse(query, limit=4)

        assert [(r.chunk, r.score) for r in hybrid] == [(r.chunk, r.score) for r in alone]

    def test_a_procedure_chunk_comes_back_with_its_subjects(self, filled: HybridIndex) -> None:
        (result,) = filled.query_dense([1, 0, 0, 0], limit=1)

        assert result.chunk.chunk_id == "passport#overview"
        assert result.chunk.subjects == [
            "Công dân Việt Nam",
            "Tổ chức (không bao gồm doanh nghiệp, HTX)",
        ]

    def test_results_carry_the_whole_chunk(self, filled: HybridIndex) -> None:
        (result,) = filled.query_sparse(sparse({T_HOTLINE: 1.0}), limit=5)

        expected = next(p.chunk for p in corpus() if p.chunk.chunk_id == "answer#42")
        assert result.chunk.model_dump(exclude={"embed"}) == expected.model_dump(exclude={"embed"})


FILTER_CASES = {
    "field": (IndexFilter(field=["Hộ tịch"]), {"birth#overview", "birth#dossier", "policy#body"}),
    "levels-one-value": (IndexFilter(levels=["Cấp huyện"]), {"birth#overview", "answer#42"}),
    "levels-any-value": (
        IndexFilter(levels=["Cấp xã", "Cấp tỉnh"]),
        {"passport#overview", "passport#steps", "birth#overview", "birth#dossier", "answer#42"},
    ),
    "section": (IndexFilter(section=["dossier", "body"]), {"birth#dossier", "policy#body"}),
    "code": (IndexFilter(code=["1.001"]), {"passport#overview", "passport#steps"}),
    "doc_kind": (IndexFilter(doc_kind=["policy", "curated_answer"]), {"policy#body", "answer#42"}),
    "agency": (IndexFilter(agency=["Bộ Công an"]), {"passport#overview", "passport#steps"}),
    "doc_id": (IndexFilter(doc_id=["answer:42"]), {"answer#42"}),
    "all-conditions-must-match": (
        IndexFilter(field=["Hộ tịch"], section=["overview", "body"], levels=["Cấp xã"]),
        {"birth#overview"},
    ),
    "no-match": (IndexFilter(code=["9.999"]), set()),
}


class TestFilters:
    @pytest.mark.parametrize(("query_filter", "expected"), FILTER_CASES.values(), ids=FILTER_CASES)
    def test_filter_restricts_every_query(
        self, filled: HybridIndex, query_filter: IndexFilter, expected: set[str]
    ) -> None:
        with_dense = {p.chunk.chunk_id for p in corpus() if p.dense is not None}

        by_sparse = filled.query_sparse(every_term(), limit=100, query_filter=query_filter)
        by_dense = filled.query_dense([1, 1, 1, 1], limit=100, query_filter=query_filter)
        by_hybrid = filled.query_hybrid(
            dense=[1, 1, 1, 1], sparse=every_term(), limit=100, query_filter=query_filter
        )

        assert filled.count(query_filter) == len(expected)
        assert set(chunk_ids(by_sparse)) == expected
        assert set(chunk_ids(by_dense)) == expected & with_dense
        assert set(chunk_ids(by_hybrid)) == expected

    def test_filter_applies_before_the_limit(self, filled: HybridIndex) -> None:
        # Without the filter, passport chunks fill the top; the filter must not starve results.
        query = sparse({T_PASSPORT: 1.0, T_DECREE: 0.1})

        results = filled.query_sparse(query, limit=1, query_filter=IndexFilter(doc_kind=["policy"]))

        assert chunk_ids(results) == ["policy#body"]

    def test_facets_count_documents_from_their_head_chunks(self, filled: HybridIndex) -> None:
        facets = filled.facet_counts()

        assert facets == {
            "field": {"Hộ tịch": 2, "Xuất nhập cảnh": 1},
            # birth#dossier carries "Cấp xã" too; it is counted once, from the overview.
            "levels": {"Cấp huyện": 2, "Cấp tỉnh": 2, "Cấp xã": 1},
            "agency": {"Bộ Công an": 1},
            "doc_kind": {"procedure": 2, "curated_answer": 1, "policy": 1},
        }
        assert list(facets["field"]) == ["Hộ tịch", "Xuất nhập cảnh"]

    def test_facets_forget_a_deleted_document(self, filled: HybridIndex) -> None:
        filled.delete_document("procedure:1.001")

        facets = filled.facet_counts()

        assert "Xuất nhập cảnh" not in facets["field"] and facets["agency"] == {}

    def test_head_titles_are_the_titles_of_head_chunks(self, filled: HybridIndex) -> None:
        heads = {p.chunk.title for p in corpus() if p.chunk.section in HEAD_SECTIONS}
        assert heads and len(heads) < len(corpus())  # the corpus has chunks besides heads

        assert filled.head_titles() == heads

        filled.delete_document("procedure:1.001")
        assert filled.head_titles() == {
            p.chunk.title
            for p in corpus()
            if p.chunk.section in HEAD_SECTIONS and p.chunk.doc_id != "procedure:1.001"
        }


class TestDocuments:
    def test_document_ids(self, filled: HybridIndex) -> None:
        assert filled.document_ids() == {
            "procedure:1.001",
            "procedure:2.002",
            "policy:nd-123",
            "answer:42",
        }

    def test_document_point_ids(self, filled: HybridIndex) -> None:
        assert filled.document_point_ids("procedure:2.002") == {
            point_id_of("birth#overview"),
            point_id_of("birth#dossier"),
        }
        assert filled.document_point_ids("procedure:404") == set()

    def test_document_chunks_round_trip_in_chunk_id_order(self, filled: HybridIndex) -> None:
        expected = sorted(
            (p.chunk for p in corpus() if p.chunk.doc_id == "procedure:1.001"),
            key=lambda chunk: chunk.chunk_id,
        )

        chunks = filled.document_chunks("procedure:1.001")

        assert chunks == expected
        assert [chunk.embed for chunk in chunks] == [True, False]
        assert filled.document_chunks("procedure:404") == []

    def test_delete_document(self, filled: HybridIndex) -> None:
        deleted = filled.delete_document("procedure:1.001")

        assert deleted == 2
        assert filled.count() == 4
        assert filled.document_point_ids("procedure:1.001") == set()
        assert "procedure:1.001" not in filled.document_ids()
        assert "passport#steps" not in chunk_ids(filled.query_sparse(every_term(), limit=100))

    def test_optimize_after_deletes_keeps_results(self, filled: HybridIndex) -> None:
        filled.delete_document("procedure:1.001")
        before = chunk_ids(filled.query_sparse(every_term(), limit=100))

        assert isinstance(filled.optimize(), bool)
        assert chunk_ids(filled.query_sparse(every_term(), limit=100)) == before
        assert filled.count() == 4
        assert "passport#steps" not in before

    def test_delete_document_keeps_point_ids(self, filled: HybridIndex) -> None:
        kept = point_id_of("birth#overview")

        deleted = filled.delete_document("procedure:2.002", keep_point_ids={kept})

        assert deleted == 1
        assert filled.document_point_ids("procedure:2.002") == {kept}
        assert filled.count() == 5

    def test_delete_document_keeping_every_point_deletes_nothing(self, filled: HybridIndex) -> None:
        ids = filled.document_point_ids("procedure:2.002")

        assert filled.delete_document("procedure:2.002", keep_point_ids=ids) == 0
        assert filled.document_point_ids("procedure:2.002") == ids

    def test_delete_unknown_document_deletes_nothing(self, filled: HybridIndex) -> None:
        assert filled.delete_document("procedure:404") == 0
        assert filled.count() == 6

    def test_listings_page_through_more_than_ten_thousand_points(self, index: HybridIndex) -> None:
        singles = [
            make_point(f"single#{i}", doc_id=f"doc:{i:05d}", dense=None, terms={i % 97: 1.0})
            for i in range(10_050)
        ]
        big = [
            make_point(f"big#{i:04d}", doc_id="doc:big", dense=None, terms={T_FEE: 1.0})
            for i in range(2_100)
        ]
        index.upsert(singles + big)

        assert index.count() == 12_150
        assert index.document_ids() == {p.chunk.doc_id for p in singles} | {"doc:big"}
        assert index.document_point_ids("doc:big") == {p.point_id for p in big}
        assert [c.chunk_id for c in index.document_chunks("doc:big")] == [
            p.chunk.chunk_id for p in big
        ]


class TestPersistence:
    def test_close_and_reopen_keeps_everything(
        self, open_on_disk: Callable[[], HybridIndex]
    ) -> None:
        first = open_on_disk()
        first.ensure_collection(dense_size=DENSE_SIZE)
        first.upsert(corpus())
        first.delete_document("answer:42")
        before = (
            first.document_ids(),
            first.document_chunks("procedure:1.001"),
            first.query_hybrid(dense=[1, 0, 0, 0], sparse=every_term(), limit=10),
        )
        first.flush()
        first.close()

        second = open_on_disk()

        # Readable before ensure_collection: the size is stored with the collection.
        assert second.count() == 5
        assert second.document_ids() == before[0]
        assert second.document_chunks("procedure:1.001") == before[1]
        assert chunk_ids(second.query_dense([1, 0, 0, 0], limit=1)) == ["passport#overview"]
        hybrid = second.query_hybrid(dense=[1, 0, 0, 0], sparse=every_term(), limit=10)
        assert set(chunk_ids(hybrid)) == set(chunk_ids(before[2]))
        second.ensure_collection(dense_size=DENSE_SIZE)
        with pytest.raises(IndexBackendError, match="dense size"):
            second.ensure_collection(dense_size=8)
        assert second.count() == 5

    def test_edge_collection_lives_in_its_directory(self, tmp_path: Path) -> None:
        index = open_index(backend="edge", path=tmp_path, collection_name=COLLECTION)
        index.ensure_collection(dense_size=DENSE_SIZE)
        index.close()

        assert (tmp_path / COLLECTION / "collection.json").is_file()
        assert (tmp_path / COLLECTION / "shard").is_dir()

    def test_edge_size_is_checked_against_the_shard_without_metadata(self, tmp_path: Path) -> None:
        index = EdgeHybridIndex(tmp_path / "c")
        index.ensure_collection(dense_size=DENSE_SIZE)
        index.upsert(corpus())
        index.close()
        (tmp_path / "c" / "collection.json").unlink()

        reopened = EdgeHybridIndex(tmp_path / "c")
        with pytest.raises(IndexBackendError):
            reopened.count()
        with pytest.raises(IndexBackendError):
            reopened.ensure_collection(dense_size=8)
        reopened.ensure_collection(dense_size=DENSE_SIZE)
        assert reopened.count() == 6
        reopened.close()


class TestConcurrency:
    def test_queries_run_while_one_writer_upserts(self, index: HybridIndex) -> None:
        index.upsert(corpus())
        rng = random.Random(7)
        extra = [
            make_point(
                f"extra#{i}",
                doc_id=f"extra:{i // 10}",
                dense=[rng.random() for _ in range(DENSE_SIZE)] if i % 2 else None,
                terms={T_PROCEDURE: 1.0, 100 + i % 30: 1.0},
            )
            for i in range(1_000)
        ]
        errors: list[BaseException] = []
        writing = threading.Event()
        writing.set()

        def write() -> None:
            try:
                for start in range(0, len(extra), 50):
                    index.upsert(extra[start : start + 50])
            except BaseException as exc:  # noqa: BLE001 - engine panics are BaseExceptions
                errors.append(exc)
            finally:
                writing.clear()

        def read() -> None:
            try:
                while writing.is_set():
                    top = index.query_hybrid(
                        dense=[1, 0, 0, 0], sparse=sparse({T_PASSPORT: 1.0}), limit=3
                    )
                    assert chunk_ids(top)[0] == "passport#overview"
                    assert index.count(IndexFilter(doc_id=["procedure:1.001"])) == 2
            except BaseException as exc:  # noqa: BLE001 - engine panics are BaseExceptions
                errors.append(exc)

        threads = [threading.Thread(target=write)] + [
            threading.Thread(target=read) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert errors == []
        assert index.count() == len(corpus()) + len(extra)

    def test_first_use_from_many_threads_opens_once(
        self, open_on_disk: Callable[[], HybridIndex]
    ) -> None:
        first = open_on_disk()
        first.ensure_collection(dense_size=DENSE_SIZE)
        first.upsert(corpus())
        first.close()
        second = open_on_disk()
        start = threading.Barrier(8)
        counts: list[int] = []
        errors: list[BaseException] = []

        def count() -> None:
            start.wait()
            try:
                counts.append(second.count())
            except BaseException as exc:  # noqa: BLE001 - engine panics are BaseExceptions
                errors.append(exc)

        threads = [threading.Thread(target=count) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert counts == [6] * 8


def congruence_corpus(seed: int) -> list[IndexPoint]:
    rng = random.Random(seed)
    points = []
    for i in range(60):
        picked = rng.sample(range(40), rng.randint(2, 7))
        terms = {t: round(rng.uniform(0.2, 3.0), 3) for t in picked}
        points.append(
            make_point(
                f"c#{i:02d}",
                doc_id=f"doc:{i // 5}",
                dense=[rng.gauss(0, 1) for _ in range(8)] if i % 3 else None,
                terms=terms,
                section=rng.choice([Section.STEPS, Section.DOSSIER, Section.OVERVIEW]),
                field=rng.choice(["Hộ tịch", "Đất đai", "Xuất nhập cảnh"]),
                levels=rng.sample(["Cấp xã", "Cấp huyện", "Cấp tỉnh"], rng.randint(0, 2)),
            )
        )
    return points


def score_groups(results: Sequence[ScoredChunk]) -> list[set[str]]:
    """Chunk ids grouped by equal score, best first: the order that does not depend on ties."""
    groups: list[tuple[float, set[str]]] = []
    for result in results:
        if groups and math.isclose(groups[-1][0], result.score, rel_tol=1e-4, abs_tol=1e-6):
            groups[-1][1].add(result.chunk.chunk_id)
        else:
            groups.append((result.score, {result.chunk.chunk_id}))
    return [ids for _, ids in groups]


def assert_same_results(edge: list[ScoredChunk], local: list[ScoredChunk]) -> None:
    assert score_groups(edge) == score_groups(local)
    assert [r.score for r in edge] == pytest.approx([r.score for r in local], rel=1e-4, abs=1e-6)


class TestCongruence:
    """The same corpus and queries give the same results on the edge engine and on local mode."""

    @pytest.fixture
    def both(self, tmp_path: Path) -> Iterator[tuple[HybridIndex, HybridIndex]]:
        edge = EdgeHybridIndex(tmp_path / "edge")
        local = ServerHybridIndex(QdrantClient(":memory:"), COLLECTION)
        points = congruence_corpus(seed=2024)
        rng = random.Random(99)
        # Replace a third of the points, so updates are part of what must agree. Weights are
        # random so that no two points tie at a prefetch cut, where either may be kept.
        replaced = [
            point.model_copy(
                update={
                    "sparse": sparse(
                        {
                            rng.randrange(40): round(rng.uniform(1.0, 2.0), 4),
                            rng.randrange(40, 45): round(rng.uniform(0.2, 0.8), 4),
                        }
                    )
                }
            )
            for point in points[::3]
        ]
        for index in (edge, local):
            index.ensure_collection(dense_size=8)
            index.upsert(points)
            index.upsert(replaced)
        yield edge, local
        edge.close()
        local.close()

    @pytest.mark.parametrize("seed", range(8))
    @pytest.mark.parametrize(
        "query_filter",
        [None, IndexFilter(field=["Hộ tịch", "Đất đai"]), IndexFilter(levels=["Cấp huyện"])],
        ids=["no-filter", "field", "levels"],
    )
    def test_same_top_k(
        self,
        both: tuple[HybridIndex, HybridIndex],
        seed: int,
        query_filter: IndexFilter | None,
    ) -> None:
        edge, local = both
        rng = random.Random(seed)
        dense = [rng.gauss(0, 1) for _ in range(8)]
        terms = sparse({t: round(rng.uniform(0.5, 2.0), 2) for t in rng.sample(range(45), 3)})

        for run in (
            lambda index: index.query_dense(dense, limit=5, query_filter=query_filter),
            lambda index: index.query_sparse(terms, limit=5, query_filter=query_filter),
            # The limit covers every fused candidate, so ties at the cut cannot differ.
            lambda index: index.query_hybrid(
                dense=dense, sparse=terms, limit=20, prefetch_limit=10, query_filter=query_filter
            ),
        ):
            edge_results, local_results = run(edge), run(local)
            assert edge_results, "the query should find something"
            assert_same_results(edge_results, local_results)

        assert edge.count(query_filter) == local.count(query_filter)
        assert edge.document_ids() == local.document_ids()


class TestOpenIndex:
    def test_edge_is_the_default_backend(self, tmp_path: Path) -> None:
        index = open_index(path=tmp_path, collection_name=COLLECTION)

        assert isinstance(index, EdgeHybridIndex)
        assert index.path == tmp_path / COLLECTION
        index.close()

    def test_local_backend_opens_qdrant_client_local_mode(self, tmp_path: Path) -> None:
        index = open_index(backend="local", path=tmp_path, collection_name=COLLECTION)

        assert isinstance(index, ServerHybridIndex)
        index.close()

    @pytest.mark.parametrize("backend", ["qdrant", "Edge", ""])
    def test_unknown_backend_lists_the_allowed_ones(self, backend: str, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="allowed: edge, server, local"):
            open_index(backend=backend, path=tmp_path, collection_name=COLLECTION)

    def test_backend_from_str(self) -> None:
        assert IndexBackend.from_str("server") is IndexBackend.SERVER

    @pytest.mark.parametrize("backend", ["edge", "local"])
    def test_path_is_required(self, backend: str) -> None:
        with pytest.raises(ConfigurationError, match="path"):
            open_index(backend=backend, path=None, collection_name=COLLECTION)

    def test_server_needs_a_url(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="url"):
            open_index(backend="server", path=tmp_path, url=None, collection_name=COLLECTION)

    @pytest.mark.parametrize("name", ["", "..", "a/b"])
    def test_edge_collection_name_must_be_a_directory_name(self, name: str, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="collection_name"):
            open_index(backend="edge", path=tmp_path, collection_name=name)

    def test_local_storage_held_by_another_client_raises(self, tmp_path: Path) -> None:
        first = open_index(backend="local", path=tmp_path, collection_name=COLLECTION)

        with pytest.raises(IndexBackendError, match="already accessed"):
            open_index(backend="local", path=tmp_path, collection_name=COLLECTION)
        first.close()
