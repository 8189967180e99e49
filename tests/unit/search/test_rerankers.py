"""The cross-encoder reranking stage, on a tiny cross-encoder built in a temporary folder.

The model is a 2-layer BERT with one output (``num_labels=1``) and random weights, so its scores
mean nothing: the tests check the mechanics against the model's own ``predict``. The hub is
switched to offline mode and Python sockets are refused for every test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.embedders import QueryBatcher
from search.embedding_process import EmbeddingUnavailable
from search.errors import ConfigurationError, ErrorCode
from search.index import HybridIndex, open_index
from search.models import Chunk, IndexPoint, ScoredChunk, Section
from search.query import QueryAnalyzer
from search.rerankers import CrossEncoderReranker
from search.retrieval import DocumentHit, HybridRetriever
from search.text.lexical import LexicalAnalyzer, SparseEncoder
from search.text.synonyms import SynonymDictionary
from tests.utils.offline import go_offline

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "cấp", "lại", "hộ", "chiếu", "phổ", "thông", "gia", "hạn", "công", "vụ", "khôi", "phục",
    "giá", "trị", "sử", "dụng", "giấy", "phép", "khai", "thác", "thủy", "sản", "ở", "trong",
    "nước", "bị", "mất", "nộp", "hồ", "sơ", "đăng", "ký", "sinh", "lái", "xe", "thủ", "tục",
    ".", ",", "1", "0",
]  # fmt: skip
QUERY = "cấp lại hộ chiếu"


def build_tiny_cross_encoder(root: Path) -> Path:
    """Write a tiny BERT sequence classifier with one label, and its tokenizer, under ``root``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    vocab_file = root / "vocab.txt"
    vocab_file.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab``; ``vocab_file`` is silently ignored.
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True, strip_accents=False)
    assert "[UNK]" not in tokenizer.tokenize(QUERY)

    torch.manual_seed(1022)
    config = BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=1,
        initializer_range=0.2,  # spread the random scores so that orders are clear-cut
    )
    model_dir = root / "cross-encoder"
    BertForSequenceClassification(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    return model_dir


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        attempts: list[Any] = []
        go_offline(mp, attempts)
        path = build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))
        assert attempts == []
    return path


@pytest.fixture(scope="module")
def tiny_raw(tiny_model_dir: Path) -> Any:
    """The tiny model loaded straight through sentence-transformers, to compute expectations."""
    from sentence_transformers import CrossEncoder

    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, [])
        return CrossEncoder(str(tiny_model_dir), device="cpu")


