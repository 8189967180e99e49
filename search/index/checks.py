"""Checks and conversions that both index backends apply alike."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from search.errors import IndexBackendError, SearchError
from search.models import Chunk, SparseVector

# Qdrant stores sparse indices as unsigned 32-bit integers.
MAX_SPARSE_INDEX = 2**32 - 1


def chunk_from_payload(point_id: object, payload: dict[str, Any] | None) -> Chunk:
    """The chunk a point carries; an index holding anything else is broken."""
    try:
        return Chunk.model_validate(payload or {})
    except ValidationError as exc:
        raise IndexBackendError(f"point {point_id} holds a payload that is not a chunk") from exc


def check_limit(limit: int, name: str = "limit") -> None:
    if limit < 1:
        raise SearchError(f"{name} must be at least 1, got {limit}")


def check_sparse(vector: SparseVector, what: str) -> None:
    """Refuse sparse vectors that Qdrant rejects (and that make qdrant-edge 0.9 panic for good).

    Both backends call this, so a bad vector fails the same way whichever is configured.
    """
    if len(vector.indices) != len(vector.values):
        raise SearchError(
            f"{what}: a sparse vector has {len(vector.indices)} indices "
            f"but {len(vector.values)} values"
        )
    if len(set(vector.indices)) != len(vector.indices):
        raise SearchError(f"{what}: a sparse vector repeats an index")
    if any(not 0 <= index <= MAX_SPARSE_INDEX for index in vector.indices):
        raise SearchError(f"{what}: sparse indices must be within 0..{MAX_SPARSE_INDEX}")
    if not all(math.isfinite(value) for value in vector.values):
        raise SearchError(f"{what}: sparse values must be finite numbers")
