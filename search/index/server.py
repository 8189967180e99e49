"""The hybrid index on a Qdrant server, through qdrant-client.

The same class serves qdrant-client's local mode (``QdrantClient(path=...)`` or
``QdrantClient(":memory:")``), a pure-Python reimplementation used in tests and small setups.
Local mode keeps no payload indexes and is not thread-safe; pass ``serialize_calls=True`` when
several threads share it (``open_index`` does so for the "local" backend).

Unlike the Qdrant engine (and ``EdgeHybridIndex``), local mode removes deleted points from its
IDF statistics at once, so sparse scores of the two differ after deletions until the engine's
segments are rebuilt.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from search.errors import ConfigurationError, ErrorCode, IndexBackendError
from search.index.checks import check_limit, check_sparse, chunk_from_payload
from search.index.protocol import (
    DENSE_VECTOR,
    FACET_FIELDS,
    FILTERABLE_FIELDS,
    HEAD_SECTIONS,
    SPARSE_VECTOR,
    IndexFilter,
    tally_facets,
    titles_of,
)
from search.models import Chunk, IndexPoint, ScoredChunk, SparseVector

logger = logging.getLogger(__name__)

UPSERT_BATCH_SIZE = 256
SCROLL_PAGE_SIZE = 1024


class ServerHybridIndex:
    """A ``HybridIndex`` in one Qdrant collection, reached through a ``QdrantClient``.

    Hybrid queries use ``FusionQuery(fusion=RRF)``, so the server's default RRF constant
    (k = 2) applies.

    Usage example:
        ```python
        client = QdrantClient(url="http://qdrant:6333", api_key=api_key)
        index = ServerHybridIndex(client, "chunks")
        index.ensure_collection(dense_size=384)
        hits = index.query_hybrid(dense=query_vector, sparse=query_terms, limit=10)
        index.close()
        ```

    Args:
        client: The client; the index owns it from now on and closes it in ``close``.
        collection_name: The Qdrant collection.
        serialize_calls: Run one call at a time (for local mode, which has no locking).
    """

    def __init__(
        self, client: QdrantClient, collection_name: str, *, serialize_calls: bool = False
    ) -> None:
        if not collection_name:
            raise ConfigurationError("collection_name must not be empty")
        self._client = client
        self._collection_name = collection_name
        self._closed = False
        self._calls: AbstractContextManager[Any] = (
            threading.RLock() if serialize_calls else nullcontext()
        )

    @property
    def collection_name(self) -> str:
        """The Qdrant collection."""
        return self._collection_name

    def ensure_collection(self, *, dense_size: int) -> None:
        """Create the collection and its payload indexes when missing; check it otherwise.

        Args:
            dense_size: Size of the dense vectors.

        Raises:
            ConfigurationError: ``dense_size`` is not positive.
            IndexBackendError: the collection exists with another dense size or without the
                vectors this index needs, or Qdrant failed.
        """
        if dense_size < 1:
            raise ConfigurationError(f"dense_size must be at least 1, got {dense_size}")
        name = self._collection_name
        with self._call(f"prepare the collection {name!r}"):
            if self._client.collection_exists(name):
                info = self._client.get_collection(name)
                self._check_vectors(info, dense_size)
                existing = set(info.payload_schema or {})
            else:
                self._client.create_collection(
                    name,
                    vectors_config={
                        DENSE_VECTOR: models.VectorParams(
                            size=dense_size, distance=models.Distance.COSINE
                        )
                    },
                    sparse_vectors_config={
                        SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                )
                existing = set()
                logger.info("created the Qdrant collection %s, dense size %s", name, dense_size)
            for field_name in FILTERABLE_FIELDS:
                if field_name not in existing:
                    self._create_keyword_index(field_name)

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points by ``point_id``, in batches of ``UPSERT_BATCH_SIZE``.

        Raises:
            SearchError: a point has a malformed sparse vector.
            IndexBackendError: Qdrant refused a batch; earlier batches stay written.
        """
        for point in points:
            check_sparse(point.sparse, f"point {point.point_id}")
        for start in range(0, len(points), UPSERT_BATCH_SIZE):
            batch = [_to_point_struct(point) for point in points[start : start + UPSERT_BATCH_SIZE]]
            with self._call("upsert points"):
                self._client.upsert(self._collection_name, points=batch, wait=True)
        logger.debug("upserted %s points into %s", len(points), self._collection_name)

    def delete_document(self, doc_id: str, *, keep_point_ids: Collection[str] = ()) -> int:
        """Delete the document's points except ``keep_point_ids``; return how many went.

        The number is counted just before the deletion; a writer in another process may change
        it in between.
        """
        doomed = models.Filter(
            must=[_match_any("doc_id", [doc_id])],
            must_not=[models.HasIdCondition(has_id=list(keep_point_ids))]
            if keep_point_ids
            else None,
        )
        with self._call(f"delete the points of document {doc_id!r}"):
            deleted = self._client.count(
                self._collection_name, count_filter=doomed, exact=True
            ).count
            if deleted:
                self._client.delete(
                    self._collection_name,
                    points_selector=models.FilterSelector(filter=doomed),
                    wait=True,
                )
        logger.debug("deleted %s points of document %s", deleted, doc_id)
        return deleted

    def document_point_ids(self, doc_id: str) -> set[str]:
        """Ids of the points a document has in the index."""
        records = self._scroll(models.Filter(must=[_match_any("doc_id", [doc_id])]), False)
        return {str(record.id) for record in records}

    def document_ids(self) -> set[str]:
        """Every ``doc_id`` that has at least one point, read page by page."""
        doc_ids: set[str] = set()
        for record in self._scroll(None, ["doc_id"]):
            doc_id = (record.payload or {}).get("doc_id")
            if not isinstance(doc_id, str):
                raise IndexBackendError(f"point {record.id} holds no doc_id in its payload")
            doc_ids.add(doc_id)
        return doc_ids

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The document's chunks, in ``chunk_id`` order.

        ``Chunk.embed`` is read back from the index: true exactly when the point has a dense
        vector (the payload does not carry the flag).
        """
        records = self._scroll(
            models.Filter(must=[_match_any("doc_id", [doc_id])]), True, [DENSE_VECTOR]
        )
        chunks = [
            chunk_from_payload(record.id, record.payload).model_copy(
                update={"embed": isinstance(record.vector, dict) and DENSE_VECTOR in record.vector}
            )
            for record in records
        ]
        return sorted(chunks, key=lambda chunk: chunk.chunk_id)

    def count(self, query_filter: IndexFilter | None = None) -> int:
        """How many points match the filter (all points without one), counted exactly."""
        with self._call("count points"):
            result = self._client.count(
                self._collection_name, count_filter=_to_filter(query_filter), exact=True
            )
        return result.count

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For each facet field, how many documents hold each value, most first."""
        return tally_facets(self._head_payloads(["doc_id", *FACET_FIELDS]))

    def head_titles(self) -> set[str]:
        """The titles of the documents' head chunks: the names a search ranks by."""
        return titles_of(self._head_payloads(["title"]))

    def _head_payloads(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        heads = models.Filter(must=[_match_any("section", list(HEAD_SECTIONS))])
        return (record.payload or {} for record in self._scroll(heads, fields))

    def query_dense(
        self, vector: Sequence[float], *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity of the dense vector."""
        check_limit(limit)
        return self._query(
            "run a dense query",
            query=[float(x) for x in vector],
            using=DENSE_VECTOR,
            query_filter=_to_filter(query_filter),
            limit=limit,
        )

    def query_sparse(
        self, vector: SparseVector, *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by the sparse dot product with IDF weighting."""
        check_limit(limit)
        check_sparse(vector, "the sparse query")
        return self._query(
            "run a sparse query",
            query=_to_sparse(vector),
            using=SPARSE_VECTOR,
            query_filter=_to_filter(query_filter),
            limit=limit,
        )

    def query_hybrid(
        self,
        *,
        dense: Sequence[float] | None,
        sparse: SparseVector,
        limit: int,
        prefetch_limit: int = 100,
        query_filter: IndexFilter | None = None,
    ) -> list[ScoredChunk]:
        """Dense and sparse prefetches fused by reciprocal rank fusion inside Qdrant.

        Without ``dense`` this is the sparse query alone. Each prefetch keeps its best
        ``prefetch_limit`` candidates, so at most twice that many come back; the filter applies to
        both prefetches.
        """
        if dense is None:
            return self.query_sparse(sparse, limit=limit, query_filter=query_filter)
        check_limit(limit)
        check_limit(prefetch_limit, "prefetch_limit")
        check_sparse(sparse, "the sparse query")
        qdrant_filter = _to_filter(query_filter)
        return self._query(
            "run a hybrid query",
            prefetch=[
                models.Prefetch(
                    query=[float(x) for x in dense],
                    using=DENSE_VECTOR,
                    filter=qdrant_filter,
                    limit=prefetch_limit,
                ),
                models.Prefetch(
                    query=_to_sparse(sparse),
                    using=SPARSE_VECTOR,
                    filter=qdrant_filter,
                    limit=prefetch_limit,
                ),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=limit,
        )

    def optimize(self) -> bool:
        """Nothing to do: a Qdrant server runs its optimizers in the background."""
        return False

    def flush(self) -> None:
        """Nothing to do: every write is acknowledged durable.

        Writes are sent with ``wait=True``, and Qdrant logs them before it answers; local mode
        with a path saves each write.
        """

    def close(self) -> None:
        """Close the client; later calls raise. Closing twice is harmless."""
        with self._calls:
            if self._closed:
                return
            self._closed = True
            with _client_errors("close the client"):
                self._client.close()

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        with self._calls:
            if self._closed:
                raise IndexBackendError(f"the index on {self._collection_name!r} is closed")
            with _client_errors(action):
                yield

    def _check_vectors(self, info: models.CollectionInfo, dense_size: int) -> None:
        name = self._collection_name
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
        if dense is None:
            raise IndexBackendError(
                f"the collection {name!r} has no dense vector named {DENSE_VECTOR!r}",
                error_code=ErrorCode.CONFIGURATION,
            )
        if dense.size != dense_size:
            raise IndexBackendError(
                f"the collection {name!r} has dense size {dense.size}, not {dense_size}; "
                "re-create it to change the size",
                error_code=ErrorCode.CONFIGURATION,
            )
        sparse = (info.config.params.sparse_vectors or {}).get(SPARSE_VECTOR)
        if sparse is None or sparse.modifier != models.Modifier.IDF:
            raise IndexBackendError(
                f"the collection {name!r} has no sparse vector {SPARSE_VECTOR!r} with the IDF "
                "modifier",
                error_code=ErrorCode.CONFIGURATION,
            )

    def _create_keyword_index(self, field_name: str) -> None:
        with warnings.catch_warnings():
            # Local mode keeps no keyword index and warns about it; that no-op is expected.
            warnings.filterwarnings(
                "ignore", message="Payload indexes have no effect", category=UserWarning
            )
            self._client.create_payload_index(
                self._collection_name,
                field_name,
                field_schema=models.PayloadSchemaType.KEYWORD,
                wait=True,
            )

    def _query(
        self,
        action: str,
        *,
        query: models.Query | list[float] | models.SparseVector,
        limit: int,
        using: str | None = None,
        query_filter: models.Filter | None = None,
        prefetch: list[models.Prefetch] | None = None,
    ) -> list[ScoredChunk]:
        with self._call(action):
            response = self._client.query_points(
                self._collection_name,
                query=query,
                using=using,
                prefetch=prefetch,
                query_filter=query_filter,
                limit=limit,
                with_payload=True,
            )
        return [
            ScoredChunk(chunk=chunk_from_payload(point.id, point.payload), score=point.score)
            for point in response.points
        ]

    def _scroll(
        self,
        scroll_filter: models.Filter | None,
        with_payload: bool | list[str],
        with_vectors: bool | list[str] = False,
    ) -> Iterator[models.Record]:
        offset: models.ExtendedPointId | None = None
        while True:
            with self._call("scroll points"):
                records, offset = self._client.scroll(
                    self._collection_name,
                    scroll_filter=scroll_filter,
                    limit=SCROLL_PAGE_SIZE,
                    offset=offset,
                    with_payload=with_payload,
                    with_vectors=with_vectors,
                )
            yield from records
            if offset is None:
                return


@contextmanager
def _client_errors(action: str) -> Iterator[None]:
    """Translate qdrant-client's exceptions into ``IndexBackendError``.

    Local mode reports failures as ``ValueError`` and use after close as ``RuntimeError``.
    """
    try:
        yield
    except UnexpectedResponse as exc:
        raise IndexBackendError(f"Qdrant refused to {action}: {exc}") from exc
    except ResponseHandlingException as exc:
        raise IndexBackendError(f"Qdrant could not be reached to {action}: {exc}") from exc
    except (ValueError, RuntimeError) as exc:
        raise IndexBackendError(f"Qdrant could not {action}: {exc}") from exc


def _to_point_struct(point: IndexPoint) -> models.PointStruct:
    vectors: dict[str, Any] = {SPARSE_VECTOR: _to_sparse(point.sparse)}
    if point.dense is not None:
        vectors[DENSE_VECTOR] = point.dense
    return models.PointStruct(id=point.point_id, vector=vectors, payload=point.chunk.payload())


def _to_sparse(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _match_any(key: str, values: list[str]) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchAny(any=values))


def _to_filter(query_filter: IndexFilter | None) -> models.Filter | None:
    conditions = query_filter.conditions() if query_filter is not None else {}
    if not conditions:
        return None
    return models.Filter(must=[_match_any(key, values) for key, values in conditions.items()])
