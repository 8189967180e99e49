"""The hybrid index contract that every Qdrant backend implements.

Two backends implement it: ``EdgeHybridIndex`` (qdrant-edge, in-process, the embedded default)
and ``ServerHybridIndex`` (a Qdrant server through qdrant-client; its local mode in tests). Both
pass ``tests/contracts/test_hybrid_index_contract.py``.

Each point carries one chunk. Every point has the sparse lexical vector ``SPARSE_VECTOR`` (term
frequencies, scored with Qdrant's IDF modifier); only chunks chosen for it have the dense vector
``DENSE_VECTOR``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from search.models import Chunk, IndexPoint, ScoredChunk, Section, SparseVector

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "lexical"

# Payload fields with a keyword index; filters may use only these.
FILTERABLE_FIELDS = ("doc_id", "doc_kind", "section", "code", "field", "levels", "agency")

# The fields a person filters by: values from the sources ("Hộ tịch", "Cấp tỉnh"), and kinds.
FACET_FIELDS = ("field", "levels", "agency", "doc_kind")

# Every document has a point in one of these sections; facets are read from them alone.
HEAD_SECTIONS = (Section.OVERVIEW.value, Section.ANSWER.value, Section.BODY.value)


def tally_facets(payloads: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """How many documents hold each value of each facet field, from point payloads.

    A document with several points is counted once per value; empty values are not counted.
    """
    seen: dict[str, set[tuple[str, str]]] = {name: set() for name in FACET_FIELDS}
    for payload in payloads:
        doc_id = str(payload.get("doc_id", ""))
        for name in FACET_FIELDS:
            value = payload.get(name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item:
                    seen[name].add((doc_id, item))
    counts: dict[str, dict[str, int]] = {}
    for name, pairs in seen.items():
        by_value: dict[str, int] = {}
        for _, value in pairs:
            by_value[value] = by_value.get(value, 0) + 1
        counts[name] = dict(sorted(by_value.items(), key=lambda kv: (-kv[1], kv[0])))
    return counts


def titles_of(payloads: Iterable[Mapping[str, Any]]) -> set[str]:
    """The titles in point payloads, empty ones left out."""
    return {str(payload.get("title") or "") for payload in payloads} - {""}


class IndexFilter(BaseModel):
    """Restrict a query to chunks whose payload matches every non-empty list (any value in it)."""

    doc_id: list[str] = Field(default_factory=list)
    doc_kind: list[str] = Field(default_factory=list)
    section: list[str] = Field(default_factory=list)
    code: list[str] = Field(default_factory=list)
    field: list[str] = Field(default_factory=list)
    levels: list[str] = Field(default_factory=list)
    agency: list[str] = Field(default_factory=list)

    def conditions(self) -> dict[str, list[str]]:
        """The non-empty conditions, by payload field."""
        return {name: values for name in FILTERABLE_FIELDS if (values := getattr(self, name))}


@runtime_checkable
class HybridIndex(Protocol):
    """A collection of chunk points with a dense and a sparse vector, queried by either or both."""

    def ensure_collection(self, *, dense_size: int) -> None:
        """Create the collection and its payload indexes when missing; check the size otherwise.

        Raises:
            IndexBackendError: the existing collection has another dense size.
        """

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points by ``point_id``."""

    def delete_document(self, doc_id: str, *, keep_point_ids: Collection[str] = ()) -> int:
        """Delete the document's points except ``keep_point_ids``; return how many went."""

    def document_point_ids(self, doc_id: str) -> set[str]:
        """Ids of the points a document has in the index."""

    def document_ids(self) -> set[str]:
        """Every ``doc_id`` that has at least one point."""

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The document's chunks, in ``chunk_id`` order."""

    def count(self, query_filter: IndexFilter | None = None) -> int:
        """How many points match the filter (all points without one)."""

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For each of ``FACET_FIELDS``, how many documents hold each value, most first."""

    def head_titles(self) -> set[str]:
        """The titles of the documents' head chunks: the names a search ranks by."""

    def query_dense(
        self, vector: Sequence[float], *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity of the dense vector."""

    def query_sparse(
        self, vector: SparseVector, *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by the sparse dot product with IDF weighting."""

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

        Without ``dense`` this is the sparse query alone.
        """

    def optimize(self) -> bool:
        """Compact segments and build vector indexes after a large write; True if anything changed.

        Backends that optimize on their own (a Qdrant server) return False at once.
        """

    def flush(self) -> None:
        """Make every write durable."""

    def close(self) -> None:
        """Release files and connections; the object is unusable afterwards."""
