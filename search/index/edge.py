"""The hybrid index on qdrant-edge: the Qdrant engine inside this process.

On disk, the collection directory given to ``EdgeHybridIndex`` holds two things:

    <collection dir>/
    ├── shard/             the Edge shard; its files belong to the engine
    └── collection.json    {"dense_size": N}, because the shard's Python API cannot report it

Threads. The qdrant-edge 0.9 bindings hold the GIL for the whole of every call (query, update,
scroll, flush, even ``optimize``), so calls made from Python threads never overlap inside the
engine, and the shard may be used from any thread. Reads therefore take no lock here. What this
class guards is its own state: the shard is opened once (a second ``EdgeShard.load`` of the same
directory fails on the write-ahead-log lock, in this process or another), closing waits for
writes in flight, and writers are serialized so that ``delete_document`` counts what it deletes.
A consequence worth knowing: a long engine call (a large upsert batch, ``optimize``) stalls every
other Python thread of the process, which is why upserts go in small batches.

Known engine behaviours this backend does not hide:

* The IDF statistics of the sparse vector keep counting deleted points until the shard is
  reopened or optimized (Qdrant keeps posting lists immutable on delete; qdrant/qdrant#6739).
  Replaced points (upsert of the same id) are counted once. qdrant-client's local mode updates
  its statistics at once, so the two backends rank differently after deletions.
* A sparse vector whose ``indices`` and ``values`` differ in length makes the 0.9 engine panic
  in the middle of the update and leaves a shard that panics again when it is loaded. Points
  and queries are therefore validated before they reach the engine.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    Fusion,
    HasIdCondition,
    MatchAny,
    Modifier,
    PayloadSchemaType,
    Point,
    Prefetch,
    Query,
    QueryRequest,
    Record,
    ScoredPoint,
    ScrollRequest,
    UpdateOperation,
)
from qdrant_edge import SparseVector as EdgeSparseVector

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

# Qdrant's default k for FusionQuery(fusion=RRF); the server backend relies on that default,
# so both backends fuse alike.
RRF_K = 2
# Points per engine call. The bindings hold the GIL during a call, so smaller batches keep the
# latency that an upsert adds to concurrent queries short (about 6 ms per 500 points of size 384).
UPSERT_BATCH_SIZE = 256
# Chunks a reader keeps by point id; the whole shared corpus is about 23,000.
CHUNK_CACHE_SIZE = 100_000
SCROLL_PAGE_SIZE = 1024
# Below this many points a filter lets through, a sparse query scores each of them in turn
# instead of walking the posting lists of the query's words. The engine's default sent the
# overview list (about 2,700 of 22,691 points) down that path: 1.7 ms a query, against 0.31 ms
# through the posting lists, with the same hits and scores on 40 of 40 dev questions. Scoring a
# point costs about 0.6 µs, so the two paths cost the same near 500 points. The setting is
# written into each segment when it is built: a shard made before it keeps the old path until
# its points are written again, which the next sync does (``INDEX_RECIPE`` 3).
SPARSE_FULL_SCAN_THRESHOLD = 500
# Threads of the shard's search pool. A query waits for its pool while holding the GIL, so
# in a busy process every Python thread waited on pool threads that had to win a core first.
# One thread: 0.21 ms for a sparse query against 0.30 ms with the default pool, and 0.40
# against 0.55 ms while two other processes kept both cores busy.
SEARCH_THREADS = 1
# Edge filters kept by their conditions. Building a FieldCondition lets go of the GIL, so in a
# busy process it waited for another thread's engine call: 0.5 to 0.7 ms, against 5 µs idle.
FILTER_CACHE_SIZE = 1024

SHARD_DIR_NAME = "shard"
META_FILE_NAME = "collection.json"


class EdgeHybridIndex:
    """A ``HybridIndex`` stored in one qdrant-edge shard per collection directory.

    The constructor only stores the path. The shard is created by ``ensure_collection`` and
    opened on first use when it already exists; every other method raises
    ``IndexBackendError`` while there is no collection.

    Usage example:
        ```python
        index = EdgeHybridIndex(Path("data/index/chunks"))
        index.ensure_collection(dense_size=384)
        index.upsert(points)
        hits = index.query_hybrid(dense=query_vector, sparse=query_terms, limit=10)
        index.close()
        ```

    Args:
        path: The collection directory; created when the collection is.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._shard_dir = self._path / SHARD_DIR_NAME
        self._meta_path = self._path / META_FILE_NAME
        self._shard: EdgeShard | None = None
        self._closed = False
        # Lock order: _write_lock before _state_lock.
        self._state_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Chunks by point id. Queries ask the engine for ids and scores only: reading payloads
        # was most of a query's time (100 points: 1.4 ms with payloads, 0.2 ms without). A
        # write bumps the generation and empties the cache; a query stores what it read only
        # when no write happened meanwhile, so nothing stale survives a write.
        self._chunks: dict[object, Chunk] = {}  # by the engine's point id (a UUID)
        self._chunks_generation = 0
        self._cache_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The collection directory."""
        return self._path

    def ensure_collection(self, *, dense_size: int) -> None:
        """Create the shard and its payload indexes when missing; check the dense size otherwise.

        Args:
            dense_size: Size of the dense vectors.

        Raises:
            ConfigurationError: ``dense_size`` is not positive.
            IndexBackendError: the collection exists with another dense size, or the engine
                failed.
        """
        if dense_size < 1:
            raise ConfigurationError(f"dense_size must be at least 1, got {dense_size}")
        with self._write_lock, self._state_lock:
            self._check_not_closed()
            stored_size = self._read_dense_size()
            if stored_size is not None and stored_size != dense_size:
                raise IndexBackendError(
                    f"the collection at {self._path} has dense size {stored_size}, "
                    f"not {dense_size}; re-create it to change the size",
                    error_code=ErrorCode.CONFIGURATION,
                )
            if self._shard is None:
                self._shard = self._open_or_create_shard(dense_size)
            self._create_missing_field_indexes(self._shard)
            if stored_size is None:
                self._write_dense_size(dense_size)

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points by ``point_id``, in batches of ``UPSERT_BATCH_SIZE``.

        Raises:
            SearchError: a point has a malformed sparse vector.
            IndexBackendError: the engine refused a batch (an invalid id, a dense vector of the
                wrong size); earlier batches stay written.
        """
        for point in points:
            check_sparse(point.sparse, f"point {point.point_id}")
        with self._write_lock:
            shard = self._open_shard()
            try:
                for start in range(0, len(points), UPSERT_BATCH_SIZE):
                    batch = [_to_edge_point(p) for p in points[start : start + UPSERT_BATCH_SIZE]]
                    with _engine_errors("upsert points"):
                        shard.update(UpdateOperation.upsert_points(batch))
            finally:
                self._forget_chunks()
        logger.debug("upserted %s points into %s", len(points), self._path)

    def delete_document(self, doc_id: str, *, keep_point_ids: Collection[str] = ()) -> int:
        """Delete the document's points except ``keep_point_ids``; return how many went."""
        must_not = [HasIdCondition(set(keep_point_ids))] if keep_point_ids else None
        doomed = Filter(must=[_match_any("doc_id", [doc_id])], must_not=must_not)
        with self._write_lock:
            shard = self._open_shard()
            with _engine_errors(f"delete the points of document {doc_id!r}"):
                deleted = shard.count(CountRequest(exact=True, filter=doomed))
                if deleted:
                    try:
                        shard.update(UpdateOperation.delete_points_by_filter(doomed))
                    finally:
                        self._forget_chunks()
        logger.debug("deleted %s points of document %s from %s", deleted, doc_id, self._path)
        return deleted

    def document_point_ids(self, doc_id: str) -> set[str]:
        """Ids of the points a document has in the index."""
        records = self._scroll(Filter(must=[_match_any("doc_id", [doc_id])]), with_payload=False)
        return {str(record.id) for record in records}

    def document_ids(self) -> set[str]:
        """Every ``doc_id`` that has at least one point, read page by page."""
        doc_ids: set[str] = set()
        for record in self._scroll(None, with_payload=["doc_id"]):
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
            Filter(must=[_match_any("doc_id", [doc_id])]),
            with_payload=True,
            with_vector=[DENSE_VECTOR],
        )
        chunks = [
            chunk_from_payload(record.id, record.payload).model_copy(
                update={"embed": DENSE_VECTOR in (record.vector or {})}
            )
            for record in records
        ]
        return sorted(chunks, key=lambda chunk: chunk.chunk_id)

    def count(self, query_filter: IndexFilter | None = None) -> int:
        """How many points match the filter (all points without one), counted exactly."""
        shard = self._open_shard()
        with _engine_errors("count points"):
            return shard.count(CountRequest(exact=True, filter=_to_edge_filter(query_filter)))

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For each facet field, how many documents hold each value, most first."""
        return tally_facets(self._head_payloads(["doc_id", *FACET_FIELDS]))

    def head_titles(self) -> set[str]:
        """The titles of the documents' head chunks: the names a search ranks by."""
        return titles_of(self._head_payloads(["title"]))

    def _head_payloads(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        heads = Filter(must=[_match_any("section", list(HEAD_SECTIONS))])
        return (record.payload or {} for record in self._scroll(heads, with_payload=fields))

    def query_dense(
        self, vector: Sequence[float], *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity of the dense vector."""
        check_limit(limit)
        request = QueryRequest(
            limit=limit,
            query=Query.Nearest([float(x) for x in vector], using=DENSE_VECTOR),
            filter=_to_edge_filter(query_filter),
            with_payload=False,
        )
        return self._query(request, "run a dense query")

    def query_sparse(
        self, vector: SparseVector, *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by the sparse dot product with IDF weighting."""
        check_limit(limit)
        check_sparse(vector, "the sparse query")
        request = QueryRequest(
            limit=limit,
            query=Query.Nearest(_to_edge_sparse(vector), using=SPARSE_VECTOR),
            filter=_to_edge_filter(query_filter),
            with_payload=False,
        )
        return self._query(request, "run a sparse query")

    def query_hybrid(
        self,
        *,
        dense: Sequence[float] | None,
        sparse: SparseVector,
        limit: int,
        prefetch_limit: int = 100,
        query_filter: IndexFilter | None = None,
    ) -> list[ScoredChunk]:
        """Dense and sparse prefetches fused by reciprocal rank fusion inside the engine.

        Without ``dense`` this is the sparse query alone. Each prefetch keeps its best
        ``prefetch_limit`` candidates, so at most twice that many come back; the filter applies to
        both prefetches.
        """
        if dense is None:
            return self.query_sparse(sparse, limit=limit, query_filter=query_filter)
        check_limit(limit)
        check_limit(prefetch_limit, "prefetch_limit")
        check_sparse(sparse, "the sparse query")
        edge_filter = _to_edge_filter(query_filter)
        request = QueryRequest(
            limit=limit,
            prefetches=[
                Prefetch(
                    limit=prefetch_limit,
                    query=Query.Nearest([float(x) for x in dense], using=DENSE_VECTOR),
                    filter=edge_filter,
                ),
                Prefetch(
                    limit=prefetch_limit,
                    query=Query.Nearest(_to_edge_sparse(sparse), using=SPARSE_VECTOR),
                    filter=edge_filter,
                ),
            ],
            query=Fusion.Rrf(k=RRF_K),
            with_payload=False,
        )
        return self._query(request, "run a hybrid query")

    def optimize(self) -> bool:
        """Run the engine's optimizers: vacuum deleted points, build the HNSW graph.

        qdrant-edge has no background optimizer; until this runs, dense search scans the
        vectors and deleted points stay in the IDF statistics. It blocks until done and holds
        the GIL throughout (about 9 s for 25k points of size 384 on two cores), so call it from
        an ingestion job rather than from a process that serves queries.

        Returns:
            Whether any segment was optimized.
        """
        with self._write_lock:
            shard = self._open_shard()
            with _engine_errors("optimize the shard"):
                optimized = shard.optimize()
        logger.info("optimized %s: %s", self._path, "changed" if optimized else "already optimal")
        return optimized

    def flush(self) -> None:
        """Write the write-ahead log and the segments to disk; a no-op before the shard opens."""
        with self._state_lock:
            shard = self._shard
        if shard is not None:
            with _engine_errors("flush the shard"):
                shard.flush()

    def close(self) -> None:
        """Flush and close the shard after the writes in flight; later calls raise."""
        with self._write_lock, self._state_lock:
            shard, self._shard = self._shard, None
            self._closed = True
        if shard is not None:
            with _engine_errors("close the shard"):
                shard.close()
            logger.debug("closed the shard at %s", self._shard_dir)

    def _open_shard(self) -> EdgeShard:
        shard = self._shard
        if shard is not None:
            return shard
        with self._state_lock:
            self._check_not_closed()
            if self._shard is None:
                dense_size = self._read_dense_size()
                if dense_size is None:
                    raise IndexBackendError(
                        f"no collection at {self._path}: call ensure_collection first"
                    )
                with _engine_errors(f"load the shard at {self._shard_dir}"):
                    # The configuration is checked against the segments and brings the search
                    # pool's size (the engine stores it with the shard).
                    self._shard = EdgeShard.load(str(self._shard_dir), _edge_config(dense_size))
                logger.debug("loaded the shard at %s", self._shard_dir)
            return self._shard

    def _open_or_create_shard(self, dense_size: int) -> EdgeShard:
        config = _edge_config(dense_size)
        if self._shard_dir.is_dir() and any(self._shard_dir.iterdir()):
            # Passing the config makes the engine check it against the stored segments, which
            # covers a shard whose collection.json is missing.
            with _engine_errors(f"load the shard at {self._shard_dir}"):
                return EdgeShard.load(str(self._shard_dir), config)
        with _engine_errors(f"create a shard at {self._shard_dir}"):
            shard = EdgeShard.create(str(self._shard_dir), config)
        logger.info("created an edge collection at %s, dense size %s", self._path, dense_size)
        return shard

    def _create_missing_field_indexes(self, shard: EdgeShard) -> None:
        with _engine_errors("create the payload indexes"):
            existing = set(shard.info().payload_schema)
            for field_name in FILTERABLE_FIELDS:
                if field_name not in existing:
                    shard.update(
                        UpdateOperation.create_field_index(field_name, PayloadSchemaType.Keyword)
                    )

    def _read_dense_size(self) -> int | None:
        try:
            meta = json.loads(self._meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IndexBackendError(f"cannot read {self._meta_path}: {exc}") from exc
        size = meta.get("dense_size") if isinstance(meta, dict) else None
        if not isinstance(size, int) or size < 1:
            raise IndexBackendError(f"{self._meta_path} holds no valid dense_size: {meta!r}")
        return size

    def _write_dense_size(self, dense_size: int) -> None:
        staging = self._meta_path.with_name(META_FILE_NAME + ".tmp")
        try:
            staging.write_text(json.dumps({"dense_size": dense_size}) + "\n", encoding="utf-8")
            os.replace(staging, self._meta_path)
        except OSError as exc:
            raise IndexBackendError(f"cannot write {self._meta_path}: {exc}") from exc

    def _check_not_closed(self) -> None:
        if self._closed:
            raise IndexBackendError(f"the index at {self._path} is closed")

    def _query(self, request: QueryRequest, action: str) -> list[ScoredChunk]:
        """Run a query for ids and scores; chunks come from the cache, or are read once."""
        shard = self._open_shard()
        # Look up in the cache as it was when the query started: a write, or another query
        # making room, replaces the dictionary rather than emptying it under this one.
        with self._cache_lock:
            generation, cache = self._chunks_generation, self._chunks
        with _engine_errors(action):
            points: list[ScoredPoint] = shard.query(request)
            # Each read of ``point.id`` builds a new UUID in Python: read it once.
            scored = [(point.id, point.score) for point in points]
            missing = [point_id for point_id, _ in scored if point_id not in cache]
            records = (
                shard.retrieve(point_ids=missing, with_payload=True, with_vector=False)
                if missing
                else []
            )
        read = {r.id: chunk_from_payload(r.id, r.payload) for r in records}
        with self._cache_lock:
            if generation == self._chunks_generation:
                if len(self._chunks) + len(read) > CHUNK_CACHE_SIZE:
                    self._chunks = {}
                self._chunks.update(read)
        found = []
        for point_id, score in scored:
            chunk = read.get(point_id) or cache.get(point_id)
            if chunk is None:  # deleted between the query and the read
                continue
            # Both fields are checked already: the chunk when read, the score is the engine's.
            found.append(ScoredChunk.model_construct(chunk=chunk, score=float(score)))
        return found

    def _forget_chunks(self) -> None:
        with self._cache_lock:
            self._chunks_generation += 1
            self._chunks = {}

    def _scroll(
        self,
        edge_filter: Filter | None,
        *,
        with_payload: bool | list[str],
        with_vector: bool | list[str] = False,
    ) -> Iterator[Record]:
        shard = self._open_shard()
        offset: Any = None
        while True:
            request = ScrollRequest(
                offset=offset,
                limit=SCROLL_PAGE_SIZE,
                filter=edge_filter,
                with_payload=with_payload,
                with_vector=with_vector,
            )
            with _engine_errors("scroll points"):
                records, offset = shard.scroll(request)
            yield from records
            if offset is None:
                return


@contextmanager
def _engine_errors(action: str) -> Iterator[None]:
    """Translate the engine's exceptions, which are all plain ``Exception`` in 0.9."""
    try:
        yield
    except IndexBackendError:
        raise
    except Exception as exc:
        raise IndexBackendError(f"qdrant-edge could not {action}: {exc}") from exc


def _edge_config(dense_size: int) -> EdgeConfig:
    return EdgeConfig(
        vectors={DENSE_VECTOR: EdgeVectorParams(size=dense_size, distance=Distance.Cosine)},
        sparse_vectors={
            SPARSE_VECTOR: EdgeSparseVectorParams(
                modifier=Modifier.Idf, full_scan_threshold=SPARSE_FULL_SCAN_THRESHOLD
            )
        },
        max_search_threads=SEARCH_THREADS,
    )


def _to_edge_point(point: IndexPoint) -> Point:
    vectors: dict[str, Any] = {SPARSE_VECTOR: _to_edge_sparse(point.sparse)}
    if point.dense is not None:
        vectors[DENSE_VECTOR] = point.dense
    return Point(point.point_id, vectors, point.chunk.payload())


def _to_edge_sparse(vector: SparseVector) -> EdgeSparseVector:
    return EdgeSparseVector(vector.indices, vector.values)


def _match_any(key: str, values: list[str]) -> FieldCondition:
    return FieldCondition(key, match=MatchAny(values))


def _to_edge_filter(query_filter: IndexFilter | None) -> Filter | None:
    conditions = query_filter.conditions() if query_filter is not None else {}
    if not conditions:
        return None
    return _cached_filter(tuple((key, tuple(values)) for key, values in conditions.items()))


@functools.lru_cache(maxsize=FILTER_CACHE_SIZE)
def _cached_filter(conditions: tuple[tuple[str, tuple[str, ...]], ...]) -> Filter:
    """The edge filter of ``conditions``; a query request copies it, so one may serve all."""
    return Filter(must=[_match_any(key, list(values)) for key, values in conditions])
