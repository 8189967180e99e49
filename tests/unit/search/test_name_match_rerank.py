"""The name-coverage list fused over the head of the hybrid ranking (``search.name_match``).

Sibling procedures share most of their name; the tests check that the sibling whose name the
question says best moves up, that nothing moves when the question covers no name, and that the
retriever applies the list by default and not when its weight is 0. The retriever runs over a
stub index that returns fixed lists, so the fused order is known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from search.learned_rank import FEATURES, LearnedRanker
from search.models import Chunk, ScoredChunk, Section, SparseVector
from search.name_match import (
    NAME_MATCH_LIST,
    SUBJECT_PENALTY,
    VARIANT_PENALTY,
    excluded_pairs,
    name_coverage,
    rerank_by_name,
    word_pairs,
)
from search.query import QueryAnalyzer
from search.retrieval import DocumentHit, HybridRetriever, RetrievalWeights
from search.text.synonyms import SynonymDictionary
from search.text.variants import VariantMarkers

FOREIGN = "Đổi giấy phép lái xe hoặc bằng lái xe của người nước ngoài"
PLAIN = "Đổi giấy phép lái xe"
ISSUE = "Cấp giấy phép lái xe"
OTHER = "Đăng ký khai sinh"


def chunk(title: str, n: int, subjects: Sequence[str] = ()) -> Chunk:
    doc_id = f"procedure:3.00035{n}"
    return Chunk(
        chunk_id=f"{doc_id}#overview#0",
        doc_id=doc_id,
        doc_kind="procedure",
        section=Section.OVERVIEW,
        title=title,
        text=title,
        code=f"3.00035{n}",
        subjects=list(subjects),
    )


def hits_of(titles: list[str], rrf_k: int = 10) -> list[DocumentHit]:
    """Hits in the given order, scored as one list of weight 1 would score them."""
    return [
        DocumentHit.from_chunk(chunk(title, n), 1 / (rrf_k + n + 1))
        for n, title in enumerate(titles)
    ]


def titles(hits: list[DocumentHit]) -> list[str]:
    return [h.title for h in hits]


class TestWordPairs:
    def test_pairs_are_folded_and_stop_at_punctuation(self) -> None:
        assert word_pairs("Cấp lại hộ chiếu, thị thực") == {
            "cap lai",
            "lai ho",
            "ho chieu",
            "thi thuc",
        }

    def test_text_without_diacritics_gives_the_same_pairs(self) -> None:
        assert word_pairs("doi giay phep lai xe") == word_pairs(PLAIN)

    def test_one_syllable_alternatives_add_no_pair(self) -> None:
        assert word_pairs("nhận cha, mẹ, con") == {"nhan cha"}


class TestNameCoverage:
    def test_the_plain_sibling_is_covered_more_than_the_qualified_one(self) -> None:
        query = word_pairs("muốn đổi giấy phép lái xe")
        assert name_coverage(PLAIN, query) == 1.0
        assert name_coverage(FOREIGN, query) == pytest.approx(4 / 11)

    def test_a_name_without_pairs_covers_nothing(self) -> None:
        assert name_coverage("Hộ", word_pairs("hộ chiếu")) == 0.0


class TestRerankByName:
    def test_the_sibling_the_query_names_moves_up(self) -> None:
        hits = hits_of([FOREIGN, PLAIN, OTHER])
        reranked = rerank_by_name(hits, ["đổi giấy phép lái xe"], weight=2.0, depth=10, rrf_k=10)
        assert titles(reranked) == [PLAIN, FOREIGN, OTHER]
        assert reranked[0].list_scores[NAME_MATCH_LIST] == 1.0

    def test_unaccented_query_moves_it_the_same_way(self) -> None:
        hits = hits_of([FOREIGN, PLAIN, OTHER])
        reranked = rerank_by_name(hits, ["doi giay phep lai xe"], weight=2.0, depth=10, rrf_k=10)
        assert titles(reranked) == [PLAIN, FOREIGN, OTHER]

    def test_a_query_that_covers_no_name_keeps_the_order(self) -> None:
        hits = hits_of([FOREIGN, PLAIN, ISSUE, OTHER])
        reranked = rerank_by_name(hits, ["hộ chiếu"], weight=2.0, depth=10, rrf_k=10)
        assert titles(reranked) == titles(hits)
        scores = [h.score for h in reranked]
        assert scores == sorted(scores, reverse=True)

    def test_hits_below_depth_are_left_alone(self) -> None:
        hits = hits_of([OTHER, FOREIGN, PLAIN])
        reranked = rerank_by_name(hits, ["đổi giấy phép lái xe"], weight=2.0, depth=2, rrf_k=10)
        assert titles(reranked) == [FOREIGN, OTHER, PLAIN]
        assert reranked[2] == hits[2]

    def test_weight_zero_returns_the_hits_unchanged(self) -> None:
        hits = hits_of([FOREIGN, PLAIN])
        assert rerank_by_name(hits, [PLAIN], weight=0.0, depth=10, rrf_k=10) is hits

    def test_input_is_not_changed(self) -> None:
        hits = hits_of([FOREIGN, PLAIN, OTHER])
        before = [h.model_dump() for h in hits]
        rerank_by_name(hits, [PLAIN], weight=2.0, depth=10, rrf_k=10)
        assert [h.model_dump() for h in hits] == before

    def test_names_are_compared_as_name_of_gives_them(self) -> None:
        first = "Hưởng chế độ thai sản"
        abbreviated = "Giải quyết hưởng chế độ TNLĐ"
        hits = hits_of([first, abbreviated])
        query = ["hưởng chế độ tai nạn lao động"]
        as_written = rerank_by_name(hits, query, weight=2.0, depth=10, rrf_k=10)
        assert titles(as_written) == [first, abbreviated]
        spelled = rerank_by_name(
            hits,
            query,
            weight=2.0,
            depth=10,
            rrf_k=10,
            name_of=SynonymDictionary.load().spell_out,
        )
        assert titles(spelled) == [abbreviated, first]
        assert spelled[0].title == abbreviated  # the hit keeps its own title

    @pytest.mark.parametrize(("weight", "depth", "name"), [(-1.0, 10, "weight"), (1.0, 0, "depth")])
    def test_bad_arguments_raise(self, weight: float, depth: int, name: str) -> None:
        with pytest.raises(ValueError, match=name):
            rerank_by_name(hits_of([PLAIN, FOREIGN]), [PLAIN], weight=weight, depth=depth, rrf_k=10)
        with pytest.raises(ValueError, match="fit_weight"):
            rerank_by_name(hits_of([PLAIN]), [PLAIN], weight=1, depth=1, rrf_k=10, fit_weight=-1)

    def test_a_name_said_whole_overtakes_a_lead_its_rank_alone_cannot(self) -> None:
        said = "Đăng ký thành lập công ty TNHH hai thành viên trở lên"
        barely = "Chuyển đổi công ty TNHH một thành viên thành công ty TNHH hai thành viên trở lên"
        query = ["ba người bạn góp vốn đăng ký thành lập công ty TNHH hai thành viên trở lên"]
        # The lists put the conversion first, further ahead than one place by name makes up.
        hits = hits_of([barely, said])
        hits[0] = hits[0].model_copy(update={"score": hits[1].score + 0.03})

        def ranked(fit_weight: float) -> list[str]:
            reranked = rerank_by_name(
                hits,
                query,
                weight=2.0,
                depth=10,
                rrf_k=10,
                variants=VariantMarkers.load(),  # "chuyển đổi" is unsaid
                fit_weight=fit_weight,
            )
            return titles(reranked)

        assert ranked(0.0) == [barely, said]
        assert ranked(0.03) == [said, barely]


class StubIndex:
    """Returns the same chunks, in the same order, for every lexical query."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def query_sparse(self, vector: SparseVector, **_: Any) -> list[ScoredChunk]:
        return [ScoredChunk(chunk=c, score=10.0 - n) for n, c in enumerate(self.chunks)]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc_id == doc_id]

    def count(self, query_filter: Any = None) -> int:
        return len(self.chunks)


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(synonyms=SynonymDictionary.load())