@pytest.fixture
def reranker(tiny_model_dir: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(model=str(tiny_model_dir))


def model_scores(raw: Any, query: str, hits: list[DocumentHit]) -> list[float]:
    """The model's own scores of (query, title + best chunk) for each hit."""
    pairs = [(query, f"{h.title}\n{h.matched[0].chunk.text if h.matched else ''}") for h in hits]
    return [float(s) for s in raw.predict(pairs)]


def by_score(hits: list[DocumentHit], scores: list[float]) -> list[str]:
    """Doc ids by descending score; ties keep their order (Python's sort is stable)."""
    order = sorted(range(len(hits)), key=lambda i: -scores[i])
    return [hits[i].doc_id for i in order]


def ids(hits: list[DocumentHit]) -> list[str]:
    return [h.doc_id for h in hits]


PASSAGES = [
    ("Cấp hộ chiếu phổ thông ở trong nước", "Nộp hồ sơ cấp hộ chiếu"),
    ("Cấp lại hộ chiếu phổ thông bị mất", "Hộ chiếu bị mất, cấp lại"),
    ("Gia hạn hộ chiếu công vụ", "Gia hạn giá trị sử dụng"),
    ("Khôi phục giá trị sử dụng hộ chiếu", "Khôi phục hộ chiếu"),
    ("Cấp giấy phép khai thác thủy sản", "Giấy phép khai thác thủy sản"),
    ("Đăng ký khai sinh", "Thủ tục đăng ký khai sinh"),
    ("Cấp giấy phép lái xe", "Nộp hồ sơ giấy phép lái xe"),
]


def make_hit(position: int, *, exact: bool = False) -> DocumentHit:
    title, text = PASSAGES[position]
    doc_id = f"procedure:2.00000{position}"
    best = Chunk(
        chunk_id=f"{doc_id}#overview",
        doc_id=doc_id,
        doc_kind="procedure",
        section=Section.OVERVIEW,
        title=title,
        text=text,
        code=f"2.00000{position}",
    )
    worse = best.model_copy(update={"chunk_id": f"{doc_id}#steps", "text": "thủ tục"})
    return DocumentHit.from_chunk(best, 1.0 / (position + 1)).model_copy(
        update={
            "exact_code_match": exact,
            "matched": [ScoredChunk(chunk=best, score=2.0), ScoredChunk(chunk=worse, score=1.0)],
        }
    )


@pytest.fixture
def hits() -> list[DocumentHit]:
    return [make_hit(i) for i in range(len(PASSAGES))]


class TestCrossEncoderReranker:
    def test_init_defaults_and_loads_nothing(self, tiny_model_dir: Path) -> None:
        reranker = CrossEncoderReranker(model=str(tiny_model_dir))
        assert (reranker.model, reranker.top_n, reranker.device) == (
            str(tiny_model_dir),
            20,
            "cpu",
        )
        assert reranker._model is None

    def test_init_without_model_raises(self) -> None:
        with pytest.raises(ValueError, match="model"):
            CrossEncoderReranker(model="")

    @pytest.mark.parametrize("top_n", [0, -1])
    def test_init_bad_top_n_raises(self, tiny_model_dir: Path, top_n: int) -> None:
        with pytest.raises(ValueError, match="top_n"):
            CrossEncoderReranker(model=str(tiny_model_dir), top_n=top_n)

    def test_run_reorders_by_the_model_scores(
        self, reranker: CrossEncoderReranker, tiny_raw: Any, hits: list[DocumentHit]
    ) -> None:
        scores = model_scores(tiny_raw, QUERY, hits)
        assert len(set(scores)) == len(scores), "the tiny model should not tie"
        expected = by_score(hits, scores)
        assert expected != ids(hits), "the model's order should differ from the input's"

        result = reranker.run(query=QUERY, hits=hits)
        assert list(result) == ["hits"]
        reranked = result["hits"]
        assert ids(reranked) == expected
        by_id = dict(zip(ids(hits), scores, strict=True))
        assert [h.score for h in reranked] == pytest.approx([by_id[i] for i in expected])
        # Everything but the score is carried over.
        original = {h.doc_id: h for h in hits}
        for hit in reranked:
            assert hit.model_dump(exclude={"score"}) == original[hit.doc_id].model_dump(
                exclude={"score"}
            )

    def test_input_is_not_changed(
        self, reranker: CrossEncoderReranker, hits: list[DocumentHit]
    ) -> None:
        before = [h.model_dump() for h in hits]
        reranker.rerank(QUERY, hits)
        assert [h.model_dump() for h in hits] == before

    def test_only_the_first_top_n_are_rescored(
        self, tiny_model_dir: Path, tiny_raw: Any, hits: list[DocumentHit]
    ) -> None:
        top_n = 4
        reranker = CrossEncoderReranker(model=str(tiny_model_dir), top_n=top_n)
        reranker.warm_up()
        seen: list[Any] = []
        real_predict = reranker._model.predict

        def spying_predict(pairs: Any, *args: Any, **kwargs: Any) -> Any:
            seen.extend(pairs)
            return real_predict(pairs, *args, **kwargs)

        reranker._model.predict = spying_predict

        head, tail = hits[:top_n], hits[top_n:]
        expected_head = by_score(head, model_scores(tiny_raw, QUERY, head))
        assert expected_head != ids(head), "the model's order should differ from the input's"

        reranked = reranker.rerank(QUERY, hits)
        assert len(seen) == top_n
        assert ids(reranked) == expected_head + ids(tail)
        assert [h.score for h in reranked[top_n:]] == [h.score for h in tail]

    def test_top_n_larger_than_the_list(
        self, tiny_model_dir: Path, tiny_raw: Any, hits: list[DocumentHit]
    ) -> None:
        few = hits[:2]
        reranker = CrossEncoderReranker(model=str(tiny_model_dir), top_n=50)
        assert ids(reranker.rerank(QUERY, few)) == by_score(few, model_scores(tiny_raw, QUERY, few))

    def test_exact_code_matches_stay_first(
        self, reranker: CrossEncoderReranker, tiny_raw: Any, hits: list[DocumentHit]
    ) -> None:
        scores = model_scores(tiny_raw, QUERY, hits)
        # Mark the two hits the model likes least as exact code matches.
        worst_two = sorted(range(len(hits)), key=lambda i: scores[i])[:2]
        marked = [
            h.model_copy(update={"exact_code_match": i in worst_two}) for i, h in enumerate(hits)
        ]
        reranked = reranker.rerank(QUERY, marked)

        exact = [i for i in range(len(hits)) if i in worst_two]
        others = [i for i in range(len(hits)) if i not in worst_two]
        expected = by_score([marked[i] for i in exact], [scores[i] for i in exact]) + by_score(
            [marked[i] for i in others], [scores[i] for i in others]
        )
        assert ids(reranked) == expected
        assert [h.exact_code_match for h in reranked] == [True, True] + [False] * (len(hits) - 2)

    def test_empty_list_is_returned_as_is(self, reranker: CrossEncoderReranker) -> None:
        empty: list[DocumentHit] = []
        assert reranker.rerank(QUERY, empty) is empty
        assert reranker.run(query=QUERY, hits=empty) == {"hits": []}

    def test_passage_is_title_and_best_chunk(self, hits: list[DocumentHit]) -> None:
        hit = hits[0]
        assert CrossEncoderReranker.passage(hit) == (
            "Cấp hộ chiếu phổ thông ở trong nước\nNộp hồ sơ cấp hộ chiếu"
        )
        bare = hit.model_copy(update={"matched": []})
        assert CrossEncoderReranker.passage(bare) == "Cấp hộ chiếu phổ thông ở trong nước\n"
        long_chunk = hit.matched[0].chunk.model_copy(update={"text": "hộ chiếu " * 400})
        long_hit = hit.model_copy(update={"matched": [ScoredChunk(chunk=long_chunk, score=1.0)]})
        assert len(CrossEncoderReranker.passage(long_hit)) == 1500

    def test_warm_up_loads_once(self, reranker: CrossEncoderReranker) -> None:
        reranker.warm_up()
        loaded = reranker._model
        assert loaded is not None
        reranker.warm_up()
        assert reranker._model is loaded

    @pytest.mark.parametrize(
        "where", ["missing-path", "empty-folder", "unknown-model-type", "hub-name"]
    )
    def test_unloadable_model_raises_configuration_error(
        self, tmp_path: Path, hits: list[DocumentHit], where: str
    ) -> None:
        model = {
            "missing-path": str(tmp_path / "no-such-cross-encoder"),
            "empty-folder": str(tmp_path),
            "unknown-model-type": str(tmp_path),
            "hub-name": "hotline-1022/no-such-cross-encoder",
        }[where]
        if where == "unknown-model-type":
            (tmp_path / "config.json").write_text('{"model_type": "nosuchmodel"}')
        reranker = CrossEncoderReranker(model=model)
        with pytest.raises(ConfigurationError) as info:
            reranker.warm_up()
        assert info.value.error_code is ErrorCode.CONFIGURATION
        assert repr(model) in info.value.detail
        with pytest.raises(ConfigurationError):
            reranker.rerank(QUERY, hits)


# --- HybridRetriever with the reranker ------------------------------------------------------

DOCS = [
    # code, title, a second section's text
    ("1.001193", "Cấp hộ chiếu phổ thông ở trong nước", "Nộp hồ sơ đề nghị cấp hộ chiếu"),
    ("2.000001", "Cấp lại hộ chiếu phổ thông bị mất", "Khai báo mất hộ chiếu, nộp hồ sơ"),
    ("2.000002", "Gia hạn hộ chiếu công vụ", "Hộ chiếu công vụ còn giá trị sử dụng"),
    ("2.000003", "Khôi phục giá trị sử dụng hộ chiếu", "Hộ chiếu bị mất được tìm thấy"),
    ("2.000004", "Cấp hộ chiếu ngoại giao", "Nộp hồ sơ hộ chiếu ngoại giao"),
    ("2.000005", "Cấp giấy phép khai thác thủy sản", "Tàu cá khai thác thủy sản"),
]


def build_points() -> list[IndexPoint]:
    analyzer = LexicalAnalyzer(segment=True)
    encoder = SparseEncoder(average_length=20.0)
    points = []
    for n, (code, title, second) in enumerate(DOCS):
        doc_id = f"procedure:{code}"
        for section, text, dense in (
            (Section.OVERVIEW, title, [1.0, float(n), 0.0, 0.0]),
            (Section.STEPS, second, None),
        ):
            chunk = Chunk(
                chunk_id=f"{doc_id}#{section.value}",
                doc_id=doc_id,
                doc_kind="procedure",
                section=section,
                title=title,
                text=text,
                code=code,
                embed=dense is not None,
            )
            points.append(
                IndexPoint(
                    point_id=f"00000000-0000-0000-0000-{n:06d}{len(points):06d}",
                    chunk=chunk,
                    dense=dense,
                    sparse=encoder.encode_document(analyzer.tokens(text)),
                )
            )
    return points


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HybridIndex]:
    index = open_index(backend="edge", path=tmp_path_factory.mktemp("index"), collection_name="t")
    index.ensure_collection(dense_size=4)
    index.upsert(build_points())
    index.flush()
    yield index
    index.close()


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(synonyms=SynonymDictionary.load())


