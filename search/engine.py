"""The query side opened as one object: index, embedder, query analyzer and retriever."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from search.embedders import DenseEmbedder, QueryBatcher, create_embedder
from search.embedding_process import ProcessEmbedder
from search.errors import IndexBackendError
from search.index import HybridIndex, IndexFilter, open_index
from search.index.published import PublishedIndex
from search.query import QueryAnalyzer
from search.rerankers import CrossEncoderReranker
from search.retrieval import HybridRetriever, RetrievalResult
from search.text.restore import DiacriticRestorer
from search.text.synonyms import SynonymDictionary

if TYPE_CHECKING:
    from ingestion.settings import Settings

logger = logging.getLogger(__name__)


class SearchEngine:
    """Search over the knowledge base.

    Args:
        index: The hybrid index.
        embedder: The dense embedder, or None for lexical search only.
        synonyms: The editors' dictionary.
        restorer: The diacritic restorer learnt at ingestion, when there is one.
        reranker: The optional cross-encoder stage.
    """

    def __init__(
        self,
        *,
        index: HybridIndex,
        embedder: DenseEmbedder | None,
        synonyms: SynonymDictionary,
        restorer: DiacriticRestorer | None,
        reranker: CrossEncoderReranker | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.analyzer = QueryAnalyzer(synonyms=synonyms, restorer=restorer)
        self.retriever = HybridRetriever(
            index=index, analyzer=self.analyzer, embedder=embedder, reranker=reranker
        )

    @classmethod
    def open(cls, settings: Settings, *, with_embedder: bool = True) -> SearchEngine:
        embedder = (
            create_embedder(
                settings.embedder,
                model=settings.embedder_model,
                query_engine=settings.query_engine,
                # In a process of its own the model may use every core (see ProcessEmbedder).
                query_threads=_usable_cores() if settings.query_process else 1,
                query_precision=settings.query_precision,
            )
            if with_embedder
            else None
        )
        if embedder is not None:
            if settings.query_process:
                embedder = ProcessEmbedder(embedder)  # see search.embedding_process
            # Concurrent requests share one call of the model, always in the batcher's thread
            # (see QueryBatcher), where the model is also loaded.
            embedder = QueryBatcher(embedder)
            embedder.warm_up()
            path = getattr(embedder.embedder, "query_path", "") or type(embedder.embedder).__name__
            logger.info("query embeddings through %s", path)
        index: HybridIndex
        if settings.index_backend == "edge":
            # The writer owns the embedded index; serving processes read its published copies.
            index = PublishedIndex(
                settings.published_path,
                opener=lambda path: open_index(
                    backend="edge", path=path, collection_name=settings.collection_name
                ),
            )
        else:
            index = open_index(
                backend=settings.index_backend,
                path=settings.index_path,
                url=settings.qdrant_url or None,
                collection_name=settings.collection_name,
                api_key=(
                    settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
                ),
            )
        reranker = None
        if settings.reranker_model:
            reranker = CrossEncoderReranker(model=settings.reranker_model)
            reranker.warm_up()  # a bad model path fails at start-up, not at the first query
        restorer = None
        if settings.lexicon_path.exists():
            restorer = DiacriticRestorer.load(settings.lexicon_path)
        else:
            logger.warning(
                "no lexicon at %s: unaccented queries stay as typed", settings.lexicon_path
            )
        engine = cls(
            index=index,
            embedder=embedder,
            synonyms=SynonymDictionary.load_or_packaged(settings.synonyms_path),
            restorer=restorer,
            reranker=reranker,
        )
        # underthesea loads its segmentation model and imports its modules at the first call;
        # under load every request thread would wait on that import at once.
        engine.analyzer.sparse_vector(engine.analyzer.analyze("thủ tục cấp giấy khai sinh"))
        started = time.perf_counter()
        try:
            titles = engine.retriever.read_names()
        except IndexBackendError as exc:  # nothing published yet: queries read names as they come
            logger.warning("names not read ahead: %s", exc)
        else:
            logger.info("read %d names in %.1f s", titles, time.perf_counter() - started)
        return engine

    def search(
        self, query: str, *, top_k: int = 5, query_filter: IndexFilter | None = None
    ) -> RetrievalResult:
        return self.retriever.retrieve(query, top_k=top_k, query_filter=query_filter)

    def close(self) -> None:
        if isinstance(self.embedder, QueryBatcher):
            self.embedder.close()
        self.index.close()


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