def stub_retriever(
    analyzer: QueryAnalyzer,
    names: list[str],
    weights: dict[str, Any],
    ranker: LearnedRanker | None = None,
) -> HybridRetriever:
    """A retriever whose lexical lists hold ``names`` in that order."""
    index = StubIndex([chunk(name, n) for n, name in enumerate(names, start=1)])
    return HybridRetriever(
        index=index,  # type: ignore[arg-type]  # a stub with the methods retrieve calls
        analyzer=analyzer,
        weights=RetrievalWeights(**weights),
        ranker=ranker,
    )


class TestHybridRetrieverNameMatch:
    def retriever(self, analyzer: QueryAnalyzer, **weights: Any) -> HybridRetriever:
        # The name list alone: the learnt ranker after it is off unless a test turns it on.
        return stub_retriever(analyzer, [FOREIGN, PLAIN, ISSUE], {"learned_depth": 0, **weights})

    def test_default_weights_apply_the_name_list(self, analyzer: QueryAnalyzer) -> None:
        on = self.retriever(analyzer).retrieve("đổi giấy phép lái xe", top_k=3).hits
        off = self.retriever(analyzer, name_match=0.0).retrieve("đổi giấy phép lái xe", top_k=3)
        assert all(NAME_MATCH_LIST in h.list_scores for h in on)
        gained = {h.title: h.score for h in on}
        for h in off.hits:
            gained[h.title] -= h.score
        # The named sibling gains most; the one for foreigners, whom the question does not
        # name, least: its unsaid qualifier costs more than the action "cấp" lacks.
        assert gained[PLAIN] > gained[ISSUE] > gained[FOREIGN]
        assert set(off.lists) == {"lexical_all", "lexical_overview"}

    def test_a_heavier_name_list_puts_the_named_sibling_first(
        self, analyzer: QueryAnalyzer
    ) -> None:
        result = self.retriever(analyzer, name_match=3.0, name_fit=0.0).retrieve(
            "đổi giấy phép lái xe", top_k=3
        )
        assert titles(result.hits) == [PLAIN, FOREIGN, ISSUE]
        # Weighed by how much of it is said, the name for foreigners, of whom the question
        # says nothing, falls behind the one the question says all but its first word of.
        result = self.retriever(analyzer, name_match=3.0).retrieve("đổi giấy phép lái xe", top_k=3)
        assert titles(result.hits) == [PLAIN, ISSUE, FOREIGN]

    def test_weight_zero_keeps_the_fused_order(self, analyzer: QueryAnalyzer) -> None:
        result = self.retriever(analyzer, name_match=0.0).retrieve("đổi giấy phép lái xe", top_k=3)
        assert titles(result.hits) == [FOREIGN, PLAIN, ISSUE]