class TestHybridRetrieverWithReranker:
    def test_index_holds_the_corpus(self, index: HybridIndex) -> None:
        assert index.count() == 2 * len(DOCS)

    def test_reranker_orders_the_fused_hits(
        self,
        index: HybridIndex,
        analyzer: QueryAnalyzer,
        reranker: CrossEncoderReranker,
        tiny_raw: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        plain = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=20)
        assert len(plain.hits) >= 4, "the query should match several documents lexically"
        restored = plain.query.restored
        expected = by_score(plain.hits, model_scores(tiny_raw, restored, plain.hits))
        assert expected != ids(plain.hits), "the model's order should differ from fusion's"

        calls: list[tuple[str, list[str]]] = []
        real_rerank = reranker.rerank

        def spying_rerank(query: str, hits: list[DocumentHit]) -> list[DocumentHit]:
            calls.append((query, ids(hits)))
            return real_rerank(query, hits)

        monkeypatch.setattr(reranker, "rerank", spying_rerank)
        retriever = HybridRetriever(index=index, analyzer=analyzer, reranker=reranker)
        reranked = retriever.retrieve(QUERY, top_k=20)

        assert calls == [(restored, ids(plain.hits))]
        assert ids(reranked.hits) == expected
        assert reranked.lists == plain.lists  # the fused lists themselves are untouched
        assert ids(retriever.run(query=QUERY, top_k=20)["hits"]) == expected

    def test_rerank_happens_before_top_k(
        self,
        index: HybridIndex,
        analyzer: QueryAnalyzer,
        reranker: CrossEncoderReranker,
        tiny_raw: Any,
    ) -> None:
        fused = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=20)
        plain = fused.hits
        expected = by_score(plain, model_scores(tiny_raw, fused.query.restored, plain))
        # The shortest cut at which the reranked head holds a document fusion had below it.
        top_k = next(
            k for k in range(1, len(plain) + 1) if set(expected[:k]) != set(ids(plain[:k]))
        )
        retriever = HybridRetriever(index=index, analyzer=analyzer, reranker=reranker)
        assert ids(retriever.retrieve(QUERY, top_k=top_k).hits) == expected[:top_k]

    def test_exact_code_stays_first_after_reranking(
        self, index: HybridIndex, analyzer: QueryAnalyzer, reranker: CrossEncoderReranker
    ) -> None:
        query = f"{QUERY} 2.000003"
        retriever = HybridRetriever(index=index, analyzer=analyzer, reranker=reranker)
        hits = retriever.retrieve(query, top_k=20).hits
        assert hits[0].doc_id == "procedure:2.000003"
        assert hits[0].exact_code_match
        assert ids(hits).count("procedure:2.000003") == 1
        assert not any(h.exact_code_match for h in hits[1:])

    def test_without_reranker_fusion_order_is_kept(
        self, index: HybridIndex, analyzer: QueryAnalyzer
    ) -> None:
        hits = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=20).hits
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