# The question says as much of either name: only who they are for tells them apart.
CITIZEN = "Cấp giấy phép lái xe"
SCHOOL = "Cấp giấy phép đào tạo"


def hit(title: str, n: int, subjects: list[str]) -> DocumentHit:
    return DocumentHit.from_chunk(chunk(title, n, subjects), 1 / (10 + n + 1))


def test_a_citizen_is_shown_the_citizens_procedure_first() -> None:
    hits = [hit(SCHOOL, 0, ["Doanh nghiệp"]), hit(CITIZEN, 1, ["Công dân Việt Nam"])]
    query = ["xin cấp giấy phép"]
    kept = rerank_by_name(hits, query, weight=2.0, depth=10, rrf_k=10)
    assert [h.title for h in kept] == [SCHOOL, CITIZEN]  # a tie keeps the fused order
    moved = rerank_by_name(hits, query, weight=2.0, depth=10, rrf_k=10, organisation_only=0.3)
    assert [h.title for h in moved] == [CITIZEN, SCHOOL]
    assert moved[1].list_scores[SUBJECT_PENALTY] == 0.3
    assert moved[0].list_scores[SUBJECT_PENALTY] == 0.0


def test_a_question_for_an_organisation_takes_nothing_off() -> None:
    hits = [hit(SCHOOL, 0, ["Doanh nghiệp"]), hit(CITIZEN, 1, ["Công dân Việt Nam"])]
    moved = rerank_by_name(
        hits,
        ["trung tâm xin cấp giấy phép"],
        weight=2.0,
        depth=10,
        rrf_k=10,
        organisation_only=0.3,
        for_organisation=True,
    )
    assert [h.title for h in moved] == [SCHOOL, CITIZEN]
    assert all(h.list_scores[SUBJECT_PENALTY] == 0.0 for h in moved)


def test_a_negative_subject_penalty_is_refused() -> None:
    with pytest.raises(ValueError, match="organisation_only"):
        rerank_by_name(
            [hit(CITIZEN, 0, []), hit(SCHOOL, 1, [])],
            ["x"],
            weight=1.0,
            depth=10,
            rrf_k=10,
            organisation_only=-0.1,
        )


def test_a_procedure_for_foreigners_only_yields_unless_abroad_is_said() -> None:
    # As "Cấp đổi giấy chứng nhận căn cước" (for people without a nationality) beside "Cấp đổi
    # thẻ căn cước": the question says as much of either name.
    hits = [hit("Cấp đổi giấy", 0, ["Người nước ngoài"]), hit("Cấp đổi thẻ", 1, [])]
    query = ["cấp đổi"]
    home = rerank_by_name(hits, query, weight=2.0, depth=10, rrf_k=10, foreigners_only=0.6)
    assert [h.title for h in home] == ["Cấp đổi thẻ", "Cấp đổi giấy"]
    assert home[1].list_scores[SUBJECT_PENALTY] == 0.6
    abroad = rerank_by_name(
        hits, query, weight=2.0, depth=10, rrf_k=10, foreigners_only=0.6, of_abroad=True
    )
    assert [h.title for h in abroad] == ["Cấp đổi giấy", "Cấp đổi thẻ"]


def test_a_country_named_is_abroad_enough() -> None:
    hits = [hit("Cấp đổi giấy", 0, ["Người nước ngoài"]), hit("Cấp đổi thẻ", 1, [])]
    moved = rerank_by_name(
        hits,
        ["chồng tôi người Hàn Quốc cần cấp đổi"],
        weight=2.0,
        depth=10,
        rrf_k=10,
        variants=VariantMarkers.load(),
        foreigners_only=0.6,
    )
    assert all(h.list_scores[SUBJECT_PENALTY] == 0.0 for h in moved)


INSPECTION = "Cấp Giấy chứng nhận kiểm định cho xe cơ giới (trừ xe mô tô, xe gắn máy)"
TRANSFER = "Cấp chứng nhận đăng ký xe trong trường hợp thay đổi chủ xe (đăng ký sang tên xe)"


def test_what_a_name_excepts_is_no_part_of_it() -> None:
    assert excluded_pairs(INSPECTION) == {"xe mo", "mo to", "xe gan", "gan may"}
    assert not excluded_pairs("Khai thuế GTGT theo phương pháp khấu trừ")  # "khấu trừ" is a word
    assert excluded_pairs("Cấp giấy phép cho phương tiện cơ giới, trừ xe mô tô") == {
        "xe mo",
        "mo to",
    }
    # What it excepts counts neither for nor against its coverage.
    query = word_pairs("kiểm định xe mô tô, xe gắn máy")
    without = "Cấp Giấy chứng nhận kiểm định cho xe cơ giới"
    assert name_coverage(INSPECTION, query) == name_coverage(without, query) == 1 / 9


def test_a_question_about_what_a_name_excepts_ranks_it_lower() -> None:
    hits = hits_of([INSPECTION, TRANSFER])
    question = ["bán xe gắn máy cũ thì làm giấy tờ gì"]
    kept = rerank_by_name(hits, question, weight=2.0, depth=10, rrf_k=10)
    assert titles(kept) == [INSPECTION, TRANSFER]
    moved = rerank_by_name(hits, question, weight=2.0, depth=10, rrf_k=10, excepted=1.0)
    assert titles(moved) == [TRANSFER, INSPECTION]
    assert moved[1].list_scores[VARIANT_PENALTY] == 1.0
    # One excepted word pair is not enough: "xe gắn máy" alone would be.
    car = rerank_by_name(
        hits, ["kiểm định ô tô của tôi"], weight=2.0, depth=10, rrf_k=10, excepted=1.0
    )
    assert all(h.list_scores[VARIANT_PENALTY] == 0.0 for h in car)


def shorter_titles_first() -> LearnedRanker:
    """A ranker that knows one thing: a short title beats a long one."""
    weights = tuple(-1.0 if name == "title_length" else 0.0 for name in FEATURES)
    return LearnedRanker(
        weights=weights, means=(0.0,) * len(FEATURES), scales=(1.0,) * len(FEATURES)
    )


BIRTH = "Thủ tục đăng ký khai sinh"
BIRTH_FOREIGN = "Thủ tục đăng ký khai sinh có yếu tố nước ngoài"


class TestSiblingsAfterTheRanker:
    def retriever(self, analyzer: QueryAnalyzer, **weights: Any) -> HybridRetriever:
        names = [BIRTH, CITIZEN, BIRTH_FOREIGN]
        return stub_retriever(analyzer, names, weights, ranker=shorter_titles_first())

    def test_the_sibling_the_question_implies_keeps_the_first_place(
        self, analyzer: QueryAnalyzer
    ) -> None:
        query = "chồng tôi quốc tịch Hàn Quốc, con sinh ở Việt Nam, làm giấy khai sinh thế nào"
        kept = self.retriever(analyzer).retrieve(query, top_k=3).hits
        left = self.retriever(analyzer, siblings_by_variant=False).retrieve(query, top_k=3).hits
        # The ranker alone puts the long name last, whatever the question says; after it the
        # siblings trade places, and the procedure between them keeps its own.
        assert titles(left) == [CITIZEN, BIRTH, BIRTH_FOREIGN]
        assert titles(kept) == [CITIZEN, BIRTH_FOREIGN, BIRTH]
        assert [h.score for h in kept] == sorted((h.score for h in kept), reverse=True)