class _DeadEmbedder:
    """An embedder whose process has died: every call says so."""

    dimension = 4

    def warm_up(self) -> None:
        pass

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        raise EmbeddingUnavailable("the embedding process stopped during a call (exit code -9)")


class _HungEmbedder:
    """An embedder whose model stopped answering until released."""

    dimension = 4

    def __init__(self) -> None:
        self.release = threading.Event()

    def warm_up(self) -> None:
        pass

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.release.wait(timeout=10)
        raise EmbeddingUnavailable("the embedding process was killed after its call timeout")


class TestWithoutTheDenseList:
    def test_a_closed_batcher_leaves_the_lexical_answer(
        self, index: HybridIndex, analyzer: QueryAnalyzer, caplog: pytest.LogCaptureFixture
    ) -> None:
        batcher = QueryBatcher(_HungEmbedder())
        batcher.close()
        lexical = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=5)
        retriever = HybridRetriever(index=index, analyzer=analyzer, embedder=batcher)
        result = retriever.retrieve(QUERY, top_k=5)
        assert ids(result.hits) == ids(lexical.hits) and result.hits
        assert "no dense list for this query: the query embedder is closed" in caplog.text

    @pytest.mark.parametrize("batched", [False, True], ids=["direct", "through the batcher"])
    def test_a_hung_embedder_leaves_the_lexical_answer_after_the_wait(
        self,
        index: HybridIndex,
        analyzer: QueryAnalyzer,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
        batched: bool,
    ) -> None:
        monkeypatch.setattr("search.retrieval.DENSE_WAIT_S", 0.2)
        hung = _HungEmbedder()
        embedder = QueryBatcher(hung) if batched else hung
        lexical = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=5)
        retriever = HybridRetriever(index=index, analyzer=analyzer, embedder=embedder)
        try:
            result = retriever.retrieve(QUERY, top_k=5)
        finally:
            hung.release.set()
            if isinstance(embedder, QueryBatcher):
                embedder.close()
        assert ids(result.hits) == ids(lexical.hits) and result.hits
        assert "dense_overview" not in result.lists
        assert "no dense list for this query: no vector in 0.2 s" in caplog.text

    def test_a_dead_embedder_leaves_the_lexical_answer(
        self, index: HybridIndex, analyzer: QueryAnalyzer, caplog: pytest.LogCaptureFixture
    ) -> None:
        lexical = HybridRetriever(index=index, analyzer=analyzer).retrieve(QUERY, top_k=5)
        retriever = HybridRetriever(index=index, analyzer=analyzer, embedder=_DeadEmbedder())
        result = retriever.retrieve(QUERY, top_k=5)
        assert ids(result.hits) == ids(lexical.hits) and result.hits
        assert "dense_overview" not in result.lists
        assert "no dense list for this query" in caplog.text

    def test_the_service_answers_503_when_no_dense_vector_can_be_made(self) -> None:
        error = EmbeddingUnavailable("no process")
        assert error.error_code is ErrorCode.EMBEDDER_UNAVAILABLE
        assert error.error_code.http_status == 503
